// Package covtest makes coverage for the export tests: a small Go-like
// and a Python-like application with their sources, hit and never-hit
// functions, line-measured and function-measured.
package covtest

import (
	"html"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/report/covdata"
)

// Sources are the files of the sample application, relative to its root.
var Sources = map[string]string{
	"main.go": strings.Join([]string{
		"package main",                          // 1
		"",                                      // 2
		"func main() {",                         // 3
		"\tserve()",                             // 4
		"}",                                     // 5
		"",                                      // 6
		"func serve() {}",                       // 7
		"",                                      // 8
		"func handleList() {}",                  // 9
		"",                                      // 10
		"func compactStore() { /* planted */ }", // 11
		"",
	}, "\n"),
	"app/views.py": strings.Join([]string{
		"import os",               // 1
		"",                        // 2
		"def list_pets(n):",       // 3
		"    out = []",            // 4
		"    for i in range(n):",  // 5
		"        out.append(i)",   // 6
		"    return out",          // 7
		"",                        // 8
		"def purge_tombstones():", // 9
		"    return 0",            // 10
		"",
	}, "\n"),
}

// Coverage is the sample's coverage: Go functions recorded under the
// module path (as -trimpath builds do), Python ones under /srv.
func Coverage() *covdata.Coverage {
	t0 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	c := &covdata.Coverage{Kind: "test", Started: t0, Functions: []covdata.Function{
		{File: "example.com/pets/main.go", Line: 3, Name: "main.main", Package: "main", State: covdata.Startup},
		{File: "example.com/pets/main.go", Line: 7, Name: "main.serve", Package: "main", State: covdata.Startup},
		{File: "example.com/pets/main.go", Line: 9, Name: "main.handleList", Package: "main", State: covdata.Requests, FirstHit: time.Second, Operation: "GET /pets"},
		{File: "example.com/pets/main.go", Line: 11, Name: "main.compactStore", Package: "main", State: covdata.Never},
		{File: "/usr/lib/go/src/log/log.go", Line: 200, Name: "main.run.(*Logger).Printf.func1", Package: "main", State: covdata.Requests},
		{Name: "strlen", Package: "/usr/bin/pets", State: covdata.Requests},
		{File: "/srv/app/views.py", Line: 1, Name: "<module>", Package: "/srv/app", State: covdata.Startup, LinesHit: []int{1, 3, 9}},
		{File: "/srv/app/views.py", Line: 3, Name: "list_pets", Package: "/srv/app", State: covdata.Requests, Operation: "GET /pets", LinesHit: []int{4, 5, 7}, LinesMissed: []int{6}},
		{File: "/srv/app/views.py", Line: 9, Name: "purge_tombstones", Package: "/srv/app", State: covdata.Never},
	}}
	c.Sort()
	c.Summarize()
	return c
}

// PathMap maps the sample's recorded paths into root.
func PathMap(t *testing.T, root string) *covdata.PathMap {
	t.Helper()
	m, err := covdata.ParsePathMap([]string{"example.com/pets=" + root, "/srv=" + root})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// WriteSources writes Sources under a new directory and returns it.
func WriteSources(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, src := range Sources {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// Genhtml runs Debian's genhtml on the lcov file info (skipping the test,
// loudly, where lcov is not installed) and returns what its HTML says of
// each function: its hit count by name, from the per-file function pages.
// genhtml must exit 0 and print no warning or error.
func Genhtml(t *testing.T, info string) map[string]int {
	t.Helper()
	bin, err := exec.LookPath("genhtml")
	if err != nil {
		t.Skip("SKIPPED: genhtml not installed (Debian package lcov; the machine set-up installs it)")
	}
	out := t.TempDir()
	cmd := exec.Command(bin, "-o", out, "-q", info) // function coverage is genhtml 1.16's default
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("genhtml %s: %v\n%s", info, err, b)
	}
	if s := strings.ToLower(string(b)); strings.Contains(s, "warning") || strings.Contains(s, "error") {
		t.Fatalf("genhtml %s complained:\n%s", info, b)
	}
	funcs := map[string]int{}
	err = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".func.html") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range funcRow.FindAllStringSubmatch(string(data), -1) {
			n, _ := strconv.Atoi(m[2])
			funcs[html.UnescapeString(m[1])] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(funcs) == 0 {
		t.Fatalf("genhtml wrote no function rows in %s", out)
	}
	return funcs
}

// funcRow is a row of genhtml's function table: the name (a link to its
// line), then its hit count.
var funcRow = regexp.MustCompile(`<td class="coverFn"><a href="[^"]*">([^<]*)</a></td>\s*<td class="coverFn(?:Lo|Hi)">(\d+)</td>`)
