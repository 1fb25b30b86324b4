package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tui"
)

// screen is the program's output, read while it is written.
type screen struct{ lockedBuffer }

func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.String(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the screen never showed %q; output:\n%q", want, s.String())
}

type interactiveResult struct {
	rep *report.Report
	err error
}

// start runs r in the background; keys are typed into the returned writer.
func start(t *testing.T, ctx context.Context, r *interactiveRun) (*io.PipeWriter, *screen, <-chan interactiveResult) {
	t.Helper()
	in, keys := io.Pipe()
	out := &screen{}
	r.in, r.out, r.noColor = in, out, true
	res := make(chan interactiveResult, 1)
	go func() {
		rep, err := r.run(ctx)
		res <- interactiveResult{rep, err}
	}()
	t.Cleanup(func() { keys.Close() })
	return keys, out, res
}

func typeKeys(t *testing.T, w io.Writer, s string) {
	t.Helper()
	go func() { _, _ = io.WriteString(w, s) }()
}

func wait(t *testing.T, res <-chan interactiveResult) interactiveResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("runInteractive did not return")
		return interactiveResult{}
	}
}

func TestInteractiveShowsResultsUntilQuit(t *testing.T) {
	bus := event.NewBus()
	rep := &report.Report{Original: report.ImageInfo{Ref: "shop:1", Size: 100e6},
		Minimal: &report.ImageInfo{Ref: "shop:1-whittled", Size: 10e6}, Ratio: 10,
		Verification: &report.Verification{Result: "identical", Total: 3, Identical: 3}}
	var afterRun *report.Report
	r := &interactiveRun{
		bus: bus,
		execute: func(ctx context.Context) (*report.Report, error) {
			bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseInspect, Detail: "shop:1"})
			return rep, nil
		},
		progress: func() event.Progress { return event.Progress{Image: "shop:1", Phase: event.PhaseDone} },
		afterRun: func(r *report.Report, err error) error {
			afterRun = r
			r.Outputs = append(r.Outputs, "json=out.json")
			return nil
		},
	}
	keys, out, res := start(t, context.Background(), r)
	out.waitFor(t, "10.0× smaller")
	out.waitFor(t, "json=out.json")
	typeKeys(t, keys, "q")
	got := wait(t, res)
	if got.err != nil || got.rep != rep || afterRun != rep {
		t.Fatalf("got %+v, after-run saw %p", got, afterRun)
	}
}

func TestInteractiveQuitStopsTheRunAndWaitsForCleanup(t *testing.T) {
	bus := event.NewBus()
	var cleaned bool
	r := &interactiveRun{
		bus: bus,
		execute: func(ctx context.Context) (*report.Report, error) {
			bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseFuzz, Detail: "fuzzing"})
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // removing containers
			cleaned = true
			return &report.Report{}, errors.Join(pipeline.ErrInterrupted, ctx.Err())
		},
		progress: func() event.Progress { return event.Progress{Image: "shop:1", Phase: event.PhaseFuzz} },
	}
	keys, out, res := start(t, context.Background(), r)
	out.waitFor(t, "fuzzing")
	typeKeys(t, keys, "q")
	out.waitFor(t, "Stop the run and quit?")
	typeKeys(t, keys, "y")
	got := wait(t, res)
	if !cleaned {
		t.Fatal("runInteractive returned before Execute had cleaned up")
	}
	if !errors.Is(got.err, pipeline.ErrInterrupted) || exitCode(got.err) != exitInterrupted {
		t.Fatalf("err %v, exit code %d", got.err, exitCode(got.err))
	}
}

func TestInteractiveEndsWithItsContext(t *testing.T) {
	bus := event.NewBus()
	ctx, cancel := context.WithCancel(context.Background())
	r := &interactiveRun{
		bus: bus,
		execute: func(ctx context.Context) (*report.Report, error) {
			bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseFuzz, Detail: "fuzzing"})
			<-ctx.Done()
			return &report.Report{}, errors.Join(pipeline.ErrInterrupted, ctx.Err())
		},
		progress: func() event.Progress { return event.Progress{Phase: event.PhaseFuzz} },
	}
	_, out, res := start(t, ctx, r)
	out.waitFor(t, "fuzzing")
	cancel() // SIGINT/SIGTERM in main
	if got := wait(t, res); !errors.Is(got.err, pipeline.ErrInterrupted) {
		t.Fatalf("err %v", got.err)
	}
}

// TestInteractiveWithThePipeline wires the real pipeline: a spec that does
// not exist fails the run at once, before any container, and the results
// view shows the error until the user quits.
func TestInteractiveWithThePipeline(t *testing.T) {
	bus := event.NewBus()
	p := pipeline.New(pipeline.Config{Image: "shop:1", Spec: t.TempDir() + "/missing.yaml"}, bus)
	in, keys := io.Pipe()
	defer keys.Close()
	out := &screen{}
	res := make(chan interactiveResult, 1)
	go func() {
		rep, err := runInteractive(context.Background(), p, bus, in, out)
		res <- interactiveResult{rep, err}
	}()
	out.waitFor(t, "missing.yaml")
	typeKeys(t, keys, "q")
	got := wait(t, res)
	if got.err == nil || got.rep == nil {
		t.Fatalf("got %+v", got)
	}
}

// The TUI's p, b and s keys drive the pipeline through these methods.
var _ tui.Controls = (*pipeline.Run)(nil)

func TestPipelineControls(t *testing.T) {
	if controlsOf(&pipeline.Run{}) == nil {
		t.Fatal("*pipeline.Run lost its Pause(bool)/BuildNow()/Skip(string): the TUI would offer no p, b or s keys")
	}
}
