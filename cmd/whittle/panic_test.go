package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/report"
)

var stackFileRe = regexp.MustCompile(`\(stack in (\S+whittle-panic-\S+\.txt); please report it\)$`)

// A panic in any goroutine whittle starts ends the run with exit code 1 and
// one error line naming it and the file holding its stack, after the same
// cleanup as an interrupt: containers removed, BPF objects closed, corpus
// intact.
func TestPanicsEndTheRunCleanly(t *testing.T) {
	cli := requireGopets(t)
	tag := testTag(t, cli, "panic")
	points := []struct {
		point faults.Point
		// whenUp: panic only once the target runs (points reached many
		// times); otherwise at the first call.
		whenUp bool
		where  string // what the error names; the point's name when empty
	}{
		{faults.RingReader, false, ""},      // tracer goroutine, as the tracer starts
		{faults.ImageExport, false, ""},     // pipeline goroutine, during inspection
		{faults.ContainerWatch, false, ""},  // probe goroutine, as the first container starts
		{faults.TimelineSampler, false, ""}, // pipeline goroutine, as fuzzing starts
		{faults.EventForwarder, true, ""},   // pipeline goroutine, mid-fuzz
		{faults.Feedback, true, "pipeline"}, // Execute's own goroutine, in the fuzzing loop
		{faults.ProgressSnapshot, true, ""}, // called from the interface's goroutine
		{faults.ProgressPrinter, true, ""},  // the CLI's progress goroutine
		{faults.SpareStart, false, ""},      // verify goroutine, after gopets' first crash
	}
	for _, p := range points {
		where := p.where
		if where == "" {
			where = string(p.point)
		}
		t.Run(string(p.point), func(t *testing.T) {
			var up, fired atomic.Bool
			t.Cleanup(faults.Set(p.point, func() error {
				if p.whenUp && !up.Load() {
					return nil
				}
				fired.Store(true)
				panic("injected fault")
			}))
			dir := filepath.Join(t.TempDir(), "corpus")
			reportPath := filepath.Join(t.TempDir(), "report.json")
			began := time.Now()
			o := runObserved(t, cli, &up, nil, "run", gopetsImage, "--spec", gopetsSpec, "--auto", "--seed", "1",
				"--duration", "30s", "--corpus", dir, "--tag", tag, "-o", "json="+reportPath)
			t.Logf("ended after %s; %d containers and %d BPF objects seen", time.Since(began).Round(time.Millisecond), len(o.containers), o.bpf.count())
			if os.Getenv("DEBUG_PANIC") != "" {
				t.Logf("stderr:\n%s\ncontainers %v", o.stderr, o.containers)
			}
			if !fired.Load() {
				t.Fatalf("the fault never fired; exit %d, stderr:\n%s", o.code, o.stderr)
			}
			if o.code != exitError {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", o.code, exitError, o.stderr)
			}
			line := errorLine(t, o.stderr)
			want := "whittle: internal error: panic in " + where + ": injected fault ("
			if !strings.HasPrefix(line, want) {
				t.Errorf("error line %q, want it to start with %q", line, want)
			}
			m := stackFileRe.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("error line %q does not name the stack file", line)
			}
			stack, err := os.ReadFile(m[1])
			os.Remove(m[1])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(stack), "injected fault") || !strings.Contains(string(stack), "goroutine ") || !strings.Contains(string(stack), "faults.At(") {
				t.Errorf("stack file lacks the panic or its stack:\n%s", stack)
			}

			// Cleanup happened, in this very process.
			assertNoOwnContainers(t, cli)
			assertContainersGone(t, cli, o.containers)
			o.bpf.assertReleased(t)
			if _, err := os.Stat(dir); err == nil {
				loadCorpus(t, dir)
			}
			if rep := readReport(t, reportPath); !strings.Contains(rep.Error, "internal error: panic in "+where) {
				t.Errorf("report error %q should name the panic", rep.Error)
			}
		})
	}
}

// The interactive interface: Bubble Tea recovers panics in its goroutines;
// that must end the run as an error (exit 1), not as an interrupt (130).
func TestInteractivePanicIsAnError(t *testing.T) {
	var cleaned atomic.Bool
	var calls atomic.Int32
	r := &interactiveRun{
		execute: func(ctx context.Context) (*report.Report, error) {
			<-ctx.Done()
			time.Sleep(200 * time.Millisecond) // removing containers...
			cleaned.Store(true)
			return &report.Report{}, ctx.Err()
		},
		progress: func() event.Progress {
			if calls.Add(1) > 2 {
				panic("injected fault in the interface")
			}
			return event.Progress{Phase: event.PhaseFuzz}
		},
		bus: event.NewBus(),
	}
	_, _, res := start(t, context.Background(), r)
	got := wait(t, res)
	if !cleaned.Load() {
		t.Fatal("runInteractive returned before the run cleaned up")
	}
	var p *panics.Panic
	if !errors.As(got.err, &p) || exitCode(got.err) != exitError {
		t.Fatalf("error %v (exit %d), want a panic error and exit %d", got.err, exitCode(got.err), exitError)
	}
}

// A panic on runInteractive's own goroutine (building the interface) goes on
// only after the run has been cancelled and has cleaned up.
func TestInteractivePanicWaitsForCleanup(t *testing.T) {
	var cleaned atomic.Bool
	r := &interactiveRun{
		execute: func(ctx context.Context) (*report.Report, error) {
			<-ctx.Done()
			time.Sleep(200 * time.Millisecond)
			cleaned.Store(true)
			return nil, ctx.Err()
		},
		progress: func() event.Progress { panic("injected fault building the interface") },
		bus:      event.NewBus(),
		in:       strings.NewReader(""),
		out:      &screen{},
		noColor:  true,
	}
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_, _ = r.run(context.Background())
	}()
	if recovered == nil {
		t.Fatal("the panic was swallowed")
	}
	if !cleaned.Load() {
		t.Fatal("the panic went on before the run had cleaned up")
	}
}
