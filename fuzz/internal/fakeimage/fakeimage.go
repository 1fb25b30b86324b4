// Package fakeimage plays the image a fuzzed target runs from, for the
// tests of the fuzz packages that read directories of it
// (inputsel.DirLister): a Python service whose interpreter and libraries
// hold hundreds of modules next to the application's few codecs.
package fakeimage

import (
	"context"
	"fmt"
)

// Lister lists directories from a map.
type Lister map[string][]string

// ListDir lists dir (inputsel.DirLister).
func (f Lister) ListDir(_ context.Context, dir string) ([]string, error) { return f[dir], nil }

// Python is what a Python service's image holds where it looks names
// up: the interpreter's hundreds of modules, a library's, and the
// application's few codecs.
func Python() Lister {
	l := Lister{
		"/app":                                   {"pyplugins"},
		"/app/pyplugins":                         {"__init__.py", "__pycache__", "codecs", "main.py", "renderers"},
		"/app/pyplugins/codecs":                  {"__init__.py", "__pycache__", "atbash.py", "plain.py", "reverse.py", "rot_13.py", "upper_case.py"},
		"/usr/lib/python3.11":                    nil,
		"/usr/lib/python3/dist-packages/fastapi": nil,
	}
	for _, c := range PythonCodecs()[5:] {
		l["/app/pyplugins/codecs"] = append(l["/app/pyplugins/codecs"], c+".py")
	}
	for i := range 300 {
		l["/usr/lib/python3.11"] = append(l["/usr/lib/python3.11"], fmt.Sprintf("stdmod%03d.py", i))
	}
	for i := range 80 {
		l["/usr/lib/python3/dist-packages/fastapi"] = append(l["/usr/lib/python3/dist-packages/fastapi"], fmt.Sprintf("fastmod%02d.py", i))
	}
	l["/app/pyplugins/codecs/__pycache__"] = []string{"__init__.cpython-311.pyc", "plain.cpython-311.pyc"}
	return l
}

// PythonCodecs are the modules of /app/pyplugins/codecs, by the names
// that import them.
func PythonCodecs() []string {
	out := []string{"atbash", "plain", "reverse", "rot_13", "upper_case"}
	for i := range 20 {
		out = append(out, fmt.Sprintf("caesar_%d", i+1))
	}
	return out
}

// PythonStartup are the directories Python listed before the first
// request, each made by listing (its path, whether the target listed it
// itself, whether at start-up): the caller's listing type is
// inputsel.DirListing, which this package cannot import.
func PythonStartup[L any](listing func(path string, listed, startup bool) L) []L {
	return []L{
		listing("/usr/lib/python3.11", true, true),
		listing("/usr/lib/python3/dist-packages/fastapi", true, true),
		listing("/app", true, true),
		listing("/app/pyplugins", true, true),
		listing("/app/pyplugins/codecs", true, true),
		listing("/app/pyplugins/codecs/__pycache__", false, true), // plain.cpython-311.pyc opened
	}
}
