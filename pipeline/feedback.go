package pipeline

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
)

// traceFeedback tells the fuzzer what each answered request newly made the
// target touch, from the tracer's append-only view of unique accesses.
type traceFeedback struct {
	tr       *tracer.Tracer
	cov      cover.Source // nil: no code coverage
	duty     *dutyCycle   // nil unless the source is costly (Python lines, V8)
	covAt    int
	cursor   int
	syscalls int
	// paths and failedDirs decide what counts as new: a path used for the
	// first time, or a lookup failing in a directory where none failed
	// before. Every random name a request makes the target look up fails
	// differently; counting each as coverage would flood the corpus.
	paths      map[string]bool
	failedDirs map[string]bool
	// dirs are the directories the target used files in, true when it
	// listed them; startup those of start-up, handed to the fuzzer with
	// the first signal (see listings.go).
	dirs    map[string]bool
	startup []inputsel.DirListing
	// pending are the units the last After reported, until the exchange
	// hook names the operation whose request reached them (credit);
	// firstBy keeps that operation per unit, for the report.
	pending []string
	firstBy map[string]string
	// lastHits are the first hits the last After reported (flights.go).
	lastHits []cover.FirstHit
}

func newTraceFeedback(ctx context.Context, tr *tracer.Tracer, cov cover.Source) (*traceFeedback, error) {
	f := &traceFeedback{tr: tr, cov: cov, paths: map[string]bool{}, failedDirs: map[string]bool{}, dirs: map[string]bool{},
		firstBy: map[string]string{}}
	if cov != nil {
		// Functions hit while idle (start-up, timers) are nobody's merit.
		cursor, _, err := cov.Baseline(ctx, 500*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("measuring background coverage: %w", err)
		}
		f.covAt = cursor
		if cov.Stats().Costly {
			f.duty = newDutyCycle(cov)
		}
	}
	// What start-up touched is the baseline, not any request's merit.
	var start []tracer.FileAccess
	start, f.cursor = tr.FilesSince(0)
	for _, fa := range start {
		f.isNew(fa)
	}
	f.startup = f.listings(start, true)
	f.syscalls = len(tr.Syscalls())
	return f, nil
}

func (f *traceFeedback) isNew(fa tracer.FileAccess) bool {
	if fa.Errno != 0 {
		key := path.Dir(fa.Path) + "\x00" + strconv.Itoa(fa.Errno)
		if f.failedDirs[key] {
			return false
		}
		f.failedDirs[key] = true
		return true
	}
	if f.paths[fa.Path] {
		return false
	}
	f.paths[fa.Path] = true
	return true
}

func (f *traceFeedback) After(ctx context.Context) (fuzz.Signal, error) {
	_ = faults.At(faults.Feedback) // tests: a panic in the fuzzing loop itself
	if err := f.tr.Sync(ctx); err != nil {
		return fuzz.Signal{}, fmt.Errorf("flushing trace events: %w", err)
	}
	f.lastHits = nil
	files, next := f.tr.FilesSince(f.cursor)
	f.cursor = next
	var sig fuzz.Signal
	sig.Dirs, f.startup = append(f.startup, f.listings(files, false)...), nil
	for _, fa := range files {
		// Every new path goes to the fuzzer, which correlates them with the
		// values it sent; only some of them count as coverage.
		sig.NewFiles = append(sig.NewFiles, fa.Path)
		if f.isNew(fa) {
			sig.Files++
		}
	}
	if f.cov != nil {
		sig.Observed = f.duty != nil && f.duty.isOn()
		if err := f.cov.Sync(ctx); err != nil {
			return fuzz.Signal{}, fmt.Errorf("reading coverage: %w", err)
		}
		if f.duty != nil && f.duty.switchedByStart() {
			_, f.covAt = f.cov.NewSince(f.covAt)
		}
		var hits []cover.FirstHit
		hits, f.covAt = f.cov.NewHitsSince(f.covAt)
		units := make([]string, len(hits))
		for i, h := range hits {
			units[i] = h.Unit()
		}
		f.lastHits = hits
		sig.Functions = len(units)
		// Units an After outside the loop reported (a minimisation, a
		// liveness check: no exchange follows) stay nobody's.
		f.pending = units
		if f.duty != nil && f.duty.tick() {
			// What ran while it was off (V8 keeps counting, Python does not)
			// is coverage, but no single request's: skip it.
			if err := f.cov.Sync(ctx); err != nil {
				return fuzz.Signal{}, fmt.Errorf("reading coverage: %w", err)
			}
			_, f.covAt = f.cov.NewSince(f.covAt)
		}
	}
	if n := len(f.tr.Syscalls()); n > f.syscalls {
		sig.Syscalls = n - f.syscalls
		f.syscalls = n
	}
	return sig, nil
}

// drain takes what requests outside the fuzzer (the capacity probe) newly
// made the target do, so that the fuzzer's first request is not credited
// with it; the tracer keeps it for the image all the same. The directories
// listed (the start-up listings among them) stay for the fuzzer's first
// signal.
func (f *traceFeedback) drain(ctx context.Context) error {
	startup := f.startup
	sig, err := f.After(ctx)
	f.pending = nil
	if err != nil {
		f.startup = startup
		return fmt.Errorf("draining what the load made the target do: %w", err)
	}
	f.startup = sig.Dirs
	return nil
}

// credit attributes the units the last request newly reached to its
// operation. It is the fuzzer's exchange hook, called synchronously after
// the After of the same request.
func (f *traceFeedback) credit(x fuzz.Exchange) {
	for _, u := range f.pending {
		if _, ok := f.firstBy[u]; !ok {
			f.firstBy[u] = x.Request.Operation
		}
	}
	f.pending = nil
}
