package rebuild

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// fixedTime is the mtime test trees are given, so that layers are reproducible.
var fixedTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func writeFile(t testing.TB, root, p string, data string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, root, p, target string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, full); err != nil {
		t.Fatal(err)
	}
}

func copyHostFile(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// fixTimes gives every entry of root the same mtime.
func fixTimes(t testing.TB, root string) {
	t.Helper()
	var paths []string
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink != 0 {
			continue
		}
		_ = os.Chtimes(p, fixedTime, fixedTime)
	}
}

var lddLine = regexp.MustCompile(`^\s*(?:(\S+) => )?(/\S+) \(0x[0-9a-f]+\)`)

// hostDeps lists the libraries (host paths) and the interpreter ldd reports
// for a host binary; the test skips when ldd is unavailable.
func hostDeps(t testing.TB, bin string) (libs map[string]string, interp string) {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("SKIP: host-binary ELF tests need linux/amd64")
	}
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		t.Skipf("SKIP: ldd %s: %v", bin, err)
	}
	libs = map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		m := lddLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[1] == "" {
			interp = m[2]
		} else {
			libs[m[1]] = m[2]
		}
	}
	return libs, interp
}

// mergedUsrRoot builds a Debian-like merged-/usr tree in a temp dir with
// copies of host binaries (into /usr/bin) and their libraries (into
// /usr/lib/x86_64-linux-gnu, with the host's soname symlinks), the loader
// reached through /lib64 -> usr/lib64 and an absolute symlink, and
// /bin, /lib, /lib64, /sbin -> usr/... links.
func mergedUsrRoot(t testing.TB, bins ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu", "usr/lib64", "etc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/sbin"} {
		symlink(t, root, link, target)
	}
	const multi = "usr/lib/x86_64-linux-gnu"
	for _, bin := range bins {
		real, err := filepath.EvalSymlinks(bin)
		if err != nil {
			t.Skipf("SKIP: host binary %s: %v", bin, err)
		}
		copyHostFile(t, real, filepath.Join(root, "usr/bin", filepath.Base(bin)))
		libs, interp := hostDeps(t, real)
		for _, p := range libs {
			copyLib(t, root, multi, p)
		}
		if interp != "" {
			copyLib(t, root, multi, interp)
			link := filepath.Join(root, "usr/lib64", filepath.Base(interp))
			if _, err := os.Lstat(link); err != nil {
				symlink(t, root, "usr/lib64/"+filepath.Base(interp), "/lib/x86_64-linux-gnu/"+filepath.Base(interp))
			}
		}
	}
	return root
}

// copyLib copies host library p into root/dir under its name, reproducing a
// soname symlink to the real file when the host has one.
func copyLib(t testing.TB, root, dir, p string) {
	t.Helper()
	name := filepath.Base(p)
	dst := filepath.Join(root, dir, name)
	if _, err := os.Lstat(dst); err == nil {
		return
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(real) != name {
		copyHostFile(t, real, filepath.Join(root, dir, filepath.Base(real)))
		symlink(t, root, filepath.Join(dir, name), filepath.Base(real))
		return
	}
	copyHostFile(t, real, dst)
}

func keptPaths(files []KeptFile) map[string]KeptFile {
	m := map[string]KeptFile{}
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

func hasReason(kf KeptFile, prefix string) bool {
	for _, r := range kf.Reasons {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

func openDir(t testing.TB, root string) *ImageFS {
	t.Helper()
	f, err := OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}
