package tracer

import (
	"os"
	"path"
	"strconv"
	"strings"
)

// joinPath makes the Path of a FileAccess: an absolute requested path is
// cleaned, a relative one is joined to its base directory (the cwd or the
// dirfd's directory) and cleaned. Cleaning is lexical: symlinks are not
// followed, so "a/../b" becomes "b" whatever "a" is; the rebuild resolves
// symlinks against the image itself.
func joinPath(base, requested string) string {
	if strings.HasPrefix(requested, "/") {
		return path.Clean(requested)
	}
	// "/" first: the result is absolute even for a malformed base.
	return path.Clean("/" + base + "/" + requested)
}

// maxSymlinks matches the kernel's limit on nested symlinks (ELOOP).
const maxSymlinks = 40

// resolveInRoot resolves the symlinks of the absolute path p as a process
// whose root directory is root would, without ever leaving root: absolute
// link targets restart from root, ".." stops at it. Components that do not
// exist are kept lexically. root is a host directory such as
// /proc/PID/root; "" means the host's root.
//
// It is how the user-space tier turns a remembered cwd or dirfd path into
// the resolved directory the kernel holds (the in-kernel tier reads that
// directly from the dentries).
func resolveInRoot(root, p string) string {
	rest := splitPath(p)
	out := "/"
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			out = path.Dir(out)
			continue
		}
		next := path.Join(out, c)
		fi, err := os.Lstat(root + next)
		if err != nil {
			return path.Join(append([]string{next}, rest...)...)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			out = next
			continue
		}
		links++
		target, err := os.Readlink(root + next)
		if err != nil || links > maxSymlinks {
			return path.Join(append([]string{next}, rest...)...)
		}
		if strings.HasPrefix(target, "/") {
			out = "/"
		}
		rest = append(splitPath(target), rest...)
	}
	return out
}

func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// procfs reads what the user-space tier needs from /proc. A field so tests
// can point it elsewhere.
type procfs struct {
	dir string // "/proc"
}

func (p procfs) pidPath(pid uint32, rest string) string {
	return p.dir + "/" + strconv.FormatUint(uint64(pid), 10) + "/" + rest
}

// readlinkAbs reads a /proc magic link and returns it when it names a path
// (not "pipe:[...]", "socket:[...]", "anon_inode:..."). " (deleted)" is cut.
func (p procfs) readlinkAbs(pid uint32, rest string) (string, bool) {
	s, err := os.Readlink(p.pidPath(pid, rest))
	if err != nil || !strings.HasPrefix(s, "/") {
		return "", false
	}
	return strings.TrimSuffix(s, " (deleted)"), true
}

func (p procfs) cwd(pid uint32) (string, bool) { return p.readlinkAbs(pid, "cwd") }

func (p procfs) fd(pid uint32, fd int32) (string, bool) {
	return p.readlinkAbs(pid, "fd/"+strconv.Itoa(int(fd)))
}

func (p procfs) exe(pid uint32) (string, bool) { return p.readlinkAbs(pid, "exe") }

// mntns returns the mount namespace inode of pid.
func (p procfs) mntns(pid uint32) (uint64, error) {
	return nsInode(p.pidPath(pid, "ns/mnt"))
}

// root returns the host path of pid's root directory.
func (p procfs) root(pid uint32) string { return p.pidPath(pid, "root") }
