package tui

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/event"
)

func wantCalls(t *testing.T, hs *harness, want ...string) {
	t.Helper()
	got := hs.controls.Calls()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("controls calls = %q, want %q", got, want)
	}
}

func TestKeyPauseResume(t *testing.T) {
	hs := newHarness(80, 24)
	hs.keys("p")
	wantCalls(t, hs) // nothing to pause before fuzzing
	hs.fuzzing()
	hs.keys("p")
	wantCalls(t, hs, "pause true")
	if !hs.m.paused {
		t.Fatal("not paused after p")
	}
	hs.screenHas(t, "PAUSED", "p resume")
	hs.keys("p")
	wantCalls(t, hs, "pause true", "pause false")
	if hs.m.paused {
		t.Fatal("still paused after a second p")
	}
	hs.screenHas(t, "fuzzing resumed", "p pause")
}

func TestKeyBuildNow(t *testing.T) {
	hs := newHarness(80, 24)
	hs.keys("b")
	wantCalls(t, hs)
	hs.fuzzing()
	hs.keys("b")
	wantCalls(t, hs, "build")
	hs.keys("b", "p")
	wantCalls(t, hs, "build") // once asked, no more build or pause
	if strings.Contains(hs.view(), "b build now") {
		t.Errorf("help still offers build now:\n%s", hs.view())
	}
}

func TestKeySkipSelectedOperation(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	hs.keys("home") // the first operation by requests: GET /pets
	hs.keys("s")
	wantCalls(t, hs, "skip GET /pets")
	hs.screenHas(t, "GET /pets ⊘", "skipping GET /pets")
	hs.keys("tab", "s") // findings focused: s does nothing
	wantCalls(t, hs, "skip GET /pets")
}

func TestKeysNeedControls(t *testing.T) {
	hs := newHarness(80, 24)
	hs.m.cfg.Controls = nil
	hs.fuzzing()
	hs.keys("p", "b", "s") // must not panic
	if v := hs.view(); strings.Contains(v, "p pause") || strings.Contains(v, "b build") {
		t.Errorf("help offers controls the run lacks:\n%s", v)
	}
}

func TestKeyTabCyclesPanes(t *testing.T) {
	hs := newHarness(80, 24)
	want := []Pane{hs.m.ops, hs.m.findings, hs.m.logs, hs.m.ops}
	for i, p := range want {
		if hs.m.focused() != p {
			t.Fatalf("step %d: focus on %T, want %T", i, hs.m.focused(), p)
		}
		hs.keys("tab")
	}
	hs.keys("shift+tab")
	if hs.m.focused() != hs.m.ops {
		t.Fatalf("shift+tab: focus on %T, want the operations", hs.m.focused())
	}
}

func TestKeyEnterOpensDetailsEscCloses(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	hs.keys("tab", "enter")
	if hs.m.detail == nil {
		t.Fatal("enter on a finding opened nothing")
	}
	hs.screenHas(t, "finding F1", "curl -X POST", "name too long", "request", "answer")
	hs.keys("down", "pgdown", "end", "up", "pgup", "home") // scroll, stay open
	if hs.m.detail == nil {
		t.Fatal("navigation closed the detail")
	}
	hs.keys("esc")
	if hs.m.detail != nil {
		t.Fatal("esc did not close the detail")
	}
	hs.keys("tab", "enter") // log line
	hs.screenHas(t, "log · ")
	hs.keys("esc", "tab", "enter") // operation
	hs.screenHas(t, "requests", "new coverage")
}

func TestKeyHelpToggles(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	hs.keys("?")
	hs.screenHas(t, "keys", "previous pane", "collapse")
	hs.keys("?")
	if hs.m.showHelp {
		t.Fatal("? did not close the help")
	}
	hs.keys("?", "esc")
	if hs.m.showHelp {
		t.Fatal("esc did not close the help")
	}
}

