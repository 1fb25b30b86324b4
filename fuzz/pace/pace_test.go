package pace

import (
	"strings"
	"testing"
	"time"
)

// target models a service answering in base latency with room for
// capacity requests in parallel: beyond that, requests queue and each
// waits longer (latency = base × workers / capacity).
type target struct {
	base     time.Duration
	capacity int
	// fail5xx makes every answer a 5xx from that many workers on (0: never).
	fail5xx int
	// timeoutAt makes answers time out from that many workers on (0: never).
	timeoutAt int
}

// run feeds c batches from the model for the given simulated time and
// returns the counts it chose, in order.
func (tg target) run(c *Controller, d time.Duration) (counts []int, changes []Change) {
	now := time.Unix(0, 0)
	end := now.Add(d)
	for now.Before(end) {
		w := c.Workers()
		lat := tg.base
		if w > tg.capacity {
			lat = time.Duration(float64(tg.base) * float64(w) / float64(tg.capacity))
		}
		answers := make([]Answer, w)
		for i := range answers {
			answers[i] = Answer{Latency: lat, ServerError: tg.fail5xx > 0 && w >= tg.fail5xx, Timeout: tg.timeoutAt > 0 && w >= tg.timeoutAt}
		}
		now = now.Add(lat)
		if ch, ok := c.Observe(now, answers); ok {
			changes = append(changes, ch)
		}
		counts = append(counts, c.Workers())
	}
	return counts, changes
}

func TestControllerFindsTheKnee(t *testing.T) {
	cases := []struct {
		name   string
		tg     target
		lo, hi int // where the count must settle
	}{
		// Doubling overshoots the knee up to the next power of two, where
		// the model's rate is the same as at 6 (only the latency grew).
		{"latency-bound, room for 6", target{base: 5 * time.Millisecond, capacity: 6}, 5, 8},
		{"latency-bound, room for many", target{base: 5 * time.Millisecond, capacity: 64}, DefaultMax, DefaultMax},
		{"cpu-bound, room for 1", target{base: time.Millisecond, capacity: 1}, 1, 2},
		{"5xx from 4 workers on", target{base: 5 * time.Millisecond, capacity: 64, fail5xx: 4}, 1, 3},
		{"timeouts from 3 workers on", target{base: 5 * time.Millisecond, capacity: 64, timeoutAt: 3}, 1, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Policy{})
			counts, changes := tc.tg.run(c, 60*time.Second)
			// The last third of the run is where it settled: probes of a
			// higher count may leave the range, briefly.
			tail := counts[len(counts)*2/3:]
			out := 0
			for _, n := range tail {
				if n < tc.lo || n > tc.hi {
					out++
				}
			}
			if out > len(tail)/10 {
				t.Errorf("%d of the last %d batches ran outside [%d, %d] workers; changes: %v", out, len(tail), tc.lo, tc.hi, changes[max(0, len(changes)-12):])
			}
			for _, ch := range changes {
				if ch.To < 1 || ch.To > DefaultMax || ch.Reason == "" || ch.From == ch.To {
					t.Errorf("bad change %+v", ch)
				}
			}
		})
	}
}

func TestControllerSaysWhy(t *testing.T) {
	c := New(Policy{})
	_, changes := target{base: 5 * time.Millisecond, capacity: 64, timeoutAt: 3}.run(c, 10*time.Second)
	found := false
	for _, ch := range changes {
		found = found || ch.To < ch.From && strings.Contains(ch.Reason, "timeouts")
	}
	if !found {
		t.Errorf("no back-off naming timeouts in %v", changes)
	}
}

// One slow window (a coverage probe switched on for a second, a burst of
// load on the machine) does not cut the count; slow windows in a row
// (Persist) do.
func TestOneSlowWindowIsNoOverload(t *testing.T) {
	c := New(Policy{Window: 4, MinWindow: time.Millisecond})
	now := time.Unix(0, 0)
	feed := func(lat time.Duration) (Change, bool) {
		answers := make([]Answer, 4)
		for i := range answers {
			answers[i] = Answer{Latency: lat}
		}
		now = now.Add(lat)
		return c.Observe(now, answers)
	}
	feed(5 * time.Millisecond) // the baseline at one worker; then 1 → 2
	for c.Workers() < 4 {
		// rising: the rate grows with the count at the same latency
		answers := make([]Answer, 4*c.Workers())
		for i := range answers {
			answers[i] = Answer{Latency: 5 * time.Millisecond}
		}
		now = now.Add(5 * time.Millisecond)
		c.Observe(now, answers)
	}
	w := c.Workers()
	if ch, ok := feed(200 * time.Millisecond); ok && ch.To < w && strings.Contains(ch.Reason, "latency") {
		t.Fatalf("one slow window cut the count: %v", ch)
	}
	cut := false
	for range 5 {
		if ch, ok := feed(200 * time.Millisecond); ok && strings.Contains(ch.Reason, "latency grew") {
			cut = true
		}
	}
	if !cut {
		t.Errorf("slow windows in a row never cut the count (%d workers)", c.Workers())
	}
}

