package elfsym

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// funcsOf makes a function table from symbol names.
func funcsOf(names ...string) []Func {
	out := make([]Func, len(names))
	for i, n := range names {
		out[i] = Func{Name: n, Package: GoPackage(n)}
	}
	return out
}

// inScope lists the names of the functions the scope matches.
func inScope(a AppScope, funcs []Func) []string {
	var out []string
	for _, f := range funcs {
		if a.Match(f) {
			out = append(out, f.Name)
		}
	}
	return out
}

// A GOPATH-built service: main, its own packages, a vendored dependency, a
// dependency from elsewhere in GOPATH and the standard library.
var shelfFuncs = funcsOf(
	"main.main", "main.routes",
	"github.com/acme/shelf/store.(*Store).Add", "github.com/acme/shelf/store.(*Store).Find",
	"github.com/acme/shelf/api.(*Server).list", "github.com/acme/shelf/render.CSV",
	"github.com/acme/shelf/vendor/github.com/tiny/slug.Make",
	"github.com/other/lib.Helper",
	"net/http.(*conn).serve", "runtime.main", "vendor/golang.org/x/net/http2/hpack.HuffmanDecode",
	"type:.eq.main.Item", "go:buildid",
)

func TestGoAppScopeFromPath(t *testing.T) {
	a := GoAppScope("", "github.com/acme/shelf/cmd/shelfd", shelfFuncs)
	if a.From != ScopeFromPath || a.Root != "github.com/acme/shelf" {
		t.Fatalf("scope %+v: want root github.com/acme/shelf from the build-info path", a)
	}
	want := []string{"main.main", "main.routes",
		"github.com/acme/shelf/store.(*Store).Add", "github.com/acme/shelf/store.(*Store).Find",
		"github.com/acme/shelf/api.(*Server).list", "github.com/acme/shelf/render.CSV"}
	if got := inScope(a, shelfFuncs); !slices.Equal(got, want) {
		t.Errorf("in scope: %q\nwant %q", got, want)
	}
	if a.Functions != len(want) {
		t.Errorf("Functions = %d, want %d", a.Functions, len(want))
	}
	wantPkgs := []string{"github.com/acme/shelf/api", "github.com/acme/shelf/render", "github.com/acme/shelf/store", "main"}
	if !slices.Equal(a.InScope, wantPkgs) {
		t.Errorf("InScope = %q, want %q", a.InScope, wantPkgs)
	}
	s := a.String()
	for _, part := range []string{"github.com/acme/shelf/...", "6 functions", "build-info path", "no module line", "vendor"} {
		if !strings.Contains(s, part) {
			t.Errorf("description %q lacks %q", s, part)
		}
	}
}

func TestGoAppScopeFromModule(t *testing.T) {
	funcs := funcsOf("main.main", "example.com/hello/internal/greet.Hello", "example.com/other.F", "fmt.Println")
	a := GoAppScope("example.com/hello", "example.com/hello", funcs)
	if a.From != ScopeFromModule || a.Root != "example.com/hello" {
		t.Fatalf("scope %+v", a)
	}
	if got := inScope(a, funcs); !slices.Equal(got, []string{"main.main", "example.com/hello/internal/greet.Hello"}) {
		t.Errorf("in scope: %q", got)
	}
}

