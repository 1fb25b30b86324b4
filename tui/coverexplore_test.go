package tui

import (
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/report"
)

// The coverage view opens a package into its functions, never-hit first,
// goes back with esc, finds a function across packages with /, and says
// why when the run measured no code.
func TestCoverageExplorer(t *testing.T) {
	hs := newHarness(120, 40)
	hs.fuzzing()
	hs.building()
	hs.finished(false)
	hs.keys("shift+tab")
	if hs.m.focused() != Pane(hs.m.cover) {
		t.Fatalf("focus on %q, want the coverage view", titleOf(hs.m.focused()))
	}
	// Least covered package first.
	if got := hs.m.cover.pkgs[0].Package; got != "github.com/whittle-dev/gopets/internal/adopt" {
		t.Errorf("first package %s, want the least covered", got)
	}
	hs.keys("down", "enter")
	if hs.m.cover.open != "main" {
		t.Fatalf("opened %q, want main", hs.m.cover.open)
	}
	var states []string
	for _, f := range hs.m.cover.fns {
		states = append(states, string(f.State))
	}
	if got := strings.Join(states, " "); got != "never startup startup requests requests requests" {
		t.Errorf("function order by state: %s", got)
	}
	hs.screenHas(t, "compactStore", "✗ never", "✓ POST /pets", "● start-up")
	hs.keys("o") // by file and line instead
	if f := hs.m.cover.fns[0]; f.Name != "main.loadConfig" {
		t.Errorf("sorted by file: first %s", f.Name)
	}
	hs.keys("esc")
	if hs.m.cover.open != "" || hs.m.cover.cur.cursor != 1 {
		t.Errorf("esc: open %q, cursor %d; want the package list at main", hs.m.cover.open, hs.m.cover.cur.cursor)
	}
	hs.keys("/", "f", "o", "s", "t", "e", "r", "enter")
	if n := len(hs.m.cover.fns); n != 2 {
		t.Errorf("/foster finds %d functions, want 2", n)
	}
	hs.keys("enter")
	hs.screenHas(t, "never hit during the run", "foster.go:29")

	bare := newHarness(120, 40)
	bare.fuzzing()
	rep := sampleReport(false)
	rep.Trace.CodeCoverage = &report.CodeCoverage{Why: "the Python interpreter has no USDT probes"}
	bare.send(outcomeMsg{Report: rep})
	bare.keys("shift+tab")
	bare.screenHas(t, "no code coverage: the Python interpreter has no USDT probes", "coverage –")
}
