package elfsym

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const helloMain = `package main

import (
	"fmt"
	"os"

	"example.com/hello/internal/greet"
)

func main() {
	fmt.Println(greet.Hello(len(os.Args)))
}
`

const helloCgo = `package main

// int twice(int x) { return 2 * x; }
import "C"

func cgoTwice(x int) int { return int(C.twice(C.int(x))) }

func init() { _ = cgoTwice }
`

const helloGreet = `package greet

import "strings"

//go:noinline
func Hello(n int) string { return strings.Repeat("hello ", n) }
`

// buildHello builds the test program with extra go build flags.
func buildHello(t *testing.T, cgo bool, flags ...string) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Skipf("SKIPPED: no go toolchain at %s", goBin)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                  "module example.com/hello\n\ngo 1.22\n",
		"main.go":                 helloMain,
		"internal/greet/greet.go": helloGreet,
	}
	if cgo {
		files["cgo.go"] = helloCgo
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(goBin, append(append([]string{"build", "-o", out}, flags...), ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	if cgo {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=1")
	} else {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		if cgo {
			t.Skipf("SKIPPED: cgo build failed (no C compiler?): %v: %s", err, b)
		}
		t.Fatalf("go build: %v: %s", err, b)
	}
	return out
}

// objcopy runs objcopy args... in to a new file.
func objcopy(t *testing.T, in string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("objcopy"); err != nil {
		t.Skip("SKIPPED: no objcopy")
	}
	out := in + ".copy" + strings.ReplaceAll(strings.Join(args, ""), "-", "_")
	if b, err := exec.Command("objcopy", append(args, in, out)...).CombinedOutput(); err != nil {
		t.Fatalf("objcopy %v: %v: %s", args, err, b)
	}
	return out
}

func functions(t *testing.T, path string) (*Binary, *Table) {
	t.Helper()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	tab, err := b.Functions()
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return b, tab
}

// Stripped Go binaries (internal and external linking, PIE, with and
// without .go.module) list the same functions at the same addresses as the
// unstripped binary's .symtab.
func TestGoPclntabMatchesSymtab(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: builds Go programs (-short)")
	}
	variants := []struct {
		name  string
		cgo   bool
		flags []string
	}{
		{"internal", false, nil},
		{"external-cgo", true, []string{"-ldflags=-linkmode=external"}},
		{"pie-cgo", true, []string{"-buildmode=pie", "-ldflags=-linkmode=external"}},
		{"pie-internal", false, []string{"-buildmode=pie"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			full := buildHello(t, v.cgo, v.flags...)
			_, sym := functions(t, full)
			if sym.Source != SourceSymtab {
				t.Fatalf("unstripped binary read from %s", sym.Source)
			}
			// Names are not unique (ABI wrappers share them): compare by address.
			byAddr := map[uint64]string{}
			for _, f := range sym.Funcs {
				byAddr[f.Addr] = f.Name
			}
			fb, err := Open(full)
			if err != nil {
				t.Fatal(err)
			}
			syms, _ := fb.ELF().Symbols()
			fb.Close()
			names := map[uint64]map[string]bool{}
			textSym := uint64(0)
			for _, s := range syms {
				if s.Name == "runtime.text" {
					textSym = s.Value
				}
				if names[s.Value] == nil {
					names[s.Value] = map[string]bool{}
				}
				// .symtab spells ABI wrappers "x.abi0" and "·" as ".".
				names[s.Value][strings.TrimSuffix(s.Name, ".abi0")] = true
			}
			stripped := objcopy(t, full, "--strip-all")
			// Renamed (objcopy zeroes removed sections): the module data is
			// then found by scanning for the structure.
			for _, path := range []string{stripped, objcopy(t, stripped, "--rename-section=.go.module=.renamed")} {
				b, tab := functions(t, path)
				if tab.Source != SourcePclntab {
					t.Fatalf("stripped binary read from %s", tab.Source)
				}
				if textSym != 0 && tab.TextStart != textSym {
					t.Errorf("text start %#x (%s), runtime.text is %#x", tab.TextStart, tab.TextStartFrom, textSym)
				}
				t.Logf("%s: %d functions, text %#x from %s, layout %+v", filepath.Base(path), len(tab.Funcs), tab.TextStart, tab.TextStartFrom, tab.Layout)
				scope := GoAppScope(b.GoMainPath, b.GoPath, tab.Funcs).Scope
				inScope := map[string]bool{}
				for _, f := range tab.Funcs {
					if !names[f.Addr][strings.ReplaceAll(f.Name, "·", ".")] {
						t.Errorf("%s at %#x: .symtab has %v there", f.Name, f.Addr, names[f.Addr])
					}
					if scope.Match(f) {
						inScope[f.Name] = true
						if err := b.CheckEntry(f); err != nil {
							t.Errorf("CheckEntry: %v", err)
						}
					}
				}
				for _, want := range []string{"main.main", "example.com/hello/internal/greet.Hello"} {
					if !inScope[want] {
						t.Errorf("%s not in the main-module scope (%v)", want, inScope)
					}
				}
				for name := range inScope {
					if !strings.HasPrefix(name, "main.") && !strings.HasPrefix(name, "example.com/hello/") {
						t.Errorf("%s in the main-module scope", name)
					}
				}
			}
		})
	}
}

// A table shifted like the one a wrong text start gives is refused.
func TestCheckLayoutRefusesShiftedTable(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: builds Go programs (-short)")
	}
	b, tab := functions(t, objcopy(t, buildHello(t, true, "-ldflags=-linkmode=external"), "--strip-all"))
	if tab.Layout.Calls < minLayoutCalls || tab.Layout.Matched != tab.Layout.Calls {
		t.Fatalf("correct table: %+v", tab.Layout)
	}
	for _, shift := range []int64{-0x100, 3, 0x40} {
		shifted := &Table{}
		for _, f := range tab.Funcs {
			f.Addr, f.End = uint64(int64(f.Addr)+shift), uint64(int64(f.End)+shift)
			shifted.Funcs = append(shifted.Funcs, f)
		}
		l, err := b.CheckLayout(shifted, layoutSamples)
		if err == nil {
			t.Errorf("shift %d accepted: %+v", shift, l)
		}
	}
}

func TestFunctionsErrors(t *testing.T) {
	if _, err := NewBinary(strings.NewReader("not an ELF file")); err == nil {
		t.Error("NewBinary accepted garbage")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary has .symtab: fine. A C binary without symbols: none.
	if _, err := exec.LookPath("objcopy"); err == nil && !testing.Short() {
		if sh, err := exec.LookPath("true"); err == nil {
			b, err := Open(objcopy(t, copyFile(t, sh), "--strip-all"))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if _, err := b.Functions(); !errors.Is(err, ErrNoFunctions) {
				t.Errorf("stripped C binary: %v, want ErrNoFunctions", err)
			}
		}
	}
	b, err := Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.IsGo() {
		t.Error("the test binary is not seen as Go")
	}
}

func copyFile(t *testing.T, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}
