package procfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProcfsReadlink(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "42", "fd"), 0o755))
	must(os.Symlink("/app", filepath.Join(dir, "42", "cwd")))
	must(os.Symlink("/usr/bin/app (deleted)", filepath.Join(dir, "42", "exe")))
	must(os.Symlink("socket:[1234]", filepath.Join(dir, "42", "fd", "3")))
	must(os.Symlink("/data/dir", filepath.Join(dir, "42", "fd", "4")))
	p := FS{Dir: dir}
	if s, ok := p.Cwd(42); !ok || s != "/app" {
		t.Errorf("cwd = %q, %v", s, ok)
	}
	if s, ok := p.Exe(42); !ok || s != "/usr/bin/app" {
		t.Errorf("exe = %q, %v", s, ok)
	}
	if s, ok := p.FD(42, 3); ok {
		t.Errorf("fd 3 (socket) = %q, want not a path", s)
	}
	if s, ok := p.FD(42, 4); !ok || s != "/data/dir" {
		t.Errorf("fd 4 = %q, %v", s, ok)
	}
	if _, ok := p.Cwd(43); ok {
		t.Error("cwd of a missing pid")
	}
}
