package pipeline

import (
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/cover"
)

// switchRecorder is a costly coverage source that only records Enable.
type switchRecorder struct {
	cover.Source
	mu sync.Mutex
	on []bool
}

func (s *switchRecorder) Enable(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on = append(s.on, on)
	return nil
}

func (s *switchRecorder) last() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.on) > 0 && s.on[len(s.on)-1]
}

// The first containers started while fuzzing run with the costly coverage
// on, whatever the phase: their start-up code is what a probe attached to
// a running container can only see there. A start that did not come up is
// no sample. Later starts leave the phase as it is, and a start that
// switched it on says so once.
func TestDutyCycleHoldsCoverageOnForTheFirstStarts(t *testing.T) {
	src := &switchRecorder{}
	d := &dutyCycle{cov: src, on: time.Hour, off: time.Hour, since: time.Now()} // off phase, for an hour
	failed := d.holdForStart()
	if !src.last() {
		t.Fatal("coverage off while the first container starts")
	}
	failed(false)
	d.since = time.Now().Add(-2 * time.Hour)
	if d.tick() || src.last() || !d.switchedByStart() {
		t.Fatal("the failed start did not end its on phase as a start does")
	}
	for i := range startupSamples {
		release := d.holdForStart()
		if !src.last() {
			t.Fatalf("start %d: coverage off while the container starts", i+1)
		}
		d.since = time.Now().Add(-2 * time.Hour) // the on phase is long over
		if d.tick() {
			t.Fatalf("start %d: tick switched while a start holds it", i+1)
		}
		if !src.last() {
			t.Fatalf("start %d: tick switched the coverage off during the start", i+1)
		}
		release(true)
		release(true) // twice: released once
		// It was off before each start.
		if !d.switchedByStart() {
			t.Fatal("the start that switched the coverage on did not say so")
		}
		if d.switchedByStart() {
			t.Fatal("switchedByStart said so twice")
		}
		if d.held != 0 {
			t.Fatalf("start %d: %d holds left after release", i+1, d.held)
		}
		// The on phase runs on from the release: the start-up's last hits are read.
		if d.tick() || !src.last() {
			t.Fatalf("start %d: switched off right after the start", i+1)
		}
		d.since = time.Now().Add(-2 * time.Hour)
		if d.tick() || src.last() {
			t.Fatalf("start %d: the on phase did not end after the start", i+1)
		}
	}
	n := len(src.on)
	d.holdForStart()(true)
	if len(src.on) != n || src.last() {
		t.Fatalf("start %d switched the coverage: %v", startupSamples+1, src.on[n:])
	}
}
