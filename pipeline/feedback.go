package pipeline

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"time"

	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
)

// traceFeedback tells the fuzzer what each answered request newly made the
// target touch, from the tracer's append-only view of unique accesses.
type traceFeedback struct {
	tr       *tracer.Tracer
	cov      codeCoverage // nil: no code coverage
	duty     *pythonDuty  // nil unless Python line coverage
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
	startup []fuzz.DirListing
}

func newTraceFeedback(ctx context.Context, tr *tracer.Tracer, cov codeCoverage) (*traceFeedback, error) {
	f := &traceFeedback{tr: tr, cov: cov, paths: map[string]bool{}, failedDirs: map[string]bool{}, dirs: map[string]bool{}}
	if cov != nil {
		// Functions hit while idle (start-up, timers) are nobody's merit.
		cursor, _, err := cov.Baseline(ctx, 500*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("measuring background coverage: %w", err)
		}
		f.covAt = cursor
		if py, ok := cov.(*cover.Coverage); ok && cov.Kind() == cover.PythonLines {
			f.duty = newPythonDuty(py)
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
		var units []string
		units, f.covAt = f.cov.NewSince(f.covAt)
		sig.Functions = len(units)
		if f.duty != nil {
			f.duty.tick()
		}
	}
	if n := len(f.tr.Syscalls()); n > f.syscalls {
		sig.Syscalls = n - f.syscalls
		f.syscalls = n
	}
	return sig, nil
}
