// Package pace decides how many sequences the fuzzer keeps in flight at
// once. It works as TCP congestion control does (additive increase,
// multiplicative decrease): start at one worker, add one while executions
// per second keep rising and the 95th percentile latency stays within a
// bound of what one worker saw, and halve on timeouts, a burst of 5xx
// answers or latency that grew past the bound. A fixed count never changes.
// As TCP's slow start, the count doubles at first, up to the first count
// that bought nothing or brought trouble (the threshold), and grows by one
// from there. A target's speed varies from window to window: windows in
// which a costly coverage probe was on (Answer.Observed) decide nothing
// about rate or latency, and, for the machine's load, a rate that did not
// rise takes a worker back only after two windows in a row.
//
// Coverage comes first: new coverage seen while several requests were in
// flight can be credited to none of them (the tracer cannot tell whose it
// is), so the count goes back to one at once, and it rises only after a
// window that found nothing new. A run explores alone while it discovers,
// and runs many at once on what it knows.
package pace

import (
	"fmt"
	"slices"
	"time"
)

// DefaultMax is the ceiling of the adaptive count.
const DefaultMax = 16

// Policy tunes a Controller. The zero value of a field takes its default.
type Policy struct {
	// Fixed, when positive, is the count; the controller never changes it.
	Fixed int
	// Max bounds the adaptive count (DefaultMax).
	Max int
	// Window is the least number of answers a decision is taken on (32).
	Window int
	// MinWindow is the least time a decision is taken on (500 ms): a
	// window of fast answers is too short to measure a rate.
	MinWindow time.Duration
	// P95Factor and P95Excess bound the latency: a window's p95 above
	// P95Factor × the p95 at one worker and above it by P95Excess is
	// "latency grew" (3 and 20 ms).
	P95Factor float64
	P95Excess time.Duration
	// Persist is how many windows in a row the latency must be over its
	// bound to cut the count (4): a coverage probe switched on for a
	// second (a duty cycle) or a burst of load on the machine makes a few
	// slow windows, an overloaded target makes them all slow (and times
	// out, which cuts at once).
	Persist int
	// Rise is how much executions/s must rise for one more worker to count
	// as worth it (5%).
	Rise float64
	// Burst is the share of 5xx answers above the share at one worker that
	// makes a burst (0.25).
	Burst float64
	// Settle is how long after a fresh instance replaced a slowed one
	// (Restarted) the windows decide nothing about rate and latency (5 s):
	// a JVM's JIT, a cache warm up, and the spare container starting in
	// the background takes the machine's CPU meanwhile.
	Settle time.Duration
}

func (p Policy) withDefaults() Policy {
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.Window <= 0 {
		p.Window = 32
	}
	if p.MinWindow <= 0 {
		p.MinWindow = 500 * time.Millisecond
	}
	if p.P95Factor <= 0 {
		p.P95Factor = 3
	}
	if p.P95Excess <= 0 {
		p.P95Excess = 20 * time.Millisecond
	}
	if p.Persist <= 0 {
		p.Persist = 4
	}
	if p.Rise <= 0 {
		p.Rise = 0.05
	}
	if p.Burst <= 0 {
		p.Burst = 0.25
	}
	if p.Settle <= 0 {
		p.Settle = 5 * time.Second
	}
	return p
}

// Answer is what the controller learns of one answered request.
type Answer struct {
	Latency     time.Duration
	Timeout     bool // no answer in time
	ServerError bool // a 5xx
	// Novel says the request showed new coverage; Shared that it came
	// while other requests were in flight (credited to nobody).
	Novel, Shared bool
	// Observed says a costly coverage probe was on while the target ran
	// it (Python's line probe traps every line): it ran slower than the
	// target runs unobserved.
	Observed bool
	// Crashed says the target died while the request was in flight, of a
	// crash whose cause the fuzzer has yet to find (repeats of a crash it
	// minimised are not told: replaying them alone finds nothing new).
	Crashed bool
}

// Change is a decision to run another number of workers, and why.
type Change struct {
	From, To int
	Reason   string
}

func (c Change) String() string { return fmt.Sprintf("%d → %d workers: %s", c.From, c.To, c.Reason) }

