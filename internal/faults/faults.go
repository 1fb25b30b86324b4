// Package faults lets tests make whittle fail where real machines and real
// bugs make it fail: a panic in one of its goroutines, a kernel feature that
// is missing. Production code asks at named points; unless a test has set a
// fault there, At returns nil at the cost of one atomic load.
package faults

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Point names a place in the code where a test can inject a fault.
type Point string

// The points whittle asks at.
const (
	// Goroutines: a test makes them panic to check that cleanup still happens.
	TimelineSampler  Point = "pipeline: timeline sampler"
	EventForwarder   Point = "pipeline: event forwarder"
	ImageExport      Point = "pipeline: image export"
	ProgressSnapshot Point = "pipeline: progress snapshot"
	Feedback         Point = "pipeline: fuzzing feedback"
	ContainerWatch   Point = "probe: container watch"
	RingReader       Point = "tracer: ring-buffer reader"
	ProgressPrinter  Point = "cli: progress printer"
	SpareStart       Point = "verify: spare target start"
	// Not a goroutine: a panic between creating the traced container and
	// handing it over, which only the run's own label finds again.
	TracedStart Point = "pipeline: traced start"

	// Kernel features: a test returns an error to simulate their absence.
	UprobeMulti Point = "tracer: uprobe_multi feature probe"
	Uprobe      Point = "tracer: uprobe support"
)

var (
	mu     sync.Mutex
	active atomic.Pointer[map[Point]func() error]
)

// At runs the fault a test set at p: it may panic (the test checks recovery)
// or return an error (a simulated failure). Without one it returns nil.
func At(p Point) error {
	m := active.Load()
	if m == nil {
		return nil
	}
	if f := (*m)[p]; f != nil {
		return f()
	}
	return nil
}

// Set installs fault f at p until the returned function is called (tests
// only; t.Cleanup(faults.Set(...)) is the usual form).
func Set(p Point, f func() error) (restore func()) {
	mu.Lock()
	defer mu.Unlock()
	m := map[Point]func() error{}
	if cur := active.Load(); cur != nil {
		maps.Copy(m, *cur)
	}
	m[p] = f
	active.Store(&m)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		m := map[Point]func() error{}
		if cur := active.Load(); cur != nil {
			maps.Copy(m, *cur)
		}
		delete(m, p)
		if len(m) == 0 {
			active.Store(nil)
			return
		}
		active.Store(&m)
	}
}

// Panic returns a fault that panics with msg (for Set).
func Panic(msg string) func() error {
	return func() error { panic(msg) }
}
