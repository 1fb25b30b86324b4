package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/cover/jvm"
)

// Crediting coverage by thread (issue 19). With several requests in
// flight, a first hit is credited to one of them when the thread that made
// it was serving that request alone: the tracer reports which request line
// each thread read (tracer.Head) and when, coverage records carry their
// thread and time (cover.FirstHit), and the workers say when each request
// left and when its answer came (fuzz.Flights). A hit by thread T at time
// t is request R's when
//   - the last request line T read before t matches R and no other request
//     in flight then (same method and target: the same line is ambiguous),
//   - R was not answered before t, and
//   - every earlier request T read was answered before T read R: T holds
//     one request at a time (an event loop that read several at once, or
//     handed one to another thread, credits nothing).
//
// Runtimes that move requests between threads (Go's goroutines, JVM
// virtual threads) break the last rule unseen: Go targets are never
// credited by thread, nor JVMs of Java 21 and later, which may run virtual
// threads (whether a service does is not told apart).
// Hits that no rule credits stay nobody's, as before: the fuzzer calibrates.

// flight is one request the fuzzer sent.
type flight struct {
	id       int    // the fuzzer's id, unique among those in flight
	line     string // "GET /path?q HTTP/1.1"
	op       string // the operation, for the report
	sent     uint64 // CLOCK_MONOTONIC ns
	answered uint64 // 0 while in flight
}

// threadRead is a request line a thread read: the flight it matched (nil:
// none, or several alike: unknown). An unknown read is quiet when none of
// the fuzzer's flights was in flight then: a request whittle sent alone
// (a readiness check, a minimisation, a calibration) and waited for.
type threadRead struct {
	mono  uint64
	f     *flight
	quiet bool
}

// flightBook matches the tracer's heads with the fuzzer's flights.
type flightBook struct {
	heads func(cursor int) ([]tracer.Head, int) // Tracer.RequestHeadsSince
	base  string                                // the target's base URL: its path prefixes every request's

	mu      sync.Mutex
	cursor  int
	flights map[int]*flight // by the fuzzer's id, the latest of each
	recent  []*flight       // in flight or answered lately, oldest first
	// byLine indexes recent by request line: a head is matched against
	// the flights of its own line, not every flight of the last seconds
	// (at a thousand requests a second, ten thousand).
	byLine map[string][]*flight
	// busy holds the periods in which some flight was in flight, oldest
	// first (the last one open while open > 0): what quietAt asks.
	busy       []busySpan
	open       int
	lastAnswer uint64 // the latest answer of the last period
	forgotAt   uint64 // the last forget
	threads    map[uint32][]threadRead
	owners     map[int]int // of the last After
	stats      flightStats
}

// busySpan is a period in which at least one flight was in flight; to is
// 0 while it lasts.
type busySpan struct{ from, to uint64 }

// flightStats count, for the report, heads and the hits credited by thread.
type flightStats struct {
	Heads, Matched, Credited, Refused int
}

const (
	// keptReads bounds the reads remembered per thread: a thread that
	// holds more requests than this at once is not one-request-per-thread
	// anyway, and its older reads count as open (refused).
	keptReads = 32
	// forgetAfter: flights answered this long ago are dropped.
	forgetAfter = 10e9
	// forgetEvery: how often forget looks (it walks every recent flight).
	forgetEvery = 1e9
)

func newFlightBook(tr *tracer.Tracer, base string) (*flightBook, error) {
	if err := tr.WatchRequestHeads(); err != nil {
		return nil, err
	}
	_, cursor := tr.RequestHeadsSince(0)
	return newBook(tr.RequestHeadsSince, base, cursor), nil
}

func newBook(heads func(int) ([]tracer.Head, int), base string, cursor int) *flightBook {
	return &flightBook{heads: heads, base: base, cursor: cursor, flights: map[int]*flight{}, byLine: map[string][]*flight{}, threads: map[uint32][]threadRead{}}
}

// requestLine is the line net/http writes for r against base.
func requestLine(r corpus.Request, base string) string {
	hr, err := r.HTTPRequest(base)
	if err != nil {
		return ""
	}
	return hr.Method + " " + hr.URL.RequestURI() + " HTTP/1.1"
}

func (b *flightBook) sending(id int, r corpus.Request) { b.sendingAt(id, r, tracer.MonotonicNow()) }

