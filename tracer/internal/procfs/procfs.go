// Package procfs reads what the tracer and the coverage need of a process
// from /proc, and opens and resolves paths inside a container's root the
// way the kernel would for the container, never outside it (Root).
package procfs

import (
	"fmt"
	"os"
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

// SplitPath splits a path into its non-empty components.
func SplitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}
