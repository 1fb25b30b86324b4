package rebuild

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func depsByName(deps []Dep) map[string]Dep {
	m := map[string]Dep{}
	for _, d := range deps {
		if _, ok := m[d.Name]; !ok {
			m[d.Name] = d
		}
	}
	return m
}

func TestClosureHostBinary(t *testing.T) {
	root := mergedUsrRoot(t, "/usr/bin/ls")
	libs, interp := hostDeps(t, "/usr/bin/ls")
	f := openDir(t, root)
	l := NewLoader(f, nil)
	if l.Cache != nil {
		t.Fatalf("unexpected cache in a root without ld.so.cache")
	}
	deps, err := l.Closure("/bin/ls")
	if err != nil {
		t.Fatal(err)
	}
	got := depsByName(deps)
	for name := range libs {
		d, ok := got[name]
		if !ok || d.Path == "" {
			t.Errorf("%s: not resolved (%+v)", name, d)
			continue
		}
		if _, err := f.Resolve(d.Path); err != nil {
			t.Errorf("%s resolved to %s which does not resolve: %v", name, d.Path, err)
		}
		if d.Via != "default" {
			t.Errorf("%s found via %s, want default", name, d.Via)
		}
	}
	if d := got[interp]; d.Kind != "interp" || d.Path != interp {
		t.Errorf("interpreter: %+v, want %s", d, interp)
	}
	// libselinux needs libpcre2: a transitive edge from the library itself.
	found := false
	for _, d := range deps {
		if d.Name == "libpcre2-8.so.0" && strings.Contains(d.From, "libselinux") {
			found = true
		}
	}
	if _, ok := libs["libpcre2-8.so.0"]; ok && !found {
		t.Errorf("transitive libpcre2-8 edge from libselinux missing: %+v", deps)
	}
	// A second closure over the same objects walks nothing again.
	again, err := l.Closure("/usr/bin/ls")
	if err != nil || len(again) != 0 {
		t.Errorf("second closure: %d deps, %v", len(again), err)
	}
}

// elf32Stub is a minimal valid 32-bit i386 ELF shared object header.
func elf32Stub() []byte {
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	le := binary.LittleEndian
	_ = binary.Write(&b, le, uint16(elf.ET_DYN))
	_ = binary.Write(&b, le, uint16(elf.EM_386))
	_ = binary.Write(&b, le, uint32(1))
	_ = binary.Write(&b, le, [3]uint32{0, 0, 0}) // entry, phoff, shoff
	_ = binary.Write(&b, le, uint32(0))          // flags
	_ = binary.Write(&b, le, [6]uint16{52, 32, 0, 40, 0, 0})
	return b.Bytes()
}

