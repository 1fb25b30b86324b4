package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/whittle-dev/whittle/event"
)

// counters is the run's pull-side state: cheap to update from the hot path,
// copied into an event.Progress when an interface asks.
type counters struct {
	requests atomic.Int64

	mu       sync.Mutex
	snapshot event.Progress
	lastReq  int64
	lastAt   time.Time
	rps      float64
	// extra, when set, fills in counters owned by the fuzzer and tracer.
	extra func(*event.Progress)
}

func (c *counters) setPhase(p event.Phase) {
	c.mu.Lock()
	c.snapshot.Phase = p
	c.mu.Unlock()
}

func (c *counters) update(f func(*event.Progress)) {
	c.mu.Lock()
	f(&c.snapshot)
	c.mu.Unlock()
}

func (c *counters) setExtra(f func(*event.Progress)) {
	c.mu.Lock()
	c.extra = f
	c.mu.Unlock()
}

func (c *counters) progress() event.Progress {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.snapshot
	p.Operations = append([]event.OperationProgress(nil), p.Operations...)
	p.LimitsHit = append([]string(nil), p.LimitsHit...)
	if c.extra != nil {
		c.extra(&p)
	}
	// The request rate is measured between successive snapshots, so it
	// follows what the interface's tick sees.
	now := time.Now()
	n := c.requests.Load()
	if p.Requests < n {
		p.Requests = n
	}
	if !c.lastAt.IsZero() {
		if dt := now.Sub(c.lastAt).Seconds(); dt >= 0.2 {
			c.rps = float64(p.Requests-c.lastReq) / dt
			c.lastReq, c.lastAt = p.Requests, now
		}
	} else {
		c.lastReq, c.lastAt = p.Requests, now
	}
	p.RequestsPerS = c.rps
	return p
}