// Hosts without a known convention: the root is checked against the
// packages the binary holds.
func TestGoAppScopeUnknownHost(t *testing.T) {
	for _, c := range []struct {
		path     string
		funcs    []Func
		wantRoot string
	}{
		// The usual layout: commands under cmd/.
		{"example.org/acme/shelf/cmd/shelfd", funcsOf("main.main", "example.org/acme/shelf/store.Add", "example.org/acme/other.F"), "example.org/acme/shelf"},
		// host/two elements holds nothing: the repository is host/one element.
		{"example.org/shelf/shelfd", funcsOf("main.main", "example.org/shelf/store.Add", "example.org/shelf/api.List"), "example.org/shelf"},
		// host/two elements holds packages: kept, the organisation's other repository left out.
		{"example.org/acme/shelf", funcsOf("main.main", "example.org/acme/shelf/store.Add", "example.org/acme/lib.F"), "example.org/acme/shelf"},
		// Nothing anywhere: the conventional root stays (main only in fact).
		{"example.org/acme/tool/x", funcsOf("main.main", "fmt.Println"), "example.org/acme/tool"},
	} {
		a := GoAppScope("", c.path, c.funcs)
		if a.Root != c.wantRoot || a.From != ScopeFromPath {
			t.Errorf("%s: root %q from %s (%s), want %q", c.path, a.Root, a.From, a.Detail, c.wantRoot)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	for path, want := range map[string]string{
		"github.com/acme/shelf/cmd/shelfd":      "github.com/acme/shelf",
		"github.com/acme/shelf":                 "github.com/acme/shelf",
		"github.com/acme":                       "github.com/acme",
		"gitlab.com/group/proj/cmd/x":           "gitlab.com/group/proj",
		"bitbucket.org/team/repo/pkg":           "bitbucket.org/team/repo",
		"golang.org/x/tools/cmd/stringer":       "golang.org/x/tools",
		"gopkg.in/yaml.v3":                      "gopkg.in/yaml.v3",
		"gopkg.in/src-d/go-git.v4/plumbing":     "gopkg.in/src-d/go-git.v4",
		"go.googlesource.com/tools/cmd/godoc":   "go.googlesource.com/tools",
		"k8s.io/kubernetes/cmd/kubelet":         "k8s.io/kubernetes",
		"example.org/acme/shelf/cmd/shelfd":     "example.org/acme/shelf",
		"example.org/acme/shelf/internal/x":     "example.org/acme/shelf",
		"git.example.org/team/tool/cmd/tool":    "git.example.org/team/tool",
		"shelf/cmd/shelfd":                      "shelf",
		"example.org/a":                         "example.org/a",
		"code.example.com/infra/deploy/cmd/dpl": "code.example.com/infra/deploy",
	} {
		if got, _, _ := RepoRoot(path); got != want {
			t.Errorf("RepoRoot(%q) = %q, want %q", path, got, want)
		}
	}
}

// Without a usable path the application is the non-standard prefix with
// most functions, or one that vendors other projects.
func TestGoAppScopeFallbackPrefix(t *testing.T) {
	big := funcsOf("main.main", "github.com/acme/shelf/store.A", "github.com/acme/shelf/store.B", "github.com/acme/shelf/api.C",
		"github.com/dep/small.X", "net/http.Get", "runtime.main")
	a := GoAppScope("", "command-line-arguments", big)
	if a.From != ScopeFromPrefix || a.Root != "github.com/acme/shelf" {
		t.Errorf("most functions: %+v", a)
	}
	// A large dependency outweighs the application, which vendors it: the
	// vendor directory names the application.
	vendoring := funcsOf("main.main", "github.com/acme/shelf/store.A",
		"github.com/acme/shelf/vendor/github.com/big/dep.A", "github.com/acme/shelf/vendor/github.com/big/dep.B",
		"github.com/huge/lib.A", "github.com/huge/lib.B", "github.com/huge/lib.C")
	a = GoAppScope("", "command-line-arguments", vendoring)
	if a.Root != "github.com/acme/shelf" || !strings.Contains(a.Detail, "vendors") {
		t.Errorf("vendoring: %+v", a)
	}
	if got := inScope(a, vendoring); !slices.Equal(got, []string{"main.main", "github.com/acme/shelf/store.A"}) {
		t.Errorf("vendoring: in scope %q", got)
	}
	// A GOPATH path without a host: its first element, when packages lie under it.
	dotless := funcsOf("main.main", "shelf/store.A", "shelf/api.B", "github.com/dep/x.Y", "github.com/dep/x.Z", "github.com/dep/x.W", "strings.ToLower")
	a = GoAppScope("", "shelf/cmd/shelfd", dotless)
	if a.Root != "shelf" || a.From != ScopeFromPath || a.Functions != 3 {
		t.Errorf("dotless path: %+v", a)
	}
	// ... and the fallback when none does.
	a = GoAppScope("", "tool", funcsOf("main.main", "github.com/dep/x.Y", "strings.ToLower"))
	if a.Root != "github.com/dep/x" || a.From != ScopeFromPrefix {
		t.Errorf("dotless path, nothing under it: %+v", a)
	}
	// Only the standard library besides main.
	a = GoAppScope("", "", funcsOf("main.main", "main.handler", "net/http.Get", "internal/abi.X", "vendor/golang.org/x/net/idna.ToASCII"))
	if a.From != ScopeMainOnly || a.Root != "" || a.Functions != 2 {
		t.Errorf("main only: %+v", a)
	}
}

// The standard library's first path elements are all known to
// isStdPackage: a new one would otherwise be taken for an application.
func TestStdRootsCoverGoListStd(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "std").Output()
	if err != nil {
		t.Skipf("SKIPPED: go list std: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !isStdPackage(p) {
			t.Errorf("standard package %s is not recognised as such", p)
		}
	}
}

const gopathMain = `package main

import (
	"fmt"
	"os"

	"example.org/acme/shelf/store"
	"github.com/other/lib"
)

func main() { fmt.Println(store.Add(os.Args[0]), lib.Helper(len(os.Args))) }
`

const gopathStore = `package store

import "github.com/tiny/slug"

//go:noinline
func Add(name string) string { return "item-" + slug.Make(name) }
`

const gopathSlug = `package slug

import "strings"

//go:noinline
func Make(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "-")) }
`

const gopathLib = `package lib

//go:noinline
func Helper(n int) int { return n * 7 }
`

// A binary built in GOPATH mode (GO111MODULE=off) and stripped, as
// distributions build Go programs: its build info has a path but no module
// line, and its scope is the repository's packages, not only main, without
// the vendored and GOPATH dependencies.
func TestGoAppScopeGOPATHBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: builds a Go program (-short)")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		t.Skipf("SKIPPED: no go toolchain at %s", goBin)
	}
	gopath := t.TempDir()
	repo := filepath.Join(gopath, "src/example.org/acme/shelf")
	for name, src := range map[string]string{
		filepath.Join(repo, "cmd/shelfd/main.go"):                  gopathMain,
		filepath.Join(repo, "store/store.go"):                      gopathStore,
		filepath.Join(repo, "vendor/github.com/tiny/slug/slug.go"): gopathSlug,
		filepath.Join(gopath, "src/github.com/other/lib/lib.go"):   gopathLib,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "shelfd")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = filepath.Join(repo, "cmd/shelfd")
	cmd.Env = append(os.Environ(), "GO111MODULE=off", "GOPATH="+gopath, "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOPATH build: %v: %s", err, out)
	}
	b, tab := functions(t, bin)
	if b.GoMainPath != "" || b.GoPath != "example.org/acme/shelf/cmd/shelfd" {
		t.Fatalf("build info: module %q, path %q; want no module and the main package's path", b.GoMainPath, b.GoPath)
	}
	if tab.Source != SourcePclntab {
		t.Fatalf("stripped binary read from %s", tab.Source)
	}
	a := GoAppScope(b.GoMainPath, b.GoPath, tab.Funcs)
	if a.Root != "example.org/acme/shelf" || a.From != ScopeFromPath {
		t.Fatalf("scope %s", a)
	}
	got := inScope(a, tab.Funcs)
	for _, want := range []string{"main.main", "example.org/acme/shelf/store.Add"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s not in scope (in scope: %q)", want, got)
		}
	}
	for _, name := range got {
		if strings.Contains(name, "/vendor/") || strings.HasPrefix(name, "github.com/other/") || !strings.HasPrefix(name, "main.") && !strings.HasPrefix(name, "example.org/acme/shelf/") {
			t.Errorf("%s is in scope", name)
		}
	}
	// The vendored and GOPATH dependencies are in the binary: excluding them is not vacuous.
	var vendored, other bool
	for _, f := range tab.Funcs {
		vendored = vendored || f.Name == "example.org/acme/shelf/vendor/github.com/tiny/slug.Make"
		other = other || f.Name == "github.com/other/lib.Helper"
	}
	if !vendored || !other {
		t.Errorf("the binary lacks the vendored (%v) or the GOPATH dependency (%v)", vendored, other)
	}
	if len(a.InScope) < 2 {
		t.Errorf("packages in scope %q: want main and the repository's own", a.InScope)
	}
	t.Logf("scope: %s", a)
}
