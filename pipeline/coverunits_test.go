package pipeline

import (
	"reflect"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/report/covdata"
	"github.com/whittle-dev/whittle/tracer/cover"
)

func byName(c *covdata.Coverage) map[string]covdata.Function {
	out := map[string]covdata.Function{}
	for _, f := range c.Functions {
		out[f.Name] = f
	}
	return out
}

// Native functions: in scope, hit at start-up, by a request (with its
// operation), during a later container's start (told by time when the
// record did not tell its container), or never.
func TestCoverageByFunctionNative(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	scope := []cover.Function{
		{Name: "main.main", Package: "main", File: "example.com/x/main.go", Line: 10},
		{Name: "main.loadConfig", Package: "main", File: "example.com/x/config.go", Line: 5},
		{Name: "main.handleList", Package: "main", File: "example.com/x/h.go", Line: 20},
		{Name: "main.compactStore", Package: "main", File: "example.com/x/store.go", Line: 99},
		{Name: "example.com/x/db.Open", Package: "example.com/x/db", File: "example.com/x/db/db.go", Line: 3},
		{Name: "main.export", Package: "main", File: "example.com/x/export.go", Line: 7},
	}
	hits := []cover.FirstHit{
		{Function: scope[4], At: t0.Add(time.Second), Startup: true, Background: true},
		{Function: scope[2], At: t0.Add(5 * time.Second)},
		{Function: scope[0], At: t0.Add(30 * time.Second)},
		{Function: scope[1], At: t0.Add(40 * time.Second)},
		// a record of the running container, stamped, while the spare started
		{Function: scope[5], At: t0.Add(30 * time.Second), Thread: 42, Mono: 30e9},
	}
	firstBy := map[string]string{"main.handleList": "GET /pets"}
	restart := func(at time.Time) bool { return at.Equal(t0.Add(30 * time.Second)) }
	c := coverageByFunction(cover.Stats{Kind: cover.NativeFunctions, Binary: "/usr/bin/x"}, scope, hits, firstBy, t0, restart)
	fns := byName(c)
	for name, want := range map[string]struct {
		state covdata.State
		op    string
	}{
		"example.com/x/db.Open": {covdata.Startup, ""},
		"main.handleList":       {covdata.Requests, "GET /pets"},
		"main.main":             {covdata.Startup, ""},  // seen only in a restarted container
		"main.loadConfig":       {covdata.Requests, ""}, // nobody's request, outside any start
		"main.compactStore":     {covdata.Never, ""},
		"main.export":           {covdata.Requests, ""}, // its record told its container: not the starting one
	} {
		f := fns[name]
		if f.State != want.state || f.Operation != want.op {
			t.Errorf("%s: %s by %q, want %s by %q", name, f.State, f.Operation, want.state, want.op)
		}
	}
	if f := fns["main.handleList"]; f.FirstHit != 5*time.Second || f.File != "example.com/x/h.go" || f.Line != 20 {
		t.Errorf("handleList: %+v", f)
	}
	if got := c.Operations(); len(got) != 1 || got[0].Operation != "GET /pets" || got[0].Functions != 1 {
		t.Errorf("operations: %+v", got)
	}
	want := []covdata.PackageSummary{
		{Package: "example.com/x/db", Functions: 1, Hit: 1, AtStartup: 1},
		{Package: "main", Functions: 5, Hit: 4, AtStartup: 1, ByRequests: 3},
	}
	if !reflect.DeepEqual(c.Packages, want) {
		t.Errorf("packages %+v, want %+v", c.Packages, want)
	}
}

