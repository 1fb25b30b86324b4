package procfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// bothWays runs f with openat2 (when the kernel has it) and with the walk
// from the pinned directory that older kernels use.
func bothWays(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", func(t *testing.T) {
		if err := InRoot(); err != nil {
			t.Skipf("SKIP: %v", err)
		}
		f(t)
	})
	t.Run("walk", func(t *testing.T) {
		forceWalk = true
		defer func() { forceWalk = false }()
		f(t)
	})
}

// fakeRoot is a container root with links of every kind, one leading out
// by "..", one absolute, and a host directory next to it holding what must
// never be read.
func fakeRoot(t *testing.T) (root, host string) {
	t.Helper()
	base := t.TempDir()
	root, host = filepath.Join(base, "root"), filepath.Join(base, "host")
	for _, d := range []string{"root/usr/lib/x86_64", "root/lib64", "root/data/dir/sub", "root/etc", "host/etc"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(base, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("root/usr/lib/x86_64/ld.so", "ld")
	write("root/etc/passwd", "container")
	write("host/etc/passwd", "HOST")
	ln := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	ln("usr/lib", "lib")
	ln("/lib/x86_64/ld.so", "lib64/ld.so")
	ln("dir", "data/link")
	ln("loop2", "loop1")
	ln("loop1", "loop2")
	ln("../../../etc", "escape")          // ".." past the root
	ln(filepath.Join(host, "etc"), "abs") // an absolute host path
	ln("/proc/self/root/etc", "magic")    // a magic link on the way
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, host
}

func TestRootResolve(t *testing.T) {
	dir, _ := fakeRoot(t)
	bothWays(t, func(t *testing.T) {
		root, err := OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		for _, tt := range []struct{ in, want string }{
			{"/", "/"},
			{"/lib/x86_64", "/usr/lib/x86_64"},
			{"/lib64/ld.so", "/usr/lib/x86_64/ld.so"},
			{"/data/link/sub", "/data/dir/sub"},
			{"/data/link/../dir/sub", "/data/dir/sub"},
			{"/data/missing/x", "/data/missing/x"},
			{"/escape/passwd", "/etc/passwd"},
			{"/loop1/x", "/loop1/x"},
		} {
			if got := root.Resolve(tt.in); got != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.in, got, tt.want)
			}
		}
	})
}

// Whatever the links say, Open reads the root's files: ".." and absolute
// links stop at the root, magic links are refused, a FIFO is not opened.
func TestRootOpenStaysInside(t *testing.T) {
	dir, _ := fakeRoot(t)
	bothWays(t, func(t *testing.T) {
		root, err := OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		read := func(p string) (string, error) {
			f, err := root.Open(p)
			if err != nil {
				return "", err
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			return string(b), err
		}
		for _, p := range []string{"/escape/passwd", "/etc/passwd", "etc/passwd", "/../../etc/passwd"} {
			if got, err := read(p); got != "container" {
				t.Errorf("Open(%q) = %q, %v; want the container's file", p, got, err)
			}
		}
		for _, p := range []string{"/abs/passwd", "/../host/etc/passwd"} {
			if got, err := read(p); err == nil {
				t.Errorf("Open(%q) = %q: read from outside the root", p, got)
			}
		}
		if got, err := read("/magic/passwd"); err == nil && got != "container" {
			t.Errorf("Open(/magic/passwd) = %q through a magic link", got)
		}
		if _, err := root.Open("/fifo"); !errors.Is(err, ErrNotFile) {
			t.Errorf("Open(/fifo): %v, want ErrNotFile", err)
		}
		if f, err := root.Open("/data/link"); err != nil {
			t.Errorf("a directory: %v", err)
		} else if names, _ := f.Readdirnames(-1); len(names) != 1 || names[0] != "sub" {
			t.Errorf("the directory holds %v", names)
		}
	})
}
