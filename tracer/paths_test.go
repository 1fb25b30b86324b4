package tracer

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestJoinPath(t *testing.T) {
	tests := []struct{ base, req, want string }{
		{"/app", "/etc/passwd", "/etc/passwd"},
		{"/app", "config.yaml", "/app/config.yaml"},
		{"/app", "./a//b/", "/app/a/b"},
		{"/app/sub", "../lib/x.so", "/app/lib/x.so"},
		{"/", "../../etc", "/etc"},
		{"/", "x", "/x"},
		{"", "x", "/x"},
		{"/data", "dir/../abs.txt", "/data/abs.txt"},
		{"/a", "/b/../../c", "/c"},
		{"/a", ".", "/a"},
	}
	for _, tt := range tests {
		if got := joinPath(tt.base, tt.req); got != tt.want {
			t.Errorf("joinPath(%q, %q) = %q, want %q", tt.base, tt.req, got, tt.want)
		}
	}
}

func FuzzJoinPath(f *testing.F) {
	f.Add("/app", "../x")
	f.Add("", "")
	f.Add("/", "/../..//./a")
	f.Fuzz(func(t *testing.T, base, req string) {
		got := joinPath(base, req)
		if !strings.HasPrefix(got, "/") || path.Clean(got) != got {
			t.Fatalf("joinPath(%q, %q) = %q: not absolute and clean", base, req, got)
		}
	})
}

// A fake container root on the host:
//
//	/lib -> usr/lib                         (relative)
//	/lib64/ld.so -> /lib/x86_64/ld.so        (absolute: must stay inside root)
//	/usr/lib/x86_64/ld.so                    (file)
//	/data/link -> dir, /data/dir/sub
//	/loop1 -> loop2, /loop2 -> loop1
//	/escape -> ../../../../etc               (".." stops at root)
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/lib/x86_64")
	mk("lib64")
	mk("data/dir/sub")
	mk("etc")
	if err := os.WriteFile(filepath.Join(root, "usr/lib/x86_64/ld.so"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	ln("usr/lib", "lib")
	ln("/lib/x86_64/ld.so", "lib64/ld.so")
	ln("dir", "data/link")
	ln("loop2", "loop1")
	ln("loop1", "loop2")
	ln("../../../../etc", "escape")
	return root
}