func gcc(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("gcc", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestClosureSearchPaths(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("SKIP: gcc not installed: RUNPATH/RPATH tests build their own binaries")
	}
	src := t.TempDir()
	writeFile(t, src, "foo.c", "int foo(void){return 1;}\n", 0o644)
	writeFile(t, src, "bar.c", "int baz(void);\nint bar(void){return baz()+2;}\n", 0o644)
	writeFile(t, src, "baz.c", "int baz(void){return 3;}\n", 0o644)
	writeFile(t, src, "main.c", "int foo(void); int bar(void); int baz(void);\nint main(void){return foo()+bar()+baz();}\n", 0o644)
	gcc(t, src, "-shared", "-fPIC", "-o", "libfoo.so.1", "-Wl,-soname,libfoo.so.1", "foo.c")
	gcc(t, src, "-shared", "-fPIC", "-o", "libbaz.so.1", "-Wl,-soname,libbaz.so.1", "baz.c")
	// libbar needs libbaz, found only through the executable's RPATH
	// (inherited) or LD_LIBRARY_PATH.
	gcc(t, src, "-shared", "-fPIC", "-o", "libbar.so.1", "-Wl,-soname,libbar.so.1", "bar.c", "-L.", "-l:libbaz.so.1")
	gcc(t, src, "-o", "app-runpath", "main.c", "-L.", "-l:libfoo.so.1", "-l:libbar.so.1", "-l:libbaz.so.1",
		"-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib:/opt/bar")
	gcc(t, src, "-o", "app-rpath", "main.c", "-L.", "-l:libfoo.so.1", "-l:libbar.so.1", "-l:libbaz.so.1",
		"-Wl,--disable-new-dtags,-rpath,/opt/stub:$ORIGIN/../lib:/opt/bar:/opt/baz")

	root := mergedUsrRoot(t, "/usr/bin/true")
	copyHostFile(t, filepath.Join(src, "app-runpath"), filepath.Join(root, "app/bin/app-runpath"))
	copyHostFile(t, filepath.Join(src, "app-rpath"), filepath.Join(root, "app/bin/app-rpath"))
	copyHostFile(t, filepath.Join(src, "libfoo.so.1"), filepath.Join(root, "app/lib/libfoo.so.1"))
	copyHostFile(t, filepath.Join(src, "libbar.so.1"), filepath.Join(root, "opt/bar/libbar.so.1"))
	copyHostFile(t, filepath.Join(src, "libbaz.so.1"), filepath.Join(root, "opt/baz/libbaz.so.1"))
	writeFile(t, root, "opt/stub/libfoo.so.1", string(elf32Stub()), 0o644) // wrong class: skipped
	symlink(t, root, "usr/local/bin/app", "/app/bin/app-runpath")

	t.Run("runpath", func(t *testing.T) {
		f := openDir(t, root)
		l := NewLoader(f, []string{"PATH=/bin", "LD_LIBRARY_PATH=/opt/baz"})
		deps, err := l.Closure("/usr/local/bin/app")
		if err != nil {
			t.Fatal(err)
		}
		got := depsByName(deps)
		want := map[string][2]string{
			"libfoo.so.1": {"/app/lib/libfoo.so.1", "runpath"},
			"libbar.so.1": {"/opt/bar/libbar.so.1", "runpath"},
			"libbaz.so.1": {"/opt/baz/libbaz.so.1", "LD_LIBRARY_PATH"},
		}
		for name, w := range want {
			if d := got[name]; d.Path != w[0] || d.Via != w[1] {
				t.Errorf("%s = %+v, want %s via %s", name, d, w[0], w[1])
			}
		}
	})
	t.Run("runpath without LD_LIBRARY_PATH", func(t *testing.T) {
		f := openDir(t, root)
		deps, _ := NewLoader(f, nil).Closure("/app/bin/app-runpath")
		// RUNPATH is not inherited: libbar's libbaz is not found anywhere.
		var miss []string
		for _, d := range deps {
			if d.Path == "" {
				miss = append(miss, d.From+" needs "+d.Name)
			}
		}
		if len(miss) != 2 || !strings.Contains(strings.Join(miss, ","), "/opt/bar/libbar.so.1 needs libbaz.so.1") {
			t.Errorf("unresolved = %q, want libbaz from the executable and from libbar", miss)
		}
	})
	t.Run("rpath inherited and class filter", func(t *testing.T) {
		f := openDir(t, root)
		deps, err := NewLoader(f, nil).Closure("/app/bin/app-rpath")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			switch {
			case d.Path == "":
				t.Errorf("unresolved: %+v", d)
			case d.Name == "libfoo.so.1" && d.Path != "/app/lib/libfoo.so.1":
				t.Errorf("libfoo = %s, the 32-bit stub must be skipped", d.Path)
			case d.Name == "libbaz.so.1" && strings.HasSuffix(d.From, "libbar.so.1") && (d.Path != "/opt/baz/libbaz.so.1" || d.Via != "rpath"):
				t.Errorf("libbaz for libbar = %+v, want the executable's RPATH", d)
			}
		}
	})
}

func TestParseELF(t *testing.T) {
	if _, err := ParseELF(bytes.NewReader([]byte("#!/bin/sh\n"))); !errors.Is(err, ErrNotELF) {
		t.Errorf("script: %v", err)
	}
	if _, err := ParseELF(bytes.NewReader([]byte("\x7fELF garbage"))); !errors.Is(err, ErrNotELF) {
		t.Errorf("garbage: %v", err)
	}
	info, err := ParseELF(bytes.NewReader(elf32Stub()))
	if err != nil || info.Class != elf.ELFCLASS32 || info.Machine != elf.EM_386 {
		t.Errorf("stub: %+v %v", info, err)
	}
	exe, err := os.Executable() // the test binary: a Go program
	if err == nil {
		fh, err := os.Open(exe)
		if err == nil {
			defer fh.Close()
			info, err := ParseELF(fh)
			if err != nil || !info.IsGo {
				t.Errorf("test binary: %+v %v", info, err)
			}
		}
	}
}

func FuzzParseELF(f *testing.F) {
	f.Add(elf32Stub())
	if b, err := os.ReadFile("/usr/bin/true"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseELF(bytes.NewReader(b))
		if err == nil && info == nil {
			t.Fatal("nil info without error")
		}
	})
}