// Controller decides the worker count. It is not safe for concurrent use:
// the fuzz loop feeds it between batches.
type Controller struct {
	p       Policy
	workers int

	// the window being filled
	start     time.Time
	latencies []time.Duration
	timeouts  int
	errors5xx int
	novel     int
	shared    int
	observed  int
	crashed   int

	// baseP95 and baseErr are the p95 and 5xx share of the windows at one
	// worker (the latency and error rate of the target unloaded).
	baseP95 time.Duration
	baseErr float64
	based   bool
	// lastRate is the executions/s of the last window; raised says the
	// last change added a worker (so a rate that did not rise takes it back).
	lastRate float64
	raised   bool
	// ceiling is a count that proved no better than one less, or brought
	// trouble: the count stays under it for holdFor windows, then probes
	// it again (held counts the windows since; each probe that fails
	// doubles holdFor, as a backoff).
	ceiling, held, holdFor int
	lastCeiling            int
	// slow counts the windows in a row whose p95 was over the bound.
	slow int
	// threshold is where doubling stops; prev is the count before the last
	// rise, flat the windows since it in which the rate did not rise.
	threshold, prev, flat int
	// settling: windows ending before then decide nothing (Restarted).
	settling time.Time
}

// Restarted says a fresh instance replaced a target that kept slowing
// down, at now: it warms up for a while (Policy.Settle), and its first
// latencies say nothing of what the count does to it.
func (c *Controller) Restarted(now time.Time) {
	c.settling = now.Add(c.p.Settle)
	c.slow, c.flat, c.raised = 0, 0, false
}

// initialHold is how many windows a ceiling holds at first.
const initialHold = 8

// New returns a controller at one worker (or at p.Fixed).
func New(p Policy) *Controller {
	p = p.withDefaults()
	c := &Controller{p: p, workers: 1, threshold: p.Max}
	if p.Fixed > 0 {
		c.workers = p.Fixed
	}
	return c
}

// Workers is the count to run now.
func (c *Controller) Workers() int { return c.workers }

// Adaptive reports whether the count may change.
func (c *Controller) Adaptive() bool { return c.p.Fixed <= 0 }

// Observe takes the answers of a batch, ending at now; when they complete a
// window it decides, and returns the change when the count changed.
func (c *Controller) Observe(now time.Time, answers []Answer) (Change, bool) {
	if !c.Adaptive() {
		return Change{}, false
	}
	if c.start.IsZero() {
		c.start = now
		if len(answers) > 0 {
			// the batch took about its slowest answer
			var slowest time.Duration
			for _, a := range answers {
				slowest = max(slowest, a.Latency)
			}
			c.start = now.Add(-slowest)
		}
	}
	for _, a := range answers {
		c.latencies = append(c.latencies, a.Latency)
		if a.Timeout {
			c.timeouts++
		}
		if a.ServerError {
			c.errors5xx++
		}
		if a.Novel {
			c.novel++
			if a.Shared {
				c.shared++
			}
		}
		if a.Observed {
			c.observed++
		}
		if a.Crashed {
			c.crashed++
		}
	}
	elapsed := now.Sub(c.start)
	if len(c.latencies) < c.p.Window || elapsed < c.p.MinWindow {
		return Change{}, false
	}
	ch, ok := c.decide(elapsed, now.Before(c.settling))
	c.start, c.latencies, c.timeouts, c.errors5xx, c.novel, c.shared, c.observed, c.crashed = now, c.latencies[:0], 0, 0, 0, 0, 0, 0
	return ch, ok
}