func (b *flightBook) sendingAt(id int, r corpus.Request, now uint64) {
	f := &flight{id: id, line: requestLine(r, b.base), op: r.Operation, sent: now}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flights[id] = f
	b.recent = append(b.recent, f)
	b.byLine[f.line] = append(b.byLine[f.line], f)
	if b.open == 0 {
		b.busy = append(b.busy, busySpan{from: now})
		b.lastAnswer = 0
	}
	b.open++
	// Workers read the clock before the lock: a period may begin before
	// the last one ended, or before it began; they are one then.
	last := &b.busy[len(b.busy)-1]
	last.from = min(last.from, now)
	for n := len(b.busy); n > 1 && b.busy[n-2].to >= b.busy[n-1].from; n-- {
		b.lastAnswer = max(b.lastAnswer, b.busy[n-2].to) // the merged period ends no earlier
		b.busy[n-2] = busySpan{from: min(b.busy[n-2].from, b.busy[n-1].from)}
		b.busy = b.busy[:n-1]
	}
}

func (b *flightBook) answered(id int) { b.answeredAt(id, tracer.MonotonicNow()) }

func (b *flightBook) answeredAt(id int, now uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f := b.flights[id]; f != nil && f.answered == 0 {
		f.answered = now
		b.lastAnswer = max(b.lastAnswer, now)
		if b.open--; b.open == 0 {
			last := &b.busy[len(b.busy)-1]
			last.to = max(b.lastAnswer, last.from)
		}
	}
}

// match returns the one flight in flight when h was read whose line h's
// is (or starts, when truncated); nil when none or several.
func (b *flightBook) match(h tracer.Head) *flight {
	candidates := b.byLine[h.Line]
	if h.Truncated {
		candidates = b.recent // a line's start: rare (lines over a record)
	}
	var found *flight
	for _, f := range candidates {
		if f.sent > h.Mono || (f.answered != 0 && f.answered < h.Mono) {
			continue
		}
		if f.line == h.Line || h.Truncated && strings.HasPrefix(f.line, h.Line) {
			if found != nil {
				return nil
			}
			found = f
		}
	}
	return found
}

// attribute reads the new heads and credits hits: the functions each
// flight made, by the fuzzer's id, become the owners (Owners); it returns
// the operation of each credited unit.
func (b *flightBook) attribute(hits []cover.FirstHit) map[string]string {
	heads, next := b.heads(b.cursor)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cursor = next
	for _, h := range heads {
		f := b.match(h)
		b.stats.Heads++
		if f != nil {
			b.stats.Matched++
		}
		reads := append(b.threads[h.Thread], threadRead{mono: h.Mono, f: f, quiet: f == nil && b.quietAt(h.Mono)})
		if len(reads) > keptReads {
			reads = reads[len(reads)-keptReads:]
		}
		b.threads[h.Thread] = reads
	}
	owners, ops := map[int]int{}, map[string]string{}
	for _, hit := range hits {
		if f := b.servedBy(hit); f != nil {
			owners[f.id]++
			ops[hit.Unit()] = f.op
			b.stats.Credited++
		} else if hit.Thread != 0 {
			b.stats.Refused++
		}
	}
	b.forget()
	b.owners = owners
	return ops
}

// servedBy returns the flight whose serving thread made hit, or nil.
func (b *flightBook) servedBy(hit cover.FirstHit) *flight {
	if hit.Thread == 0 || hit.Mono == 0 {
		return nil
	}
	reads := b.threads[hit.Thread]
	last := -1
	for i, r := range reads {
		if r.mono <= hit.Mono {
			last = i
		}
	}
	if last < 0 {
		return nil
	}
	r := reads[last]
	if r.f == nil || (r.f.answered != 0 && r.f.answered < hit.Mono) || b.flights[r.f.id] != r.f {
		return nil
	}
	if last == 0 && len(reads) == keptReads {
		return nil // older reads forgotten: they may still be open
	}
	for _, p := range reads[:last] {
		switch {
		case p.f == nil && (!p.quiet || p.mono > r.f.sent):
			return nil
		case p.f != nil && (p.f.answered == 0 || p.f.answered > r.mono):
			return nil
		}
	}
	return r.f
}

