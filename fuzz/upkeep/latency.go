package upkeep

import (
	"fmt"
	"slices"
	"time"
)

// LatencyPolicy says when a target that keeps slowing down is replaced by
// a fresh one. A stateful service the fuzzer fills (every create adds to
// what lists and lookups walk) answers slower and slower; a fresh container
// answers at its first speed again.
//
// Each operation's latency (per answer class: a 400 is not a 200) is
// compared with that operation's own baseline, the median of its first
// answers after the target started: the median of each window of later
// answers must stay under Factor times the baseline (and MinExcess above
// it). The target is restarted when one operation stayed over for Persist
// windows in a row, and the answers of the last window as a whole, at the
// mix of operations the fuzzer sends now, took Slowdown times as long as
// the same mix at the baselines (only what grew counted at its new
// latency): a restart then buys that much throughput.
// Medians over windows, persistence, an absolute excess and the weighted
// slowdown keep a loaded machine's noise (every answer 2× slower for a
// while) from restarting anything; MinGap bounds how often it can happen.
type LatencyPolicy struct {
	Warmup    int           // answers of an operation ignored after a start
	Baseline  int           // answers forming its baseline
	Window    int           // answers per window
	Factor    float64       // window median ≥ Factor × baseline ...
	MinExcess time.Duration // ... and ≥ baseline + MinExcess
	Persist   int           // windows over in a row
	Slowdown  float64       // weighted slowdown of the current mix
	MinGap    time.Duration // since the target started, and between restarts
}

// DefaultLatencyPolicy is the policy runs use unless told otherwise (fuzz.WithLatencyRestarts).
var DefaultLatencyPolicy = LatencyPolicy{
	Warmup: 8, Baseline: 24, Window: 24, Factor: 4, MinExcess: 2 * time.Millisecond,
	Persist: 3, Slowdown: 1.5, MinGap: 30 * time.Second,
}

// recentSpan is how many of the last answers give the mix of operations.
const recentSpan = 512

// Latency follows the latency of each operation of one target instance.
// It is only used from the fuzz loop's goroutine.
type Latency struct {
	p     LatencyPolicy
	now   func() time.Time
	since time.Time // the instance's start
	keys  map[latencyKey]*keyLatency
	// recent holds the keys of the last answers (a ring): the mix.
	recent []latencyKey
	next   int
}

// keyLatency is one operation's (and answer class's) latency on one instance.
type keyLatency struct {
	seen    int
	base    []time.Duration
	median  time.Duration // of the baseline, once complete
	window  []time.Duration
	last    time.Duration // median of the last full window
	over    int           // full windows in a row over the threshold
	overMax time.Duration // largest window median of the current run of over
}

// NewLatency follows latencies under policy p; now is the clock (nil: time.Now).
func NewLatency(p LatencyPolicy, now func() time.Time) *Latency {
	if now == nil {
		now = time.Now
	}
	return &Latency{p: p, now: now, since: now(), keys: map[latencyKey]*keyLatency{}}
}

// Reset starts over for a fresh instance: its baselines are its own.
func (t *Latency) Reset() {
	t.since = t.now()
	clear(t.keys)
	t.recent, t.next = t.recent[:0], 0
}

// latencyKey is an operation and the class of its answer (2 for 2xx).
type latencyKey struct {
	op    string
	class int
}

func (k latencyKey) String() string { return fmt.Sprintf("%s %dxx", k.op, k.class) }

// less orders keys by operation, then class.
func (k latencyKey) less(o latencyKey) bool {
	return k.op < o.op || k.op == o.op && k.class < o.class
}

// Observe records one answer's latency. Answers that did not come (status
// 0) say nothing about the service's speed.
func (t *Latency) Observe(op string, status int, d time.Duration) {
	if status < 100 || d <= 0 {
		return
	}
	k := latencyKey{op: op, class: status / 100}
	if len(t.recent) < recentSpan {
		t.recent = append(t.recent, k)
	} else {
		t.recent[t.next] = k
		t.next = (t.next + 1) % recentSpan
	}
	l := t.keys[k]
	if l == nil {
		l = &keyLatency{}
		t.keys[k] = l
	}
	l.seen++
	switch {
	case l.seen <= t.p.Warmup:
		return
	case len(l.base) < t.p.Baseline:
		l.base = append(l.base, d)
		if len(l.base) == t.p.Baseline {
			l.median = median(l.base)
		}
		return
	}
	l.window = append(l.window, d)
	if len(l.window) < t.p.Window {
		return
	}
	m := median(l.window)
	l.window = l.window[:0]
	l.last = m
	if float64(m) >= t.p.Factor*float64(l.median) && m-l.median >= t.p.MinExcess {
		l.over++
		l.overMax = max(l.overMax, m)
	} else {
		l.over, l.overMax = 0, 0
	}
}

// Verdict says whether the target should be restarted now, and why.
func (t *Latency) Verdict() (bool, string) {
	if t.now().Sub(t.since) < t.p.MinGap {
		return false, ""
	}
	var worst latencyKey
	var wl *keyLatency
	for k, l := range t.keys {
		if l.over >= t.p.Persist && (wl == nil || ratio(l) > ratio(wl) || ratio(l) == ratio(wl) && k.less(worst)) {
			worst, wl = k, l
		}
	}
	if wl == nil {
		return false, ""
	}
	slow := t.slowdown()
	if slow < t.p.Slowdown {
		return false, ""
	}
	l := wl
	return true, fmt.Sprintf("latency grew: %s answered in %s (median of %d), %.0f× its %s after the start, %d windows in a row; at the current mix of operations answers take %.1f× as long; a fresh instance replaces it (ids the old one handed out are forgotten)",
		worst, round(l.last), t.p.Window, ratio(l), round(l.median), l.over, slow)
}

func ratio(l *keyLatency) float64 {
	if l.median <= 0 {
		return 0
	}
	return float64(l.last) / float64(l.median)
}

// slowdown is how much longer the recent mix of answers takes with the
// keys that slowed down (over their threshold) at their latest window
// median, the others at their baseline, than with every key at its
// baseline: what a restart would buy. Taking the others' latest medians
// too would add their sampling noise (a median of 24 answers on a loaded
// machine easily moves by a third). Keys without a baseline do not count.
func (t *Latency) slowdown() float64 {
	count := map[latencyKey]int{}
	for _, k := range t.recent {
		count[k]++
	}
	var now, base float64
	for k, n := range count {
		l := t.keys[k]
		if l == nil || l.median == 0 {
			continue
		}
		cur := l.median
		if l.over > 0 {
			cur = l.last
		}
		now += float64(n) * float64(cur)
		base += float64(n) * float64(l.median)
	}
	if base == 0 {
		return 0
	}
	return now / base
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 100*time.Microsecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
