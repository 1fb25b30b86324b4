package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// A container's files are read by whittle, as root, through the
// container's root directory (/proc/PID/root). Joining that directory and a
// path by name lets the kernel resolve the path's components in whittle's
// own root: a process of the container that swaps a component for an
// absolute symbolic link between two steps (or before a name-based open)
// makes whittle read, or attach probes to, a host file. Root resolves every
// path inside the pinned directory instead: with openat2(RESOLVE_IN_ROOT)
// where the kernel has it (5.6+), else one component at a time with
// openat(O_NOFOLLOW) from the pinned descriptor, following links in user
// space. Either way nothing leads out of the root.

// ErrNotFile is an Open of something that is neither a regular file nor a
// directory (a FIFO would block the reader, a device is no file of the
// image).
var ErrNotFile = errors.New("not a regular file or directory")

// Root is a directory pinned open (a container's root), inside which paths
// resolve as for a process whose root it is: absolute links restart from
// it, ".." stops at it, and /proc magic links are refused.
type Root struct {
	dir  *os.File
	name string // what was opened, for messages
}

// OpenRoot pins dir (e.g. /proc/PID/root): the open directory keeps the
// container's root reachable whatever happens to the process.
func OpenRoot(dir string) (*Root, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("pinning %s: not a directory", dir)
	}
	return &Root{dir: f, name: dir}, nil
}

// OpenRoot pins pid's root directory.
func (p FS) OpenRoot(pid uint32) (*Root, error) { return OpenRoot(p.Root(pid)) }

// Close unpins the directory.
func (r *Root) Close() error { return r.dir.Close() }

// Open opens name (absolute or relative to the root; links followed, inside
// the root) for reading. Only regular files and directories are opened
// (ErrNotFile otherwise).
func (r *Root) Open(name string) (*os.File, error) {
	var fd int
	var err error
	if inRootErr() == nil {
		fd, err = r.openat2(name, unix.O_PATH)
	} else {
		fd, err = r.walkOpen(name)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFDIR {
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrNotFile}
	}
	// Reopening the O_PATH descriptor through its magic link opens that
	// very file, with no path resolved again.
	f, err := os.Open("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, nil
}

// Resolve resolves the symbolic links of the absolute path p inside the
// root, as the kernel would for a process whose root it is. Components
// that do not exist are kept lexically; a loop of links is kept as is from
// the loop on. Every step is taken from the pinned directory.
func (r *Root) Resolve(p string) string {
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
		target, isLink, err := r.lstat(next)
		if err != nil {
			return path.Join(append([]string{next}, rest...)...)
		}
		if !isLink {
			out = next
			continue
		}
		if links++; links > MaxSymlinks {
			return path.Join(append([]string{next}, rest...)...)
		}
		if strings.HasPrefix(target, "/") {
			out = "/"
		}
		rest = append(SplitPath(target), rest...)
	}
	return out
}

// lstat opens p (already resolved but for its last component) without
// following its last component, and reads the link when it is one.
func (r *Root) lstat(p string) (target string, isLink bool, err error) {
	var fd int
	if inRootErr() == nil {
		fd, err = r.openat2(p, unix.O_PATH|unix.O_NOFOLLOW)
	} else {
		fd, err = r.walk(SplitPath(p))
	}
	if err != nil {
		return "", false, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", false, nil
	}
	target, err = readlinkFD(fd)
	return target, err == nil, err
}

func (r *Root) openat2(name string, flags int) (int, error) {
	return unix.Openat2(int(r.dir.Fd()), relative(name), &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// walk opens the components one at a time from the pinned directory,
// following none: p must hold no link but maybe its last component (a
// component swapped for a link meanwhile fails the next step, ENOTDIR).
func (r *Root) walk(components []string) (int, error) {
	fd, err := unix.Dup(int(r.dir.Fd()))
	if err != nil {
		return -1, err
	}
	unix.CloseOnExec(fd)
	for _, c := range components {
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			unix.Close(fd)
			return -1, unix.EINVAL // Resolve gives clean paths
		}
		next, err := unix.Openat(fd, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// walkOpen opens name, links followed inside the root, without openat2:
// resolved in user space, then walked component by component. A link met
// on the way was swapped in after the resolution: the open fails.
func (r *Root) walkOpen(name string) (int, error) {
	fd, err := r.walk(SplitPath(r.Resolve("/" + relative(name))))
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
		unix.Close(fd)
		if err == nil {
			err = unix.ELOOP
		}
		return -1, err
	}
	return fd, nil
}

func readlinkFD(fd int) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) >= unix.PathMax {
			return "", unix.ENAMETOOLONG
		}
		buf = make([]byte, 2*len(buf))
	}
}

func relative(name string) string {
	name = strings.TrimLeft(name, "/")
	if name == "" {
		return "."
	}
	return name
}

// FS is the root as an fs.FS (names without a leading "/"), for fs.WalkDir
// and fs.ReadFile.
func (r *Root) FS() fs.FS { return rootFS{r} }

type rootFS struct{ r *Root }

func (f rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.Open("/" + name)
}

// InRoot says how paths are resolved inside a Root on this kernel: nil
// when with openat2(RESOLVE_IN_ROOT); otherwise why not (the walk from the
// pinned directory is used, as safe, slower).
func InRoot() error { return inRootErr() }

var (
	probeOnce sync.Once
	probeErr  error
	// forceWalk makes Root walk without openat2 (tests of the fallback).
	forceWalk bool
)

func inRootErr() error {
	if forceWalk {
		return errors.New("openat2 not used (test)")
	}
	probeOnce.Do(func() {
		fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			probeErr = fmt.Errorf("openat2(RESOLVE_IN_ROOT) unavailable (kernel 5.6+): %w", err)
			return
		}
		unix.Close(fd)
	})
	return probeErr
}
