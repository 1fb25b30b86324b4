package pipeline

import (
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/cover"
)

// Start-up against requests, by unit and by function: a Python line counts
// for its function (lambdas and comprehensions for none), a V8 block for
// none; a timer's background hit for neither side.
func TestSummarizeCoverage(t *testing.T) {
	at := time.Unix(1, 0)
	line := func(file, fn string, n int) cover.Function {
		return cover.Function{Name: fn, Package: file, File: file, Line: n, Level: cover.LevelLine}
	}
	hits := []cover.FirstHit{
		{Function: line("/app/a.py", "<module>", 1), At: at, Startup: true, Background: true},
		{Function: line("/app/a.py", "get", 5), At: at},
		{Function: line("/app/a.py", "get", 6), At: at},
		{Function: line("/app/a.py", "<lambda>", 9), At: at},
		{Function: line("/app/a.py", "tick", 12), At: at, Background: true},
		{Function: cover.Function{Name: "h", File: "/srv/a.js", Start: 1, End: 50}, At: at},
		{Function: cover.Function{Name: "h", File: "/srv/a.js", Start: 10, End: 20, Level: cover.LevelBlock}, At: at},
	}
	cc := summarizeCoverage(cover.Stats{Kind: "mixed", Mechanism: "m", Total: 9}, hits)
	if cc.Units != 7 || cc.UnitsAtStartup != 1 || cc.UnitsByRequests != 5 {
		t.Errorf("units %d, start-up %d, requests %d", cc.Units, cc.UnitsAtStartup, cc.UnitsByRequests)
	}
	if cc.Functions != 4 || cc.FunctionsAtStartup != 1 || cc.FunctionsByRequests != 2 || cc.FunctionsTotal != 9 {
		t.Errorf("functions %d (start-up %d, requests %d) of %d: want <module>, get, tick, h", cc.Functions, cc.FunctionsAtStartup, cc.FunctionsByRequests, cc.FunctionsTotal)
	}
}
