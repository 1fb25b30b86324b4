// Command demo runs the interactive interface against a synthetic run, with
// no Docker, tracer or target: events at a chosen rate (far above what a
// real run publishes), counters that move, controls that act. It is how the
// interface is checked by eye, e.g. inside tmux:
//
//	go run ./tui/internal/demo -rate 5000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tui"
)

var operations = []string{
	"GET /pets", "POST /pets", "GET /pets/{petId}", "PUT /pets/{petId}",
	"DELETE /pets/{petId}", "GET /pets/{petId}/photos", "GET /owners", "POST /owners/{ownerId}/pets", "GET /health",
}

func main() {
	rate := flag.Int("rate", 2000, "events published per second while fuzzing")
	rps := flag.Int("rps", 1500, "simulated requests per second")
	fuzzFor := flag.Duration("fuzz", 0, "fuzz this long, then build (0: until b is pressed)")
	seed := flag.Uint64("seed", 42, "random seed")
	flag.Parse()

	bus := event.NewBus()
	r := &run{bus: bus, rng: rand.New(rand.NewPCG(*seed, 1)), skip: map[string]bool{}, build: make(chan struct{})}
	r.p = event.Progress{Image: "whittle-fixture/gopets:latest", Seed: int64(*seed), Phase: event.PhaseInspect,
		Started: time.Now(), FunctionsTotal: 456}
	for _, op := range operations {
		r.p.Operations = append(r.p.Operations, event.OperationProgress{Operation: op})
	}
	ctx, cancel := context.WithCancel(context.Background())
	outcome := make(chan tui.Outcome, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A panic ends the synthetic run as an error on the results screen,
		// not the process with the terminal in the alternate screen.
		defer panics.Catch("demo: synthetic run", func(p *panics.Panic) {
			bus.Close()
			outcome <- tui.Outcome{Err: p}
		})
		rep, err := r.play(ctx, *rate, *rps, *fuzzFor)
		bus.Close()
		outcome <- tui.Outcome{Report: rep, Err: err}
	}()
	m := tui.New(tui.Config{Events: bus, Progress: r.progress, Controls: r, Stop: cancel, Outcome: outcome})
	_, err := tea.NewProgram(m, tea.WithAltScreen()).Run()
	cancel()
	<-done
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run is a synthetic pipeline run.
type run struct {
	bus *event.Bus
	rng *rand.Rand

	mu     sync.Mutex
	p      event.Progress
	paused bool
	skip   map[string]bool
	build  chan struct{}
	once   sync.Once
}

func (r *run) progress() event.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.p
	p.Operations = append([]event.OperationProgress(nil), r.p.Operations...)
	p.Paused = r.paused
	return p
}

func (r *run) Pause(p bool) { r.mu.Lock(); r.paused = p; r.mu.Unlock() }
func (r *run) BuildNow()    { r.once.Do(func() { close(r.build) }) }
func (r *run) Skip(op string) {
	r.mu.Lock()
	r.skip[op] = true
	for i := range r.p.Operations {
		if r.p.Operations[i].Operation == op {
			r.p.Operations[i].Skipped = true
		}
	}
	r.mu.Unlock()
}

func (r *run) logf(l event.Level, format string, args ...any) {
	r.bus.Publish(event.Log{Stamp: event.Now(), Level: l, Msg: fmt.Sprintf(format, args...)})
}

func (r *run) phase(p event.Phase, detail string) {
	r.mu.Lock()
	r.p.Phase = p
	r.mu.Unlock()
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: p, Detail: detail})
}

func (r *run) finish(p event.Phase, detail string) {
	r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: p, Detail: detail})
}

// steps publishes a step with a total, over d.
func (r *run) steps(ctx context.Context, p event.Phase, name string, total int64, d time.Duration) error {
	for i := int64(0); i <= total; i++ {
		r.bus.Publish(event.Step{Stamp: event.Now(), Phase: p, Name: name, Done: i, Total: total})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d / time.Duration(total)):
		}
	}
	return nil
}

func (r *run) play(ctx context.Context, rate, rps int, fuzzFor time.Duration) (rep *report.Report, err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			r.logf(event.LevelWarn, "interrupted: removing containers")
			time.Sleep(700 * time.Millisecond) // cleanup takes a moment
			err = fmt.Errorf("interrupted: %w", err)
			r.phase(event.PhaseDone, "failed")
		}
	}()
	r.phase(event.PhaseInspect, "whittle-fixture/gopets:latest")
	if err := r.steps(ctx, event.PhaseInspect, "exporting image", 312, 1500*time.Millisecond); err != nil {
		return nil, err
	}
	r.finish(event.PhaseInspect, "whittle-fixture/gopets:latest 312.4 MB, entrypoint /usr/bin/gopets, ports 8080/tcp")
	r.phase(event.PhaseStart, "starting whittle-fixture/gopets:latest")
	r.logf(event.LevelInfo, "tracer: tier tracepoint armed, 456 functions probed")
	if err := r.steps(ctx, event.PhaseStart, "waiting for the target", 0+10, time.Second); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.p.TargetURL = "http://127.0.0.1:32768"
	r.mu.Unlock()
	r.finish(event.PhaseStart, "whittle-fixture/gopets:latest answers on http://127.0.0.1:32768 (9 operations)")
	r.phase(event.PhaseFuzz, "9 operations, seed 42")
	if err := r.fuzz(ctx, rate, rps, fuzzFor); err != nil {
		return nil, err
	}
	r.finish(event.PhaseFuzz, fmt.Sprintf("%d requests", r.progress().Requests))
	r.phase(event.PhaseBuild, "minimal image of whittle-fixture/gopets:latest")
	if err := r.steps(ctx, event.PhaseBuild, "resolving ELF dependencies", 40, time.Second); err != nil {
		return nil, err
	}
	if err := r.steps(ctx, event.PhaseBuild, "writing layer", 180, 2*time.Second); err != nil {
		return nil, err
	}
	r.finish(event.PhaseBuild, "whittle-fixture/gopets:latest-whittled: 11.8 MB, 180 files (26.5x smaller)")
	r.phase(event.PhaseVerify, "replaying 1234 requests")
	if err := r.steps(ctx, event.PhaseVerify, "replaying", 1234, 2*time.Second); err != nil {
		return nil, err
	}
	r.bus.Publish(event.Divergence{Stamp: event.Now(), Operation: "GET /pets/{petId}/photos", Request: "GET /pets/7/photos",
		Original: "200 OK", Minimal: "500 Internal Server Error"})
	r.finish(event.PhaseVerify, "1233/1234 identical")
	r.phase(event.PhaseDone, "failed")
	rep = r.report()
	return rep, errors.New("minimal image diverged from the original: 1 of 1234 answers differ")
}

