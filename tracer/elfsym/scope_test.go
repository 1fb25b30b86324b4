package elfsym

import "testing"

func TestGoPackage(t *testing.T) {
	for name, want := range map[string]string{
		"main.main":                  "main",
		"main.(*server).handleBreed": "main",
		"main.(*server).routes.(*server).withRequestID.func4":  "main",
		"github.com/whittle-dev/gopets/internal/adopt.Process": "github.com/whittle-dev/gopets/internal/adopt",
		"net/http.(*conn).serve":                               "net/http",
		"example.com/m.Map[go.shape.string]":                   "example.com/m",
		"example.com/m.F[example.com/other.T]":                 "example.com/m",
		"type:.eq.main.Pet":                                    "",
		"go:buildid":                                           "",
		"runtime.text":                                         "runtime",
		"main":                                                 "",
		"":                                                     "",
	} {
		if got := GoPackage(name); got != want {
			t.Errorf("GoPackage(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestScope(t *testing.T) {
	mod := GoAppScope("github.com/whittle-dev/gopets", "github.com/whittle-dev/gopets", nil).Scope
	custom := Scope{Packages: []string{"net/http"}, Symbols: []string{"handle_*"}, Exclude: []string{"*.init*"}}
	dotted := GoAppScope("gopkg.in/yaml.v3", "gopkg.in/yaml.v3", nil).Scope
	for _, c := range []struct {
		s    Scope
		f    Func
		want bool
	}{
		{mod, Func{Name: "main.main", Package: "main"}, true},
		{mod, Func{Name: "github.com/whittle-dev/gopets/internal/adopt.Process", Package: "github.com/whittle-dev/gopets/internal/adopt"}, true},
		{mod, Func{Name: "github.com/whittle-dev/gopetsx.F", Package: "github.com/whittle-dev/gopetsx"}, false},
		{mod, Func{Name: "net/http.(*conn).serve", Package: "net/http"}, false},
		{mod, Func{Name: "main"}, false}, // the C entry of a cgo binary
		{custom, Func{Name: "net/http.(*conn).serve", Package: "net/http"}, true},
		{custom, Func{Name: "net/http.init.0", Package: "net/http"}, false},
		{custom, Func{Name: "handle_a"}, true},
		{custom, Func{Name: "helper"}, false},
		{Scope{}, Func{Name: "anything"}, true},
		{Scope{Exclude: []string{"square"}}, Func{Name: "square"}, false},
		{dotted, Func{Name: "gopkg.in/yaml.v3.(*parser).parse", Package: "gopkg.in/yaml"}, true},
	} {
		if got := c.s.Match(c.f); got != c.want {
			t.Errorf("%+v.Match(%s) = %v, want %v", c.s, c.f.Name, got, c.want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "", true},
		{"*", "a/b.c", true},
		{"main.*", "main.(*T).M", true},
		{"net/http.(*conn).*", "net/http.(*conn).serve", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*x*y", "axbyy", true},
		{"*x*y", "axb", false},
		{"abc", "abcd", false},
		{"", "", true},
		{"", "a", false},
	} {
		if got := Glob(c.pat, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v", c.pat, c.s, got)
		}
	}
}
