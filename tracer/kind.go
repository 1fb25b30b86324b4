package tracer

import "fmt"

// Kind says how a process used a path.
type Kind uint8

// Kinds of file access. The numeric values travel through the BPF specs
// table: append new kinds, never renumber.
const (
	KindUnknown  Kind = iota
	KindOpen          // open, openat, openat2, creat
	KindOpenDir       // an open with O_DIRECTORY (opendir, scandir, os.ReadDir)
	KindExec          // execve, execveat, and a script's #! interpreter
	KindMmapExec      // mmap(PROT_EXEC) of a file: code actually mapped (Path is the fd's resolved path)
	KindStat          // stat, lstat, newfstatat, statx
	KindAccess        // access, faccessat, faccessat2
	KindReadlink      // readlink, readlinkat
	KindChdir         // chdir (fchdir only moves the working directory)
	KindChroot        // chroot
	KindStatfs        // statfs
	KindXattr         // getxattr, listxattr, setxattr, removexattr and their l*/*at variants
	KindMkdir         // mkdir, mkdirat
	KindUnlink        // unlink, unlinkat, rmdir
	KindRename        // rename, renameat, renameat2 (both paths)
	KindLink          // link, linkat (both paths)
	KindSymlink       // symlink, symlinkat (the link's own path)
	KindTruncate      // truncate
	KindChmod         // chmod, fchmodat, fchmodat2
	KindChown         // chown, lchown, fchownat
	KindUtime         // utime, utimes, utimensat, futimesat
	KindMknod         // mknod, mknodat
	KindInotify       // inotify_add_watch
	kindCount
)

var kindNames = [kindCount]string{
	KindUnknown:  "unknown",
	KindOpen:     "open",
	KindOpenDir:  "opendir",
	KindExec:     "exec",
	KindMmapExec: "mmap-exec",
	KindStat:     "stat",
	KindAccess:   "access",
	KindReadlink: "readlink",
	KindChdir:    "chdir",
	KindChroot:   "chroot",
	KindStatfs:   "statfs",
	KindXattr:    "xattr",
	KindMkdir:    "mkdir",
	KindUnlink:   "unlink",
	KindRename:   "rename",
	KindLink:     "link",
	KindSymlink:  "symlink",
	KindTruncate: "truncate",
	KindChmod:    "chmod",
	KindChown:    "chown",
	KindUtime:    "utime",
	KindMknod:    "mknod",
	KindInotify:  "inotify",
}

// String returns the kind's short name ("open", "mmap-exec", ...).
func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), nil
		}
	}
	return KindUnknown, fmt.Errorf("unknown file access kind %q", s)
}

// MarshalText encodes the kind by name (JSON reports).
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}
