// Package procfs reads what the tracer and the coverage need of a process
// from /proc, and resolves paths inside a container's root the way the
// kernel would.
package procfs

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
)

// FS is a /proc: a field so that tests can point it elsewhere.
type FS struct {
	Dir string // "/proc"
}

// Host is the host's /proc.
var Host = FS{Dir: "/proc"}

// PidPath is the path of rest under pid's directory.
func (p FS) PidPath(pid uint32, rest string) string {
	return p.Dir + "/" + strconv.FormatUint(uint64(pid), 10) + "/" + rest
}

// ReadlinkAbs reads a /proc magic link and returns it when it names a path
// (not "pipe:[...]", "socket:[...]", "anon_inode:..."). " (deleted)" is cut.
func (p FS) ReadlinkAbs(pid uint32, rest string) (string, bool) {
	s, err := os.Readlink(p.PidPath(pid, rest))
	if err != nil || !strings.HasPrefix(s, "/") {
		return "", false
	}
	return strings.TrimSuffix(s, " (deleted)"), true
}

// Cwd is pid's working directory, inside its root.
func (p FS) Cwd(pid uint32) (string, bool) { return p.ReadlinkAbs(pid, "cwd") }

// FD is the path of pid's descriptor fd, when it names one.
func (p FS) FD(pid uint32, fd int32) (string, bool) {
	return p.ReadlinkAbs(pid, "fd/"+strconv.Itoa(int(fd)))
}

// Exe is pid's executable, inside its root.
func (p FS) Exe(pid uint32) (string, bool) { return p.ReadlinkAbs(pid, "exe") }

// Mntns returns the mount namespace inode of pid.
func (p FS) Mntns(pid uint32) (uint64, error) {
	return NSInode(p.PidPath(pid, "ns/mnt"))
}

// Root returns the host path of pid's root directory.
func (p FS) Root(pid uint32) string { return p.PidPath(pid, "root") }

// NSInode returns the inode number of a namespace file such as
// /proc/PID/ns/mnt: the same number BPF reads from ns_common.inum.
func NSInode(file string) (uint64, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("stat %s: no inode", file)
	}
	return st.Ino, nil
}

// MaxSymlinks matches the kernel's limit on nested symlinks (ELOOP).
const MaxSymlinks = 40

// ResolveInRoot resolves the symlinks of the absolute path p as a process
// whose root directory is root would, without ever leaving root: absolute
// link targets restart from root, ".." stops at it. Components that do not
// exist are kept lexically. root is a host directory such as
// /proc/PID/root; "" means the host's root.
//
// It is how the user-space tier turns a remembered cwd or dirfd path into
// the resolved directory the kernel holds (the in-kernel tier reads that
// directly from the dentries), and how coverage finds a container's files.
func ResolveInRoot(root, p string) string {
	rest := SplitPath(p)
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
		if err != nil || links > MaxSymlinks {
			return path.Join(append([]string{next}, rest...)...)
		}
		if strings.HasPrefix(target, "/") {
			out = "/"
		}
		rest = append(SplitPath(target), rest...)
	}
	return out
}

// SplitPath splits a path into its non-empty components.
func SplitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}