func TestFixedNeverChanges(t *testing.T) {
	for _, n := range []int{1, 3, 16} {
		c := New(Policy{Fixed: n})
		counts, changes := target{base: time.Millisecond, capacity: 1, timeoutAt: 2}.run(c, 5*time.Second)
		if len(changes) > 0 {
			t.Errorf("fixed %d changed: %v", n, changes)
		}
		for _, got := range counts {
			if got != n {
				t.Fatalf("fixed %d ran %d", n, got)
			}
		}
	}
}

func TestWorkerSeed(t *testing.T) {
	if WorkerSeed(42, 0) != 42 {
		t.Error("worker 0 must keep the run's seed")
	}
	seen := map[uint64]int{}
	for i := range 16 {
		s := WorkerSeed(42, i)
		if j, ok := seen[s]; ok {
			t.Errorf("workers %d and %d share seed %d", j, i, s)
		}
		seen[s] = i
		if WorkerSeed(42, i) != s {
			t.Error("not a function of (seed, i)")
		}
	}
	if WorkerSeed(1, 3) == WorkerSeed(2, 3) {
		t.Error("the run's seed does not reach worker 3")
	}
}

// FuzzController: whatever the answers, the count stays within [1, Max]
// and every change says why.
func FuzzController(f *testing.F) {
	f.Add([]byte{5, 0, 5, 0, 200, 1, 3, 2})
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := New(Policy{Max: 8, Window: 2, MinWindow: time.Millisecond})
		now := time.Unix(0, 0)
		for i := 0; i+1 < len(data); i += 2 {
			lat := time.Duration(data[i]) * time.Millisecond
			n := 1 + int(data[i+1]%5)
			answers := make([]Answer, n)
			for j := range answers {
				answers[j] = Answer{Latency: lat, Timeout: data[i+1]&0x40 != 0, ServerError: data[i+1]&0x80 != 0}
			}
			now = now.Add(lat + time.Millisecond)
			ch, ok := c.Observe(now, answers)
			if w := c.Workers(); w < 1 || w > 8 {
				t.Fatalf("workers %d out of [1, 8]", w)
			}
			if ok && (ch.Reason == "" || ch.To != c.Workers()) {
				t.Fatalf("bad change %+v (now %d)", ch, c.Workers())
			}
		}
	})
}

// TestControllerExploresAloneWhileCoverageComes: new coverage in a shared
// window brings the count back to one at once, and it rises again only
// after windows that found nothing new.
func TestControllerExploresAloneWhileCoverageComes(t *testing.T) {
	c := New(Policy{})
	now := time.Unix(0, 0)
	feed := func(novel bool) (Change, bool) {
		w := c.Workers()
		answers := make([]Answer, 40*w) // a target with room for all
		for i := range answers {
			answers[i] = Answer{Latency: 5 * time.Millisecond}
		}
		answers[0].Novel, answers[0].Shared = novel, novel && w > 1
		now = now.Add(time.Second)
		return c.Observe(now, answers)
	}
	c.Observe(now, nil) // the first window starts here
	for range 6 {
		feed(false)
	}
	if c.Workers() < 4 {
		t.Fatalf("count %d after 6 quiet windows, want it to have risen", c.Workers())
	}
	ch, ok := feed(true)
	if !ok || ch.To != 1 || !strings.Contains(ch.Reason, "new coverage") {
		t.Fatalf("new coverage in a shared window: change %v (%v), want back to 1 for new coverage", ch, ok)
	}
	// Discovering alone: credited, so the count stays.
	for range 5 {
		if ch, ok := feed(true); ok {
			t.Fatalf("count changed while coverage still came alone: %v", ch)
		}
	}
	if _, ok := feed(false); !ok || c.Workers() != 2 {
		t.Fatalf("count %d after a quiet window, want 2", c.Workers())
	}
}

// TestOneSlowWindowTakesNothingBack: a window slower than the last (a
// coverage probe switched on for a second) does not cost a worker; two in
// a row do.
func TestOneSlowWindowTakesNothingBack(t *testing.T) {
	c := New(Policy{})
	now := time.Unix(0, 0)
	feed := func(perWorker int) (Change, bool) {
		answers := make([]Answer, perWorker*c.Workers())
		for i := range answers {
			answers[i] = Answer{Latency: 5 * time.Millisecond}
		}
		now = now.Add(time.Second)
		return c.Observe(now, answers)
	}
	c.Observe(now, nil)
	feed(100) // 1 → 2
	feed(100) // 2 → 4
	if c.Workers() != 4 {
		t.Fatalf("count %d after two rising windows, want 4 (doubling)", c.Workers())
	}
	if ch, ok := feed(20); ok {
		t.Fatalf("one slow window changed the count: %v", ch)
	}
	if ch, ok := feed(100); !ok || ch.To != 8 {
		t.Fatalf("after the slow window a rising one: %v (%v), want 4 → 8", ch, ok)
	}
	feed(40)
	if ch, ok := feed(40); !ok || ch.To != 4 {
		t.Fatalf("two windows in a row without a rise: %v (%v), want back to 4", ch, ok)
	}
}

