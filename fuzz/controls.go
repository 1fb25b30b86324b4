package fuzz

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// controls are the interactive UI's handles on a running loop; every method
// is safe from any goroutine.
type controls struct {
	mu          sync.Mutex
	paused      bool
	pausedAt    time.Time
	pausedTotal time.Duration
	resume      chan struct{}
	stopped     bool
	skip        map[string]bool
	// overBudget are the operations skipped because a required value could
	// not be generated within budget; each is skipped once, so that the
	// user may schedule it again.
	overBudget map[string]bool
}

func newControls() *controls { return &controls{skip: map[string]bool{}} }

func (c *controls) setPaused(p bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case p && !c.paused && !c.stopped:
		c.paused, c.pausedAt, c.resume = true, time.Now(), make(chan struct{})
	case !p && c.paused:
		c.unpauseLocked()
	}
}

func (c *controls) unpauseLocked() {
	c.paused = false
	c.pausedTotal += time.Since(c.pausedAt)
	close(c.resume)
}

func (c *controls) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.paused {
		c.unpauseLocked()
	}
}

func (c *controls) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

func (c *controls) isPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// wait blocks while the run is paused (until resumed, stopped or cancelled).
func (c *controls) wait(ctx context.Context) {
	for {
		c.mu.Lock()
		if !c.paused {
			c.mu.Unlock()
			return
		}
		ch := c.resume
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// resetClock forgets pauses before the run started (a pause asked for
// before Run counts from the start).
func (c *controls) resetClock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pausedTotal = 0
	if c.paused {
		c.pausedAt = time.Now()
	}
}

// pausedFor is the time spent paused so far; it does not count against the
// duration budget or the request rate.
func (c *controls) pausedFor() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.pausedTotal
	if c.paused {
		d += time.Since(c.pausedAt)
	}
	return d
}

func (c *controls) setSkipped(op string, skip bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if skip {
		c.skip[op] = true
	} else {
		delete(c.skip, op)
	}
}

// skipOverBudget skips op the first time a required value of it could not
// be generated within budget (gen.OverBudget): its requests would all go
// without it. It reports whether op was skipped now.
func (c *controls) skipOverBudget(op string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.overBudget[op] {
		return false
	}
	if c.overBudget == nil {
		c.overBudget = map[string]bool{}
	}
	c.overBudget[op], c.skip[op] = true, true
	return true
}

func (c *controls) skipped(op string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skip[op]
}

func (c *controls) skippedList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.skip))
	for op := range c.skip {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// Pause suspends (true) or resumes (false) the loop between two requests.
// Paused time does not count against WithDuration.
func (f *Fuzzer) Pause(p bool) { f.l.ctl.setPaused(p) }

// Stop ends the run after the request in flight; Run then returns normally
// with StopReason "stopped". It also ends a pause.
func (f *Fuzzer) Stop() { f.l.ctl.stop() }

// Skip stops scheduling operation op (an ID such as "GET /pets/{petId}"):
// no more requests are sent for it, also inside sequences.
func (f *Fuzzer) Skip(op string) { f.l.ctl.setSkipped(op, true) }

// Unskip schedules a skipped operation again.
func (f *Fuzzer) Unskip(op string) { f.l.ctl.setSkipped(op, false) }

// Paused reports whether the loop is paused.
func (f *Fuzzer) Paused() bool { return f.l.ctl.isPaused() }

// allSkipped reports whether every operation is skipped.
func (l *loop) allSkipped() bool {
	sk := l.ctl.skippedList()
	for _, op := range l.spec.Operations {
		if !slices.Contains(sk, op.ID) {
			return false
		}
	}
	return true
}