func TestKeyFilter(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	hs.keys("/", "p", "h", "o", "t", "o", "q") // q types, it does not quit
	if hs.m.confirming || hs.quit {
		t.Fatal("q quit while typing a filter")
	}
	if got := hs.m.ops.filter; got != "photoq" {
		t.Fatalf("filter = %q", got)
	}
	hs.keys("backspace", "enter")
	if hs.m.filtering || hs.m.ops.filter != "photo" || len(hs.m.ops.view) != 1 {
		t.Fatalf("after enter: filtering=%v filter=%q rows=%d", hs.m.filtering, hs.m.ops.filter, len(hs.m.ops.view))
	}
	hs.keys("esc") // esc outside the input clears the focused pane's filter
	if hs.m.ops.filter != "" {
		t.Fatalf("esc left the filter %q", hs.m.ops.filter)
	}
	hs.keys("tab", "tab", "/", "c", "o", "r", "p", "u", "s")
	if len(hs.m.logs.view) != 1 {
		t.Fatalf("log filter kept %d lines", len(hs.m.logs.view))
	}
	hs.keys("esc")
	if hs.m.filtering || hs.m.logs.filter != "" {
		t.Fatal("esc in the input did not clear the filter")
	}
	hs.keys("/", "ctrl+u", "ctrl+c")
	if !hs.m.confirming {
		t.Fatal("ctrl+c in the filter input did not ask to quit")
	}
}

func TestKeySortCycles(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	first := func() string { return hs.m.ops.view[0].Operation }
	if first() != "GET /pets" {
		t.Fatalf("by requests: first %q", first())
	}
	hs.keys("o")
	if hs.m.ops.sortBy != sortBy5xx || first() != "POST /pets" {
		t.Fatalf("by 5xx: first %q", first())
	}
	hs.keys("o")
	if hs.m.ops.sortBy != sortByCoverage || first() != "GET /pets" {
		t.Fatalf("by coverage: first %q", first())
	}
	hs.keys("o")
	if hs.m.ops.sortBy != sortByName || first() != "DELETE /pets/{petId}" {
		t.Fatalf("by name: first %q", first())
	}
}

func TestKeyNavigation(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	c := &hs.m.ops.cur
	for _, step := range []struct {
		key  string
		want int
	}{{"home", 0}, {"down", 1}, {"j", 2}, {"up", 1}, {"k", 0}, {"up", 0}, {"end", 6}, {"G", 6}, {"g", 0}, {"pgdown", 7 - 1}, {"pgup", 0}} {
		hs.keys(step.key)
		if c.cursor != step.want {
			t.Fatalf("after %s: cursor %d, want %d", step.key, c.cursor, step.want)
		}
	}
}

func TestKeyQuitConfirmsWhileActive(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	hs.keys("q")
	if !hs.m.confirming || hs.quit {
		t.Fatal("q did not ask to confirm")
	}
	hs.screenHas(t, "Stop the run and quit?")
	hs.keys("n")
	if hs.m.confirming || hs.stopped != 0 {
		t.Fatal("n did not go on")
	}
	hs.keys("ctrl+c", "esc")
	if hs.m.confirming {
		t.Fatal("esc did not go on")
	}
	hs.keys("q", "y")
	if hs.stopped != 1 || !hs.m.stopping || hs.quit {
		t.Fatalf("y: stopped=%d stopping=%v quit=%v", hs.stopped, hs.m.stopping, hs.quit)
	}
	hs.screenHas(t, "stopping: waiting for the run to clean up")
	hs.keys("q", "p", "tab") // ignored while stopping
	wantCalls(t, hs)
	hs.send(outcomeMsg{Err: errInterrupted})
	if !hs.quit {
		t.Fatal("the program did not quit once the run returned")
	}
}

func TestKeyCtrlCTwiceStops(t *testing.T) {
	hs := newHarness(80, 24)
	hs.keys("ctrl+c", "ctrl+c")
	if hs.stopped != 1 {
		t.Fatal("a second ctrl+c did not stop the run")
	}
}

