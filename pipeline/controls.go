package pipeline

import (
	"sync"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
)

// controls are the user's requests to the running fuzzer (from the TUI).
// They may come before the fuzzer exists: they are remembered and applied
// when it starts. Every method returns at once.
type controls struct {
	mu       sync.Mutex
	fuzzer   *fuzz.Fuzzer
	paused   bool
	buildNow bool
	skipped  []string
}

// Pause pauses or resumes fuzzing.
func (r *Run) Pause(paused bool) {
	c := &r.controls
	c.mu.Lock()
	defer c.mu.Unlock()
	c.paused = paused
	if c.fuzzer != nil {
		c.fuzzer.Pause(paused)
	}
	r.ctr.update(func(p *event.Progress) { p.Paused = paused })
}

// BuildNow ends fuzzing early; the run goes on to build and verify.
func (r *Run) BuildNow() {
	c := &r.controls
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buildNow = true
	if c.fuzzer != nil {
		c.fuzzer.Stop()
	}
}

// Skip stops scheduling an operation.
func (r *Run) Skip(operation string) {
	c := &r.controls
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipped = append(c.skipped, operation)
	if c.fuzzer != nil {
		c.fuzzer.Skip(operation)
	}
}

// attach hands the controls to a fuzzer that is about to run, applying what
// was asked before it existed.
func (c *controls) attach(f *fuzz.Fuzzer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fuzzer = f
	for _, op := range c.skipped {
		f.Skip(op)
	}
	if c.paused {
		f.Pause(true)
	}
	if c.buildNow {
		f.Stop()
	}
}

func (c *controls) detach() {
	c.mu.Lock()
	c.fuzzer = nil
	c.mu.Unlock()
}

func (c *controls) stopRequested() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buildNow
}