func (r *run) fuzz(ctx context.Context, rate, rps int, fuzzFor time.Duration) error {
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	var deadline <-chan time.Time
	if fuzzFor > 0 {
		deadline = time.After(fuzzFor)
	}
	start := time.Now()
	events, reqs := 0.0, 0.0
	n := 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.build:
			return nil
		case <-deadline:
			return nil
		case <-t.C:
		}
		r.mu.Lock()
		paused := r.paused
		r.mu.Unlock()
		if paused {
			continue
		}
		events += float64(rate) * tick.Seconds()
		reqs += float64(rps) * tick.Seconds()
		for ; events >= 1; events-- {
			n++
			op := operations[r.rng.IntN(len(operations))]
			switch {
			case n%997 == 0:
				r.bus.Publish(event.Finding{Stamp: event.Now(), ID: fmt.Sprintf("F%d", n), Operation: op, Check: "server_error",
					Severity: "high", Summary: "500 Internal Server Error", Request: op, Response: "500 Internal Server Error",
					Curl: "curl -X " + op})
			case n%3 == 0 && n%61 == 0:
				r.bus.Publish(event.NewCoverage{Stamp: event.Now(), Operation: op, What: "1 function"})
				r.mu.Lock()
				for i := range r.p.Operations {
					if r.p.Operations[i].Operation == op {
						r.p.Operations[i].NewCoverage++
					}
				}
				r.mu.Unlock()
			default:
				r.logf(event.LevelInfo, "request %d to %s", n, op)
			}
		}
		r.mu.Lock()
		for ; reqs >= 1; reqs-- {
			i := r.rng.IntN(len(r.p.Operations))
			o := &r.p.Operations[i]
			if r.skip[o.Operation] {
				continue
			}
			o.Requests++
			r.p.Requests++
			switch x := r.rng.IntN(100); {
			case x < 60:
				o.Status2xx++
			case x < 95:
				o.Status4xx++
			case x < 96:
				o.Status5xx++
			default:
				o.Errors++
			}
		}
		el := time.Since(start).Seconds()
		r.p.RequestsPerS = float64(rps) * (0.9 + 0.2*r.rng.Float64())
		if f := min(300, int(120*(1-1/(1+el/10)))+40); f > r.p.Functions {
			r.p.Functions = f
			r.p.LastNewSignal = time.Now()
		}
		r.p.Files = min(210, 150+int(el))
		r.p.Syscalls = 48
		r.p.CorpusSize = 10 + int(el)
		r.mu.Unlock()
	}
}

func (r *run) report() *report.Report {
	p := r.progress()
	rep := &report.Report{
		Schema:   report.SchemaVersion,
		Original: report.ImageInfo{Ref: p.Image, Size: 312_400_000, Files: 14201},
		Minimal:  &report.ImageInfo{Ref: p.Image + "-whittled", Size: 11_800_000, Files: 180},
		Ratio:    26.5,
		Fuzz:     report.FuzzInfo{Seed: p.Seed, Requests: p.Requests, CorpusSize: p.CorpusSize},
		Verification: &report.Verification{Result: "diverged", Total: 1234, Identical: 1233, Divergences: []report.Divergence{
			{Operation: "GET /pets/{petId}/photos", Request: "GET /pets/7/photos", Reason: "status 200 != 500",
				Original: "200 OK", Minimal: "500 Internal Server Error\nopen /usr/share/mime/types: no such file"}}},
		Outputs: []string{"json=report.json"},
	}
	for _, o := range p.Operations {
		rep.Fuzz.Operations = append(rep.Fuzz.Operations, report.Operation{Operation: o.Operation, Requests: o.Requests,
			Status2xx: o.Status2xx, Status4xx: o.Status4xx, Status5xx: o.Status5xx, Errors: o.Errors})
	}
	rep.Files = append(rep.Files, report.File{Path: "/usr/bin/gopets", Size: 9_400_000, Mode: "-rwxr-xr-x", Reasons: []string{"entrypoint", "traced: exec"}})
	for i := 0; i < 120; i++ {
		rep.Files = append(rep.Files, report.File{Path: fmt.Sprintf("/usr/lib/python3/dist-packages/pkg%02d/mod%d.py", i/10, i%10),
			Size: int64(1000 + i*37), Mode: "-rw-r--r--", Reasons: []string{"traced: open"}})
	}
	for i := 0; i < 59; i++ {
		rep.Files = append(rep.Files, report.File{Path: fmt.Sprintf("/usr/share/zoneinfo/Zone%02d", i), Size: 114,
			Mode: "-rw-r--r--", Reasons: []string{"directory listed by the app: /usr/share/zoneinfo"}})
	}
	return rep
}
