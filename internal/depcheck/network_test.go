package depcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// whittle's only HTTP client is internal/loopback's: loopback addresses
// only, no proxy, no redirects. Everything that ships in the binary is
// scanned for another way out: a transport, dialer or client built elsewhere,
// or net/http's package-level client.
func TestOnlyLoopbackClientDials(t *testing.T) {
	// Tools and test helpers that measure or drive fixtures on 127.0.0.1
	// themselves; none of them is part of the whittle binary.
	notShipped := []string{"bench/", "tracer/cmd/", "tracer/internal/fixture/", "internal/testimage/", "internal/loopback/"}
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "testdata" || strings.HasSuffix(rel, "/testdata") || strings.HasPrefix(rel, ".") && rel != "." {
				return filepath.SkipDir
			}
			for _, n := range notShipped {
				if rel+"/" == n {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		names := importNames(f)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				switch pkg, name := selector(n.Type, names); {
				case pkg == "net/http" && name == "Transport", pkg == "net" && name == "Dialer":
					t.Errorf("%s: builds a %s.%s: use internal/loopback's client", fset.Position(n.Pos()), pkg, name)
				case pkg == "net/http" && name == "Client" && !setsField(n, "Transport"):
					t.Errorf("%s: an http.Client without a Transport uses net/http's default one: use internal/loopback's client", fset.Position(n.Pos()))
				}
			case *ast.SelectorExpr:
				pkg, name := selector(n, names)
				if pkg == "net/http" && (name == "DefaultClient" || name == "DefaultTransport" || name == "Get" || name == "Head" || name == "Post" || name == "PostForm") ||
					pkg == "net" && strings.HasPrefix(name, "Dial") {
					t.Errorf("%s: uses %s.%s: use internal/loopback's client", fset.Position(n.Pos()), pkg, name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("scanned %d files: the walk missed the tree", checked)
	}
}

// importNames maps the names files use for packages to their import paths.
func importNames(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, imp := range f.Imports {
		path := strings.Trim(imp.Path.Value, `"`)
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		m[name] = path
	}
	return m
}

func selector(e ast.Expr, names map[string]string) (pkg, name string) {
	if s, ok := e.(*ast.SelectorExpr); ok {
		if id, ok := s.X.(*ast.Ident); ok {
			return names[id.Name], s.Sel.Name
		}
	}
	return "", ""
}

func setsField(lit *ast.CompositeLit, field string) bool {
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == field {
				return true
			}
		}
	}
	return false
}

func TestSpecLoadingNeedsNoDocker(t *testing.T) {
	for _, d := range deps(t, "fuzz/spec") {
		if strings.HasPrefix(d, "github.com/docker/") || d == module+"/probe" {
			t.Errorf("fuzz/spec depends on %s: loading a spec must not need a container engine", d)
		}
	}
}