func (c *Controller) decide(elapsed time.Duration, settling bool) (Change, bool) {
	n := len(c.latencies)
	rate := float64(n) / elapsed.Seconds()
	p95 := percentile(c.latencies, 0.95)
	errShare := float64(c.errors5xx) / float64(n)
	from := c.workers
	// A window with answers a costly coverage probe slowed, or of an
	// instance warming up, is not the target's speed: its rate and latency
	// are compared with nothing.
	observed := c.observed > 0 || settling
	if c.workers == 1 && !observed {
		// What one worker sees is the target unloaded: the bounds follow
		// it, smoothed (a target that fills up answers slower, alone too).
		if !c.based {
			c.baseP95, c.baseErr = p95, errShare
		} else {
			c.baseP95 = (c.baseP95 + p95) / 2
			c.baseErr = (c.baseErr + errShare) / 2
		}
		c.based = true
	}
	bound := max(time.Duration(float64(c.baseP95)*c.p.P95Factor), c.baseP95+c.p.P95Excess)
	switch {
	case observed:
	case p95 > bound:
		c.slow++
	default:
		c.slow = 0
	}
	if c.ceiling > 0 {
		if c.held++; c.held > c.holdFor {
			c.ceiling, c.held = 0, 0
		}
	}
	switch {
	case c.shared > 0 && c.workers > 1:
		// Not a ceiling: the target took them; the coverage could not be
		// told apart. The count rises again once nothing new comes.
		c.workers, c.lastRate, c.raised, c.slow, c.flat = 1, rate, false, 0, 0
		c.threshold = max(2, from) // the target took them: back there fast
		return Change{From: from, To: 1, Reason: fmt.Sprintf("new coverage while %d were in flight: one at a time while it comes", from)}, true
	case c.crashed > 0 && c.workers > 1:
		// Which request killed it, or which mix of the workers' sequences,
		// is found by replaying them alone: crashes that come one request
		// at a time are minimised to their cause.
		c.workers, c.lastRate, c.raised, c.slow, c.flat = 1, rate, false, 0, 0
		c.threshold = max(2, from)
		return Change{From: from, To: 1, Reason: fmt.Sprintf("the target crashed while %d were in flight: one at a time while crashes come", from)}, true
	case c.timeouts > 0 && c.workers > 1:
		return c.cut(from, rate, fmt.Sprintf("%d timeouts", c.timeouts))
	case errShare > c.baseErr+c.p.Burst && c.workers > 1:
		return c.cut(from, rate, fmt.Sprintf("5xx burst: %.0f%% of answers (%.0f%% at 1 worker)", 100*errShare, 100*c.baseErr))
	case observed:
		return Change{}, false // the next window the probe leaves alone decides
	case c.slow >= c.p.Persist && c.workers > 1:
		c.slow = 0
		return c.cut(from, rate, fmt.Sprintf("latency grew: p95 %s, bound %s", round(p95), round(bound)))
	case c.raised && rate < c.lastRate*(1+c.p.Rise):
		if c.flat++; c.flat < 2 {
			return Change{}, false // one slow window proves nothing: another at this count
		}
		// More workers bought nothing: go back and stay under.
		c.hold(c.workers)
		c.workers, c.threshold, c.flat = c.prev, c.prev, 0
		c.lastRate, c.raised = rate, false
		return Change{From: from, To: c.workers, Reason: fmt.Sprintf("executions/s stopped rising (%.0f/s)", rate)}, true
	case c.novel > 0 || c.crashed > 0:
		// Still discovering (or crashing): stay, so that what comes is
		// credited (or minimised alone).
	case p95 <= bound:
		next := c.workers + 1
		if c.workers < c.threshold {
			next = min(2*c.workers, c.threshold)
		}
		next = min(next, c.p.Max)
		if c.ceiling > 0 {
			next = min(next, c.ceiling-1)
		}
		if next <= c.workers {
			break
		}
		c.prev, c.workers, c.flat = c.workers, next, 0
		c.lastRate, c.raised = rate, true
		return Change{From: from, To: c.workers, Reason: fmt.Sprintf("%.0f executions/s, p95 %s within %s", rate, round(p95), round(bound))}, true
	}
	c.lastRate, c.raised, c.flat = rate, false, 0
	return Change{}, false
}

// cut halves the count and stays under the one that brought trouble.
func (c *Controller) cut(from int, rate float64, why string) (Change, bool) {
	c.hold(from)
	c.workers = max(1, c.workers/2)
	c.threshold, c.flat = c.workers, 0
	c.lastRate, c.raised = rate, false
	return Change{From: from, To: c.workers, Reason: why}, true
}

// hold keeps the count under n for a while, longer each time n is the
// ceiling again.
func (c *Controller) hold(n int) {
	switch {
	case c.holdFor == 0:
		c.holdFor = initialHold
	case n <= c.lastCeiling+1 && n >= c.lastCeiling-1:
		c.holdFor = min(2*c.holdFor, 1024)
	}
	c.ceiling, c.lastCeiling, c.held = n, n, 0
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return s[min(i, len(s)-1)]
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// WorkerSeed derives worker i's seed from the run's: worker 0 keeps the
// run's seed (so that one worker runs as whittle always did), the others
// get well-mixed seeds of their own (SplitMix64).
func WorkerSeed(seed uint64, i int) uint64 {
	if i == 0 {
		return seed
	}
	z := seed + uint64(i)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