// quietAt reports whether none of the fuzzer's flights was in flight at
// mono. Called with b.mu held.
func (b *flightBook) quietAt(mono uint64) bool {
	// the last period that began by mono
	i, _ := slices.BinarySearchFunc(b.busy, mono, func(s busySpan, t uint64) int { return cmp.Compare(s.from, t+1) })
	if i == 0 {
		return true
	}
	s := b.busy[i-1]
	return s.to != 0 && s.to < mono
}

// forget drops flights answered long ago, and the reads of them. Called
// with b.mu held.
func (b *flightBook) forget() {
	now := tracer.MonotonicNow()
	if now-b.forgotAt < forgetEvery {
		return
	}
	b.forgotAt = now
	keep := b.recent[:0]
	clear(b.byLine)
	for _, f := range b.recent {
		if f.answered == 0 || now-f.answered < forgetAfter {
			keep = append(keep, f)
			b.byLine[f.line] = append(b.byLine[f.line], f)
		} else if b.flights[f.id] == f {
			delete(b.flights, f.id)
		}
	}
	clear(b.recent[len(keep):])
	b.recent = keep
	old := 0
	for old < len(b.busy) && b.busy[old].to != 0 && now-b.busy[old].to > forgetAfter {
		old++
	}
	b.busy = append(b.busy[:0], b.busy[old:]...)
	for th, reads := range b.threads {
		if n := len(reads); n > 0 && now-reads[n-1].mono > forgetAfter {
			delete(b.threads, th)
		}
	}
}

func (b *flightBook) snapshot() flightStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// flightFeedback is the trace feedback of a concurrent run on a target
// whose coverage records tell their thread: it implements fuzz.Flights.
type flightFeedback struct {
	*traceFeedback
	book *flightBook
	// credited counts the units of the last After credited by thread.
	credited int
}

var _ fuzz.Flights = (*flightFeedback)(nil)

func (f *flightFeedback) Sending(id int, r corpus.Request) { f.book.sending(id, r) }
func (f *flightFeedback) Answered(id int)                  { f.book.answered(id) }

func (f *flightFeedback) After(ctx context.Context) (fuzz.Signal, error) {
	sig, err := f.traceFeedback.After(ctx)
	if err != nil {
		f.book.attribute(nil) // owners of nothing
		return sig, err
	}
	ops := f.book.attribute(f.traceFeedback.lastHits)
	// The report names the operation that first reached each unit: the
	// credited ones are their request's; the others are the answered
	// request's only if the fuzzer credited it with all of them (a solo
	// window), which credit checks.
	tf := f.traceFeedback
	rest := tf.pending[:0]
	for _, u := range tf.pending {
		if op, ok := ops[u]; ok {
			if _, seen := tf.firstBy[u]; !seen {
				tf.firstBy[u] = op
			}
			continue
		}
		rest = append(rest, u)
	}
	tf.pending, f.credited = rest, len(ops)
	return sig, nil
}

// credit is traceFeedback.credit for a run that credits by thread: the
// units left are the answered request's only when the fuzzer credited it
// with every function the window showed.
func (f *flightFeedback) credit(x fuzz.Exchange) {
	if x.Signal.Functions < len(f.pending)+f.credited {
		f.pending = nil
	}
	f.traceFeedback.credit(x)
}

func (f *flightFeedback) Owners() map[int]int {
	f.book.mu.Lock()
	defer f.book.mu.Unlock()
	return f.book.owners
}

// threadCredit says whether coverage of cov can be credited by thread,
// and why not.
func threadCredit(cov cover.Source) (bool, string) {
	if cov == nil {
		return false, "no code coverage"
	}
	st := cov.Stats()
	if st.Source == "gopclntab" {
		return false, "Go moves goroutines between threads"
	}
	if v, ok := cov.(interface{ VMVersion() string }); ok && st.Kind == cover.JVMMethods {
		// Virtual threads move between carrier threads, unseen by the
		// tracer; whether the service uses them is not told.
		if n, known := jvm.FeatureVersion(v.VMVersion()); known && n >= 21 {
			return false, fmt.Sprintf("Java %d may serve requests on virtual threads, which move between threads", n)
		}
	}
	// V8's counters tell no thread: its hits are never credited, which
	// costs nothing to find out.
	return true, ""
}