func TestKeyQuitAfterTheRunQuitsAtOnce(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	hs.finished(false)
	hs.keys("q")
	if !hs.quit || hs.m.confirming || hs.stopped != 0 {
		t.Fatalf("quit=%v confirming=%v stopped=%d", hs.quit, hs.m.confirming, hs.stopped)
	}
}

func TestResultsTreeKeys(t *testing.T) {
	hs := newHarness(80, 24)
	hs.finished(false)
	tr := hs.m.tree
	if hs.m.focused() != tr {
		t.Fatal("results do not open on the file tree")
	}
	rows := len(tr.rows)
	hs.keys("home", "enter") // etc/ collapses
	if len(tr.rows) != rows-5 {
		t.Fatalf("collapsing etc/: %d rows, want %d", len(tr.rows), rows-5)
	}
	hs.keys("right")
	if len(tr.rows) != rows {
		t.Fatalf("right did not expand etc/: %d rows", len(tr.rows))
	}
	hs.keys("left")
	if len(tr.rows) != rows-5 {
		t.Fatal("left did not collapse etc/")
	}
	hs.keys("l", "down", "left") // on a file: left goes to the parent
	if tr.selected().path != "/etc" {
		t.Fatalf("left on a file selected %q", tr.selected().path)
	}
	hs.keys("/", "l", "i", "b", "c", "enter")
	var paths []string
	for _, n := range tr.rows {
		paths = append(paths, n.path)
	}
	if want := []string{"/lib", "/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu/libc.so.6"}; !reflect.DeepEqual(paths, want) {
		t.Fatalf("filter libc: %q", paths)
	}
	hs.keys("end", "enter")
	hs.screenHas(t, "ELF dependency of /usr/bin/gopets", "traced: open")
}

func TestResultsPanesCycle(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	hs.finished(true)
	for _, want := range []string{"files 9", "divergences 2", "findings 3", "operations 7", "log", "coverage"} {
		if !strings.Contains(titleOf(hs.m.focused()), strings.Fields(want)[0]) {
			t.Fatalf("focus on %q, want %q", titleOf(hs.m.focused()), want)
		}
		hs.keys("tab")
	}
	hs.keys("tab", "enter")
	hs.screenHas(t, "original answered", "minimal answered")
	hs.keys("end")
	hs.screenHas(t, "open /usr/share/mime/types")
}

func TestEventsAfterTheOutcomeAddNoDivergence(t *testing.T) {
	hs := newHarness(80, 24)
	hs.finished(true)
	// The pump may deliver the last batch after the outcome.
	hs.events(event.Divergence{Stamp: event.Now(), Operation: "GET /health", Request: "GET /health"})
	if n := hs.m.divs.Len(); n != 2 {
		t.Fatalf("%d divergences, want the report's 2", n)
	}
}

func TestPhasesFollowEvents(t *testing.T) {
	hs := newHarness(80, 24)
	hs.fuzzing()
	pt := hs.m.phases
	for p, want := range map[event.Phase]phaseState{
		event.PhaseInspect: phaseDone, event.PhaseStart: phaseDone, event.PhaseTrace: phaseSkipped,
		event.PhaseFuzz: phaseRunning, event.PhaseBuild: phasePending,
	} {
		if pt.state[p] != want {
			t.Errorf("%s: state %d, want %d", p, pt.state[p], want)
		}
	}
	hs.events(event.PhaseFinished{Stamp: event.Now(), Phase: event.PhaseFuzz, Err: errInterrupted})
	hs.screenHas(t, "✗ fuzz", "interrupted")
}

// Restarts after the first for a reason are not logged; the status bar
// counts them while fuzzing.
func TestStatusBarCountsRestarts(t *testing.T) {
	hs := newHarness(100, 30)
	hs.fuzzing()
	if strings.Contains(hs.view(), "restarts") {
		t.Fatal("restarts shown before any")
	}
	hs.progress.update(func(p *event.Progress) { p.Restarts = 12 })
	hs.at(hs.clock.Now().Sub(base) + time.Second)
	hs.screenHas(t, "restarts 12")
}
