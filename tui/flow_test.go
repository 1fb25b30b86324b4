package tui

import (
	"bytes"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/whittle-dev/whittle/event"
)

// fakeRun plays a pipeline against the real program: events on a real bus,
// counters in a snapshot, controls that act on both.
type fakeRun struct {
	bus      *event.Bus
	progress *fakeProgress
	controls *fakeControls
	outcome  chan Outcome
	stopped  atomic.Int32
}

func newFakeRun() *fakeRun {
	r := &fakeRun{bus: event.NewBus(), progress: &fakeProgress{}, controls: &fakeControls{}, outcome: make(chan Outcome, 1)}
	r.progress.p = event.Progress{Image: "whittle-fixture/gopets:latest", Seed: 7, Phase: event.PhaseInspect}
	r.controls.onBuild = func() { go r.buildAndVerify() }
	return r
}

func (r *fakeRun) model() *Model {
	return New(Config{
		Events:   r.bus,
		Progress: r.progress.Get,
		Controls: r.controls,
		Stop: func() {
			r.stopped.Add(1)
			go func() { r.outcome <- Outcome{Err: errInterrupted} }()
		},
		Outcome:  r.outcome,
		Renderer: asciiRenderer(),
		Interval: 20 * time.Millisecond,
	})
}

func (r *fakeRun) startFuzzing() {
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseInspect, Detail: "whittle-fixture/gopets:latest"})
	r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: event.PhaseInspect})
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseStart, Detail: "starting"})
	r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: event.PhaseStart})
	r.progress.update(func(p *event.Progress) {
		p.Phase = event.PhaseFuzz
		p.TargetURL = "http://127.0.0.1:40001"
		p.Requests = 500
		p.Operations = []event.OperationProgress{{Operation: "GET /pets", Requests: 300, Status2xx: 300}, {Operation: "POST /pets", Requests: 200, Status4xx: 200}}
	})
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseFuzz, Detail: "2 operations, seed 7"})
}

func (r *fakeRun) buildAndVerify() {
	r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: event.PhaseFuzz, Detail: "500 requests"})
	r.progress.update(func(p *event.Progress) { p.Phase = event.PhaseBuild })
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseBuild, Detail: "minimal image"})
	for i := int64(0); i <= 9; i++ {
		r.bus.Publish(event.Step{Stamp: event.Now(), Phase: event.PhaseBuild, Name: "writing layer", Done: i, Total: 9})
	}
	r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: event.PhaseBuild, Detail: "built"})
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseVerify, Detail: "replaying"})
	r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: event.PhaseVerify, Detail: "1234/1234 identical"})
	r.progress.update(func(p *event.Progress) { p.Phase = event.PhaseDone })
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseDone, Detail: "ok"})
	r.outcome <- Outcome{Report: sampleReport(false)}
}

func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// TestFlowPauseResumeBuildResults drives the real program: the run starts,
// the user pauses, resumes, asks to build now, reads the results and quits.
func TestFlowPauseResumeBuildResults(t *testing.T) {
	r := newFakeRun()
	defer r.bus.Close()
	tm := teatest.NewTestModel(t, r.model(), teatest.WithInitialTermSize(80, 24))
	r.startFuzzing()
	waitScreen(t, tm, "fuzz", "GET /pets", "127.0.0.1:40001")

	tm.Send(keyMsg("p"))
	waitScreen(t, tm, "PAUSED")
	tm.Send(keyMsg("p"))
	waitScreen(t, tm, "fuzzing resumed")
	tm.Send(keyMsg("b"))
	waitScreen(t, tm, "26.5× smaller", "identical", "files 9")
	tm.Send(keyMsg("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	m := tm.FinalModel(t).(*Model)
	o, done := m.Outcome()
	if !done || o.Err != nil || o.Report == nil {
		t.Fatalf("outcome %+v, finished %v", o, done)
	}
	if want := []string{"pause true", "pause false", "build"}; !reflect.DeepEqual(r.controls.Calls(), want) {
		t.Fatalf("controls calls %q, want %q", r.controls.Calls(), want)
	}
	if r.stopped.Load() != 0 {
		t.Fatal("the run was stopped although it had finished")
	}
}

// TestFlowQuitStopsAndWaits: quitting during the run asks, stops the run,
// and the program ends only when the run has returned.
func TestFlowQuitStopsAndWaits(t *testing.T) {
	r := newFakeRun()
	defer r.bus.Close()
	tm := teatest.NewTestModel(t, r.model(), teatest.WithInitialTermSize(80, 24))
	r.startFuzzing()
	waitScreen(t, tm, "GET /pets")
	tm.Send(keyMsg("q"))
	waitScreen(t, tm, "Stop the run and quit?")
	tm.Send(keyMsg("y"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	if r.stopped.Load() != 1 {
		t.Fatalf("Stop called %d times", r.stopped.Load())
	}
	if o, done := tm.FinalModel(t).(*Model).Outcome(); !done || o.Err == nil {
		t.Fatalf("the program ended before the run returned: %+v", o)
	}
}

// TestFlowFloodOfEvents publishes tens of thousands of events as fast as
// possible (far above 1000/s) while the user presses keys: the publisher
// never waits, keys are still handled, and every event is consumed.
func TestFlowFloodOfEvents(t *testing.T) {
	r := newFakeRun()
	defer r.bus.Close()
	tm := teatest.NewTestModel(t, r.model(), teatest.WithInitialTermSize(80, 24))
	r.startFuzzing()
	waitScreen(t, tm, "GET /pets")

	const n = 30000
	published := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		for i := 0; i < n; i++ {
			switch i % 3 {
			case 0:
				r.bus.Publish(event.Log{Stamp: event.Now(), Msg: fmt.Sprintf("line %d", i)})
			case 1:
				r.bus.Publish(event.NewCoverage{Stamp: event.Now(), Operation: "GET /pets", What: "1 function"})
			default:
				r.progress.update(func(p *event.Progress) { p.Requests++ })
			}
		}
		r.bus.Publish(event.Log{Stamp: event.Now(), Msg: "flood over"})
		published <- time.Since(start)
	}()
	tm.Send(keyMsg("?"))
	waitScreen(t, tm, "previous pane")
	tm.Send(keyMsg("?"))
	d := <-published
	t.Logf("published %d events in %s (%.0f/s)", n, d, float64(n)/d.Seconds())
	waitScreen(t, tm, "flood over")

	tm.Send(keyMsg("q"))
	tm.Send(keyMsg("y"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	m := tm.FinalModel(t).(*Model)
	if got := m.logs.lines[len(m.logs.lines)-1].msg; got != "flood over" {
		t.Fatalf("last log line %q", got)
	}
	if len(m.logs.lines) > logLimit {
		t.Fatalf("log kept %d lines, limit %d", len(m.logs.lines), logLimit)
	}
}
