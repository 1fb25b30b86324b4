package elfsym

import (
	"strings"
	"testing"
)

// Go functions carry the file and line the pclntab records for them,
// whether the table comes from .symtab (positions matched by name) or from
// the pclntab of a stripped binary, with and without -trimpath.
func TestGoSourcePositions(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED: builds Go programs (-short)")
	}
	for _, v := range []struct {
		name    string
		cgo     bool
		flags   []string
		trimmed bool
	}{
		{"internal", false, nil, false},
		{"trimpath-external", true, []string{"-trimpath", "-ldflags=-linkmode=external"}, true},
		{"trimpath-pie", false, []string{"-trimpath", "-buildmode=pie"}, true},
	} {
		t.Run(v.name, func(t *testing.T) {
			full := buildHello(t, v.cgo, v.flags...)
			for _, path := range []string{full, objcopy(t, full, "--strip-all")} {
				_, tab := functions(t, path)
				byName := map[string]Func{}
				withFile := 0
				for _, f := range tab.Funcs {
					byName[f.Name] = f
					if f.File != "" {
						withFile++
					}
					if strings.HasPrefix(f.File, "<") {
						t.Errorf("%s in %q: generated code has no source file", f.Name, f.File)
					}
				}
				// Compiler-generated wrappers (about a tenth) have none.
				if withFile*10 < len(tab.Funcs)*8 {
					t.Errorf("%s (%s): only %d of %d functions have a file", v.name, tab.Source, withFile, len(tab.Funcs))
				}
				for name, want := range map[string]struct {
					file string
					line int
				}{
					"main.main":                              {"main.go", 10},
					"example.com/hello/internal/greet.Hello": {"internal/greet/greet.go", 6},
				} {
					f, ok := byName[name]
					if !ok {
						t.Fatalf("%s (%s): no %s", v.name, tab.Source, name)
					}
					if !strings.HasSuffix(f.File, "/"+want.file) || f.Line != want.line {
						t.Errorf("%s (%s): %s at %s:%d, want …/%s:%d", v.name, tab.Source, name, f.File, f.Line, want.file, want.line)
					}
					if trimmed := strings.HasPrefix(f.File, "example.com/hello/"); trimmed != v.trimmed {
						t.Errorf("%s (%s): %s in %s: trimmed path %v, want %v", v.name, tab.Source, name, f.File, trimmed, v.trimmed)
					}
				}
				if f := byName["runtime.main"]; !strings.HasSuffix(f.File, "runtime/proc.go") || f.Line == 0 {
					t.Errorf("%s (%s): runtime.main at %s:%d", v.name, tab.Source, f.File, f.Line)
				}
			}
		})
	}
}
