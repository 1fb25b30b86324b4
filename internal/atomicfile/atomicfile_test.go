package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// withUmask runs f under umask mask. The umask is the process's: these
// tests do not run in parallel with anything that creates files.
func withUmask(t *testing.T, mask int, f func()) {
	t.Helper()
	old := syscall.Umask(mask)
	defer syscall.Umask(old)
	f()
}

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	list, _ := os.ReadDir(dir)
	for _, de := range list {
		if strings.HasPrefix(de.Name(), TempPrefix) {
			t.Errorf("temporary %s left behind", de.Name())
		}
	}
}

func TestWriteFileModeFollowsUmask(t *testing.T) {
	for _, c := range []struct {
		umask int
		want  fs.FileMode
	}{{0o022, 0o644}, {0o027, 0o640}, {0o077, 0o600}, {0, 0o644}} {
		dir := t.TempDir()
		p := filepath.Join(dir, "report.json")
		withUmask(t, c.umask, func() {
			if err := WriteFile(p, []byte("{}")); err != nil {
				t.Fatal(err)
			}
		})
		if got := mode(t, p); got != c.want {
			t.Errorf("umask %03o: mode %03o, want %03o", c.umask, got, c.want)
		}
		assertNoTemp(t, dir)
	}
}

func TestFailedWriteKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		_, _ = w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the fill's", err)
	}
	if data, _ := os.ReadFile(p); string(data) != "old" {
		t.Errorf("content %q after a failed write, want the old one", data)
	}
	assertNoTemp(t, dir)
	if err := WriteFile(filepath.Join(dir, "missing", "x.json"), nil); err == nil || !strings.Contains(err.Error(), "missing/x.json") {
		t.Errorf("writing into a missing directory: %v", err)
	}
}

func TestWriteDirReplacesTheTree(t *testing.T) {
	parent := t.TempDir()
	p := filepath.Join(parent, "image.oci")
	write := func(content string) error {
		return WriteDir(p, func(dir string) error {
			if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o700); err != nil {
				return err
			}
			// Writers choose odd modes (go-containerregistry's layout uses
			// 0777 for index.json and 0600 for blobs): the tree is settled.
			if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(content), 0o777); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "blobs", "sha256", "abc"), []byte(content), 0o600)
		})
	}
	withUmask(t, 0o027, func() {
		if err := write("one"); err != nil {
			t.Fatal(err)
		}
		if err := write("two"); err != nil {
			t.Fatal(err)
		}
	})
	if data, _ := os.ReadFile(filepath.Join(p, "index.json")); string(data) != "two" {
		t.Errorf("index.json %q, want the second tree's", data)
	}
	for rel, want := range map[string]fs.FileMode{".": 0o750, "blobs": 0o750, "blobs/sha256": 0o750, "index.json": 0o640, "blobs/sha256/abc": 0o640} {
		if got := mode(t, filepath.Join(p, rel)); got != want {
			t.Errorf("%s: mode %03o, want %03o", rel, got, want)
		}
	}
	boom := errors.New("boom")
	if err := WriteDir(p, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("error %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(p, "index.json")); string(data) != "two" {
		t.Errorf("a failed write changed the tree: index.json %q", data)
	}
	assertNoTemp(t, parent)
}