// Python lines belong to the function of their name that starts last
// before them: two methods named get in one file are told apart;
// comprehension lines go to the function around them.
func TestCoverageByFunctionPython(t *testing.T) {
	t0 := time.Now()
	const file = "/app/pets/store.py"
	scope := []cover.Function{
		{Name: "<module>", Package: file, File: file, Line: 1},
		{Name: "Cats", Package: file, File: file, Line: 3},
		{Name: "get", Package: file, File: file, Line: 4},
		{Name: "Dogs", Package: file, File: file, Line: 10},
		{Name: "get", Package: file, File: file, Line: 11},
		{Name: "purge", Package: file, File: file, Line: 20},
	}
	line := func(name string, l int) cover.FirstHit {
		return cover.FirstHit{Function: cover.Function{Name: name, Package: file, File: file, Line: l, Level: cover.LevelLine}, At: t0}
	}
	hits := []cover.FirstHit{line("<module>", 1), line("get", 12), line("get", 13), line("<listcomp>", 14)}
	hits[0].Startup, hits[0].Background = true, true
	firstBy := map[string]string{hits[1].Unit(): "GET /dogs/{id}"}
	c := coverageByFunction(cover.Stats{Kind: cover.PythonLines}, scope, hits, firstBy, t0, nil)
	var dogsGet, catsGet covdata.Function
	for _, f := range c.Functions {
		if f.Name == "get" && f.Line == 11 {
			dogsGet = f
		}
		if f.Name == "get" && f.Line == 4 {
			catsGet = f
		}
	}
	if dogsGet.State != covdata.Requests || dogsGet.Operation != "GET /dogs/{id}" || !reflect.DeepEqual(dogsGet.LinesHit, []int{12, 13, 14}) {
		t.Errorf("Dogs.get: %+v", dogsGet)
	}
	if catsGet.State != covdata.Never {
		t.Errorf("Cats.get: %+v", catsGet)
	}
	if f := byName(c)["purge"]; f.State != covdata.Never || f.Package != "/app/pets" {
		t.Errorf("purge: %+v", f)
	}
	if len(c.Functions) != len(scope) {
		t.Errorf("%d functions, want the %d of the scope (the comprehension is not one)", len(c.Functions), len(scope))
	}
}

// V8 functions and blocks paint lines: an unhit block's inner lines are
// missed, a nested never-called function's lines are its own and missed.
func TestCoverageByFunctionV8(t *testing.T) {
	t0 := time.Now()
	const file = "/srv/app/lib.js"
	fn := func(name string, start, end, line, endLine int, level cover.Level) cover.Function {
		return cover.Function{Name: name, File: file, Start: start, End: end, Line: line, EndLine: endLine, Level: level}
	}
	module := fn("", 0, 1000, 1, 30, cover.LevelFunction)
	handler := fn("handler", 10, 300, 2, 10, cover.LevelFunction)
	never := fn("neverCalled", 400, 500, 12, 15, cover.LevelFunction)
	unhitBlock := fn("handler", 100, 200, 4, 7, cover.LevelBlock)
	scope := []cover.Function{module, handler, never, unhitBlock}
	hits := []cover.FirstHit{
		{Function: module, At: t0, Startup: true, Background: true},
		{Function: handler, At: t0.Add(time.Second)},
	}
	firstBy := map[string]string{handler.Unit(): "GET /orders"}
	c := coverageByFunction(cover.Stats{Kind: "v8-blocks"}, scope, hits, firstBy, t0, nil)
	fns := byName(c)
	h := fns["handler"]
	if h.State != covdata.Requests || h.Operation != "GET /orders" {
		t.Errorf("handler: %+v", h)
	}
	if !reflect.DeepEqual(h.LinesMissed, []int{5, 6}) || !reflect.DeepEqual(h.LinesHit, []int{2, 3, 4, 7, 8, 9, 10}) {
		t.Errorf("handler lines: hit %v, missed %v", h.LinesHit, h.LinesMissed)
	}
	n := fns["neverCalled"]
	if n.State != covdata.Never || !reflect.DeepEqual(n.LinesMissed, []int{12, 13, 14, 15}) || len(n.LinesHit) != 0 {
		t.Errorf("neverCalled: %+v", n)
	}
	if m := fns[""]; m.State != covdata.Startup || m.Package != "/srv/app" {
		t.Errorf("module: %+v", m)
	}
}
