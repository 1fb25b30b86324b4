package rebuild

import (
	"errors"
	"io/fs"
	"reflect"
	"syscall"
	"testing"
)

func resolveRoot(t testing.TB) *ImageFS {
	root := t.TempDir()
	writeFile(t, root, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "ld", 0o755)
	writeFile(t, root, "usr/lib/x86_64-linux-gnu/libz.so.1.2.13", "z", 0o644)
	writeFile(t, root, "usr/bin/python3.11", "py", 0o755)
	writeFile(t, root, "etc/app/file", "x", 0o644)
	symlink(t, root, "lib", "usr/lib")
	symlink(t, root, "lib64", "usr/lib64")
	symlink(t, root, "bin", "usr/bin")
	symlink(t, root, "usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
	symlink(t, root, "usr/lib/x86_64-linux-gnu/libz.so.1", "libz.so.1.2.13")
	symlink(t, root, "usr/bin/python3", "python3.11")
	symlink(t, root, "chain/a", "b")
	symlink(t, root, "chain/b", "../chain/c")
	symlink(t, root, "chain/c", "/etc/app/file")
	symlink(t, root, "loop/x", "y")
	symlink(t, root, "loop/y", "x")
	symlink(t, root, "loop/self", "self")
	symlink(t, root, "escape/rel", "../../../../../../etc/app/file")
	symlink(t, root, "escape/abs", "/etc/hostname") // exists on the host, not in the image
	symlink(t, root, "escape/dotdot", "../../../../../../../etc")
	symlink(t, root, "dangling", "/nowhere")
	symlink(t, root, "dirlink", "etc/app")
	return openDir(t, root)
}

func TestResolve(t *testing.T) {
	f := resolveRoot(t)
	tests := []struct {
		in    string
		path  string
		links []string
		err   error
	}{
		{in: "/etc/app/file", path: "/etc/app/file"},
		{in: "//etc/./app//file", path: "/etc/app/file"},
		{in: "/lib64/ld-linux-x86-64.so.2", path: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
			links: []string{"/lib64", "/usr/lib64/ld-linux-x86-64.so.2", "/lib"}},
		{in: "/lib/x86_64-linux-gnu/libz.so.1", path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13",
			links: []string{"/lib", "/usr/lib/x86_64-linux-gnu/libz.so.1"}},
		{in: "/bin/python3", path: "/usr/bin/python3.11", links: []string{"/bin", "/usr/bin/python3"}},
		{in: "/chain/a", path: "/etc/app/file", links: []string{"/chain/a", "/chain/b", "/chain/c"}},
		{in: "/usr/bin/../lib/x86_64-linux-gnu/libz.so.1.2.13", path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"},
		{in: "/bin/../etc/app/file", path: "/usr/etc/app/file", links: []string{"/bin"}, err: fs.ErrNotExist},
		{in: "/../../etc/app/file", path: "/etc/app/file"},
		{in: "/escape/rel", path: "/etc/app/file", links: []string{"/escape/rel"}},
		{in: "/escape/dotdot/app/file", path: "/etc/app/file", links: []string{"/escape/dotdot"}},
		{in: "/escape/abs", links: []string{"/escape/abs"}, err: fs.ErrNotExist},
		{in: "/dirlink/file", path: "/etc/app/file", links: []string{"/dirlink"}},
		{in: "/dirlink", path: "/etc/app", links: []string{"/dirlink"}},
		{in: "/dangling", links: []string{"/dangling"}, err: fs.ErrNotExist},
		{in: "/loop/x", err: ErrLoop, links: []string{"/loop/x", "/loop/y"}},
		{in: "/loop/self", err: ErrLoop, links: []string{"/loop/self"}},
		{in: "/etc/app/file/more", err: syscall.ENOTDIR},
		{in: "/etc/app/file/..", err: syscall.ENOTDIR},
		{in: "/missing", err: fs.ErrNotExist},
		{in: "relative/path", err: ErrRelativePath},
		{in: "/", path: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			res, err := f.Resolve(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Resolve(%q) err = %v, want %v", tt.in, err, tt.err)
				}
			} else if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.in, err)
			} else if res.Path != tt.path {
				t.Errorf("Resolve(%q).Path = %q, want %q", tt.in, res.Path, tt.path)
			}
			if tt.links != nil && !reflect.DeepEqual(res.Links, tt.links) {
				t.Errorf("Resolve(%q).Links = %q, want %q", tt.in, res.Links, tt.links)
			}
		})
	}
}

func TestResolveNoFollow(t *testing.T) {
	f := resolveRoot(t)
	res, err := f.ResolveNoFollow("/lib/x86_64-linux-gnu/libz.so.1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != "/usr/lib/x86_64-linux-gnu/libz.so.1" || !reflect.DeepEqual(res.Links, []string{"/lib"}) {
		t.Errorf("got %+v", res)
	}
	if res, err := f.ResolveNoFollow("/dangling"); err != nil || res.Path != "/dangling" {
		t.Errorf("dangling: %+v, %v", res, err)
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/lib64/ld-linux-x86-64.so.2", "/chain/a", "/loop/x", "/../..", "/escape/dotdot/app/../app/file", "/a/./b/../c"} {
		f.Add(s)
	}
	fsys := resolveRoot(f)
	f.Fuzz(func(t *testing.T, p string) {
		res, err := fsys.Resolve("/" + p)
		if err != nil {
			return
		}
		if _, ok := fsys.entries[res.Path]; !ok && res.Path != "/" {
			t.Fatalf("Resolve(%q) = %q, not an image entry", p, res.Path)
		}
		for _, l := range res.Links {
			if h := fsys.entries[l]; h == nil || h.Typeflag != '2' {
				t.Fatalf("Resolve(%q): link %q is not a symlink entry", p, l)
			}
		}
	})
}