// Python's line probe is on one second in four and makes every request
// several times slower: windows it slowed say nothing of the target's
// speed, however many come in a row, nor of its latency. The windows it
// leaves alone decide.
func TestWindowsACoverageProbeSlowedDecideNothing(t *testing.T) {
	c := New(Policy{})
	now := time.Unix(0, 0)
	feed := func(total int, latency time.Duration, observed bool) (Change, bool) {
		answers := make([]Answer, total)
		for i := range answers {
			answers[i] = Answer{Latency: latency, Observed: observed}
		}
		now = now.Add(time.Second)
		return c.Observe(now, answers)
	}
	c.Observe(now, nil)
	feed(100, 5*time.Millisecond, false) // 1 → 2
	if c.Workers() != 2 {
		t.Fatalf("count %d after a rising window, want 2", c.Workers())
	}
	for i := range 6 {
		if ch, ok := feed(40, 200*time.Millisecond, true); ok {
			t.Fatalf("slowed window %d changed the count: %v", i+1, ch)
		}
	}
	if ch, ok := feed(200, 5*time.Millisecond, false); !ok || ch.To != 4 {
		t.Fatalf("a rising window after the slowed ones: %v (%v), want 2 → 4", ch, ok)
	}
	feed(200, 5*time.Millisecond, false)
	if ch, ok := feed(200, 5*time.Millisecond, false); !ok || ch.To != 2 {
		t.Fatalf("two flat windows the probe left alone: %v (%v), want back to 2", ch, ok)
	}
}

// A crash while several were in flight cannot say which request (or which
// mix of sequences) caused it: the count goes back to one, so that the
// crashes that follow come one request at a time and minimise to their
// cause, and rises again only after a window without a crash.
func TestCrashesSendTheCountBackToOne(t *testing.T) {
	c := New(Policy{})
	now := time.Unix(0, 0)
	feed := func(total int, crashed bool) (Change, bool) {
		answers := make([]Answer, total)
		for i := range answers {
			answers[i] = Answer{Latency: 5 * time.Millisecond}
		}
		answers[0].Crashed = crashed
		now = now.Add(time.Second)
		return c.Observe(now, answers)
	}
	c.Observe(now, nil)
	feed(100, false) // 1 → 2
	feed(200, false) // 2 → 4
	if c.Workers() != 4 {
		t.Fatalf("count %d after two rising windows, want 4", c.Workers())
	}
	if ch, ok := feed(400, true); !ok || ch.To != 1 || !strings.Contains(ch.Reason, "crashed while 4 were in flight") {
		t.Fatalf("a crash with 4 in flight: %v (%v), want back to 1, saying why", ch, ok)
	}
	if ch, ok := feed(100, true); ok {
		t.Fatalf("a window with a crash at one worker changed the count: %v", ch)
	}
	if ch, ok := feed(100, false); !ok || ch.To != 2 {
		t.Fatalf("a window without a crash: %v (%v), want 1 → 2", ch, ok)
	}
}

// A fresh instance that replaced a slowed one warms up: its slow windows
// right after the restart cut nothing; the same windows once it settled do.
func TestWindowsOfAWarmingInstanceDecideNothing(t *testing.T) {
	c := New(Policy{Window: 4, MinWindow: time.Millisecond, Settle: time.Second})
	now := time.Unix(0, 0)
	feed := func(n int, lat time.Duration) (Change, bool) {
		answers := make([]Answer, n)
		for i := range answers {
			answers[i] = Answer{Latency: lat}
		}
		now = now.Add(100 * time.Millisecond)
		return c.Observe(now, answers)
	}
	feed(4, 5*time.Millisecond) // the baseline at one worker; then 1 → 2
	for c.Workers() < 4 {
		feed(4*c.Workers(), 5*time.Millisecond) // the rate rises with the count
	}
	w := c.Workers()
	c.Restarted(now)
	for i := range 8 { // 0.8 s of slow windows, within the settling second
		if ch, ok := feed(4*w, 200*time.Millisecond); ok {
			t.Fatalf("window %d after the restart changed the count: %v", i+1, ch)
		}
	}
	now = now.Add(time.Second)
	cut := false
	for range 5 {
		if ch, ok := feed(4*w, 200*time.Millisecond); ok && strings.Contains(ch.Reason, "latency grew") {
			cut = true
		}
	}
	if !cut {
		t.Errorf("slow windows once settled never cut the count (%d workers)", c.Workers())
	}
}
