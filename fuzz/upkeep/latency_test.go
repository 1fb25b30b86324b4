package upkeep

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time            { return c.t }
func (c *fakeClock) add(d time.Duration)       { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock                 { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func ms(f float64) time.Duration               { return time.Duration(f * float64(time.Millisecond)) }
func jitter(rng *rand.Rand, f float64) float64 { return f * math.Exp(rng.NormFloat64()*0.35) }

// mixOp is one operation of a simulated fuzzing mix: its share of the
// requests and its latency as a function of the request number.
type mixOp struct {
	id     string
	weight int
	ms     func(n int) float64
}

// drive sends n simulated answers (1000 a second of fake time) and asks
// for a verdict after every 5 (a sequence); it returns the request number
// of the first restart verdict (-1: none) and its reason.
func drive(t *testing.T, lt *Latency, clk *fakeClock, ops []mixOp, n int, slowMachine func(n int) float64) (int, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for i := 0; i < n; i++ {
		pick := rng.IntN(total)
		var op mixOp
		for _, o := range ops {
			if pick < o.weight {
				op = o
				break
			}
			pick -= o.weight
		}
		f := jitter(rng, op.ms(i))
		if slowMachine != nil {
			f *= slowMachine(i)
		}
		clk.add(time.Millisecond)
		lt.Observe(op.id, 200, ms(f))
		if i%5 == 4 {
			if slow, why := lt.Verdict(); slow {
				return i, why
			}
		}
	}
	return -1, ""
}

func steady(v float64) func(int) float64 { return func(int) float64 { return v } }

// A service whose list walks everything created: its latency grows with
// every request, and the target is restarted, after the minimum gap.
func TestLatencyGrowthRestarts(t *testing.T) {
	clk := newFakeClock()
	lt := NewLatency(DefaultLatencyPolicy, clk.now)
	ops := []mixOp{
		{"GET /items", 2, func(n int) float64 { return 0.4 + float64(n)*0.0004 }}, // +0.4 ms per 1000 requests
		{"POST /items", 2, steady(0.5)},
		{"GET /items/{id}", 4, steady(0.3)},
		{"GET /health", 2, steady(0.2)},
	}
	at, why := drive(t, lt, clk, ops, 200_000, nil)
	if at < 0 {
		t.Fatal("no restart for a list whose latency grows without bound")
	}
	if at+1 < int(DefaultLatencyPolicy.MinGap/time.Millisecond) {
		t.Errorf("restarted after %d requests (%d ms of fake time), before the minimum gap %s", at+1, at+1, DefaultLatencyPolicy.MinGap)
	}
	if !strings.Contains(why, "GET /items 2xx") || !strings.Contains(why, "latency grew") {
		t.Errorf("reason %q does not name the operation that slowed down", why)
	}
	t.Logf("restart after %d requests: %s", at, why)

	// A fresh instance has baselines of its own: one that answers as slowly
	// as the old one ended, and stays so, is not restarted.
	lt.Reset()
	clk.add(time.Hour)
	if slow, why := lt.Verdict(); slow {
		t.Fatalf("restart verdict right after a reset: %s", why)
	}
	level := ops[0].ms(at)
	ops[0].ms = steady(level)
	if again, why := drive(t, lt, clk, ops, 100_000, nil); again >= 0 {
		t.Errorf("restart %d requests after a reset, at a steady %.1f ms: %s", again, level, why)
	}
}

// A shared, loaded machine: every answer slows down 3× for a minute, and
// 10× in short bursts. No operation grew by itself: no restart.
func TestLatencyNoiseDoesNotRestart(t *testing.T) {
	clk := newFakeClock()
	lt := NewLatency(DefaultLatencyPolicy, clk.now)
	ops := []mixOp{
		{"GET /items", 2, steady(0.4)},
		{"POST /items", 2, steady(0.5)},
		{"GET /items/{id}", 4, steady(0.3)},
		{"GET /health", 2, steady(0.2)},
	}
	load := func(n int) float64 {
		switch {
		case n > 60_000 && n < 120_000: // a build next door for a minute
			return 3
		case n%20_000 < 150: // bursts of 150 requests
			return 10
		}
		return 1
	}
	if at, why := drive(t, lt, clk, ops, 300_000, load); at >= 0 {
		t.Fatalf("restart after %d requests on noise alone: %s", at, why)
	}
}

// An operation that slows down a lot but is rarely sent costs little: a
// restart would not buy throughput.
func TestLatencyRareSlowOperationDoesNotRestart(t *testing.T) {
	clk := newFakeClock()
	lt := NewLatency(DefaultLatencyPolicy, clk.now)
	ops := []mixOp{
		{"GET /report", 1, func(n int) float64 { return 0.5 + math.Min(float64(n)*0.0001, 10) }}, // up to 10 ms
		{"GET /items", 99, steady(1)},
	}
	if at, why := drive(t, lt, clk, ops, 200_000, nil); at >= 0 {
		t.Fatalf("restart after %d requests for a rare operation: %s", at, why)
	}
}

// A sudden, lasting slowdown of one heavy operation restarts only once it
// persisted for the policy's windows.
func TestLatencyPersistence(t *testing.T) {
	p := LatencyPolicy{Warmup: 2, Baseline: 10, Window: 10, Factor: 4, MinExcess: time.Millisecond, Persist: 3, Slowdown: 1.5, MinGap: 0}
	clk := newFakeClock()
	lt := NewLatency(p, clk.now)
	feed := func(n int, d time.Duration) {
		for i := 0; i < n; i++ {
			lt.Observe("GET /items", 200, d)
		}
	}
	feed(12, ms(0.5)) // warm-up and baseline
	feed(20, ms(8))   // two slow windows
	if slow, why := lt.Verdict(); slow {
		t.Fatalf("restart after two slow windows of three: %s", why)
	}
	feed(10, ms(0.5)) // one normal window: persistence starts over
	feed(20, ms(8))
	if slow, _ := lt.Verdict(); slow {
		t.Fatal("restart although a normal window broke the run of slow ones")
	}
	feed(10, ms(8))
	if slow, why := lt.Verdict(); !slow {
		t.Fatal("no restart after three slow windows in a row")
	} else {
		t.Log(why)
	}
	// Answers of another class are another key: a fast 400 does not hide a slow 200.
	lt.Reset()
	for i := 0; i < 12; i++ {
		lt.Observe("GET /items", 400, ms(0.1))
		lt.Observe("GET /items", 200, ms(0.5))
	}
	for i := 0; i < 30; i++ {
		lt.Observe("GET /items", 400, ms(0.1))
		lt.Observe("GET /items", 200, ms(8))
	}
	if slow, why := lt.Verdict(); !slow || !strings.Contains(why, "GET /items 2xx") {
		t.Errorf("slow 2xx answers among fast 4xx ones: verdict %v %q", slow, why)
	}
	// No answer (status 0) is no latency.
	lt.Reset()
	for i := 0; i < 100; i++ {
		lt.Observe("GET /items", 0, time.Second)
	}
	if len(lt.keys) != 0 {
		t.Errorf("requests without an answer were recorded: %v", lt.keys)
	}
}
