package cover

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/elfsym"
	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

func TestFunctionUnit(t *testing.T) {
	for _, c := range []struct {
		f    Function
		want string
	}{
		{Function{Name: "main.(*server).handleBreed", Package: "main"}, "main.(*server).handleBreed"},
		{Function{Name: "handle_a"}, "handle_a"},
		{Function{Name: "create", Package: "/app/pypets/store.py", Line: 21}, "/app/pypets/store.py:create:21"},
	} {
		if got := c.f.Unit(); got != c.want {
			t.Errorf("%+v.Unit() = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestPyInScope(t *testing.T) {
	for _, c := range []struct {
		globs []string
		file  string
		want  bool
	}{
		{[]string{"/app/*"}, "/app/pypets/main.py", true},
		{[]string{"/app/*"}, "/usr/lib/python3/dist-packages/fastapi/routing.py", false},
		{[]string{"!/usr/lib/python3*", "!<*"}, "/srv/x.py", true},
		{[]string{"!/usr/lib/python3*", "!<*"}, "/usr/lib/python3.11/json/encoder.py", false},
		{[]string{"!/usr/lib/python3*", "!<*"}, "<frozen importlib._bootstrap>", false},
		{[]string{"/app/*", "!/app/tests/*"}, "/app/tests/test_x.py", false},
	} {
		if got := pyInScope(c.globs, c.file); got != c.want {
			t.Errorf("pyInScope(%v, %q) = %v", c.globs, c.file, got)
		}
	}
}

// The cursor model without BPF: first hits in order, background excluded,
// records dispatched by index range.
func TestCoverageCursor(t *testing.T) {
	set := &coverSet{}
	a := &Coverage{kind: NativeFunctions,
		nat: &nativeCover{}}
	a.nat.funcs = make([]elfsym.Func, 3)
	for i, n := range []string{"main.a", "main.b", "main.c"} {
		a.nat.funcs[i].Name, a.nat.funcs[i].Package = n, "main"
	}
	b := &Coverage{kind: NativeFunctions, nat: &nativeCover{}}
	b.nat.funcs = make([]elfsym.Func, 2)
	b.nat.funcs[0].Name, b.nat.funcs[1].Name = "x", "y"
	for _, c := range []*Coverage{a, b} {
		if err := set.register(c); err != nil {
			t.Fatal(err)
		}
	}
	if b.base != 3 {
		t.Fatalf("second coverage at %d, want 3", b.base)
	}
	handle(t, set, record{typ: evCover, idx: 1})
	a.MarkBackground(0) // as Baseline does
	handle(t, set, record{typ: evCover, idx: 2})
	handle(t, set, record{typ: evCover, idx: 2}) // a second CPU raced: ignored
	handle(t, set, record{typ: evCover, idx: 4})
	handle(t, set, record{typ: evCover, idx: 99}) // nobody's
	units, next := a.NewSince(0)
	if !slices.Equal(units, []string{"main.c"}) || next != 2 {
		t.Errorf("NewSince(0) = %v, %d", units, next)
	}
	if units, next := a.NewSince(next); units != nil || next != 2 {
		t.Errorf("NewSince(2) = %v, %d", units, next)
	}
	if units, _ := b.NewSince(0); !slices.Equal(units, []string{"y"}) {
		t.Errorf("b.NewSince(0) = %v", units)
	}
	if hit := a.Hit(); len(hit) != 2 || hit[0].Name != "main.b" {
		t.Errorf("Hit = %v", hit)
	}
	if bg := a.Background(); !slices.Equal(bg, []string{"main.b"}) {
		t.Errorf("Background = %v", bg)
	}
}

// An interpreter without USDT is recognised and reported as file-level
// only; other binaries are not taken for Python.
func TestPythonDetection(t *testing.T) {
	py := ""
	for _, p := range []string{"/usr/bin/python3.11", "/usr/bin/python3"} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			py = r
			break
		}
	}
	if py == "" {
		t.Skip("SKIPPED: no /usr/bin/python3")
	}
	if _, err := exec.LookPath("objcopy"); err != nil {
		t.Skip("SKIPPED: no objcopy")
	}
	noUSDT := filepath.Join(t.TempDir(), "python-nousdt")
	if out, err := exec.Command("objcopy", "--remove-section=.note.stapsdt", py, noUSDT).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v: %s", err, out)
	}
	open := func(p string) *target {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		root, err := procfs.OpenRoot("/proc/self/root")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { root.Close() })
		return &target{pid: os.Getpid(), inside: p, file: f, root: root, proc: procfs.Host}
	}
	if _, err := newPythonCover(context.Background(), &coverSet{}, open(noUSDT), config{}); !errors.Is(err, ErrNoUSDT) || !errors.Is(err, tracer.ErrNotSupported) {
		t.Errorf("python without USDT: %v, want ErrNoUSDT", err)
	}
	self, _ := os.Executable()
	if _, err := newPythonCover(context.Background(), &coverSet{}, open(self), config{}); !errors.Is(err, errNotPython) {
		t.Errorf("the test binary: %v, want errNotPython", err)
	}
	sites, err := pythonLineSites(open(py))
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) == 0 {
		t.Skipf("SKIPPED: host %s has no python:line probe", py)
	}
}

func TestMarkBackground(t *testing.T) {
	c := &Coverage{kind: NativeFunctions,
		units: []Function{{Name: "a"}, {Name: "b"}, {Name: "c"}}, hit: make([]bool, 3)}
	c.markHit(0)
	bg, cur := c.MarkBackground(0)
	if !slices.Equal(bg, []string{"a"}) || cur != 1 {
		t.Fatalf("MarkBackground(0) = %v, %d", bg, cur)
	}
	c.markHit(2)
	c.markHit(1)
	if bg, cur := c.MarkBackground(5); bg != nil || cur != 3 {
		t.Errorf("MarkBackground past the end = %v, %d", bg, cur)
	}
	if units, _ := c.NewSince(0); !slices.Equal(units, []string{"c", "b"}) {
		t.Errorf("NewSince(0) = %v", units)
	}
}
