package pipeline

import (
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
)

// testBook is a flight book fed by hand: heads as the tracer would report
// them, times in ns of a made-up monotonic clock (recent enough that
// forget keeps everything).
type testBook struct {
	*flightBook
	log []tracer.Head
}

func newTestBook() *testBook {
	tb := &testBook{}
	tb.flightBook = newBook(func(c int) ([]tracer.Head, int) { return tb.log[min(c, len(tb.log)):], len(tb.log) }, "http://127.0.0.1:8080/v1", 0)
	return tb
}

func (tb *testBook) read(thread uint32, at uint64, line string) {
	tb.log = append(tb.log, tracer.Head{Thread: thread, Mono: at, Line: line})
}

// credit is attribute with the owners it leaves.
func (tb *testBook) credit(hits []cover.FirstHit) (map[int]int, map[string]string) {
	ops := tb.attribute(hits)
	return tb.owners, ops
}

func hitBy(unit string, thread uint32, at uint64) cover.FirstHit {
	return cover.FirstHit{Function: cover.Function{Name: unit}, Thread: thread, Mono: at}
}

func TestFlightBookCreditsAThreadServingOneRequest(t *testing.T) {
	base := tracer.MonotonicNow()
	tb := newTestBook()
	get := corpus.Request{Operation: "GET /pets", Method: "GET", Path: "/pets?limit=2"}
	post := corpus.Request{Operation: "POST /pets", Method: "POST", Path: "/pets"}
	tb.sendingAt(1, get, base+10)
	tb.sendingAt(2, post, base+11)
	tb.read(100, base+20, "GET /v1/pets?limit=2 HTTP/1.1")
	tb.read(200, base+21, "POST /v1/pets HTTP/1.1")
	owners, ops := tb.credit([]cover.FirstHit{
		hitBy("list", 100, base+30), hitBy("create", 200, base+31),
		hitBy("timer", 300, base+32), // a thread that read nothing
		hitBy("v8", 0, 0),            // no thread
		hitBy("early", 100, base+15), // before its thread read anything
	})
	if want := map[int]int{1: 1, 2: 1}; !maps.Equal(owners, want) {
		t.Fatalf("owners %v, want %v", owners, want)
	}
	if ops["list"] != "GET /pets" || ops["create"] != "POST /pets" || len(ops) != 2 {
		t.Fatalf("operations %v", ops)
	}

	// An event loop: thread 100 reads a second request before the first
	// is answered; from then on, its hits are nobody's.
	tb.sendingAt(3, corpus.Request{Method: "GET", Path: "/pets/1"}, base+40)
	tb.read(100, base+41, "GET /v1/pets/1 HTTP/1.1")
	if owners, _ := tb.credit([]cover.FirstHit{hitBy("show", 100, base+50)}); len(owners) != 0 {
		t.Fatalf("a thread holding two requests credited %v", owners)
	}
	// Answered after its hit: still credited; a hit after its answer
	// is not.
	tb.answeredAt(2, base+60)
	if owners, _ := tb.credit([]cover.FirstHit{hitBy("late", 200, base+61), hitBy("in-time", 200, base+59)}); !maps.Equal(owners, map[int]int{2: 1}) {
		t.Fatalf("owners %v: want only the hit before the answer", owners)
	}
	// Two requests alike in flight: their line tells neither.
	tb.sendingAt(4, get, base+70)
	tb.sendingAt(5, get, base+71)
	tb.answeredAt(1, base+65)
	tb.read(400, base+72, "GET /v1/pets?limit=2 HTTP/1.1")
	if owners, _ := tb.credit([]cover.FirstHit{hitBy("twin", 400, base+80)}); len(owners) != 0 {
		t.Fatalf("an ambiguous line credited %v", owners)
	}
	// A quiet read (no flight in flight: whittle's own request alone)
	// before a flight's does not stop credit; a truncated line matches
	// by its start.
	tb2 := newTestBook()
	tb2.read(500, base+5, "GET /v1/health HTTP/1.1")
	tb2.sendingAt(1, corpus.Request{Method: "GET", Path: "/pets?q=aaaaaaaaaaaaaaaaaaaa"}, base+10)
	tb2.log = append(tb2.log, tracer.Head{Thread: 500, Mono: base + 20, Line: "GET /v1/pets?q=aaaa", Truncated: true})
	if owners, _ := tb2.credit([]cover.FirstHit{hitBy("q", 500, base+30)}); !maps.Equal(owners, map[int]int{1: 1}) {
		t.Fatalf("owners %v: want the truncated line's flight after a quiet read", owners)
	}
}

// The book's indexes (flights by line, busy periods) answer as a scan of
// every recent flight does. Workers read the clock before the lock, so
// times come slightly out of order: matches still agree exactly; a busy
// period may then cover a gap narrower than that disorder, never the
// other way round (quiet excuses a read, busy only refuses a credit).
func TestFlightBookIndexesAgreeWithAScan(t *testing.T) {
	for _, disorder := range []int{0, 1e6} {
		rng := rand.New(rand.NewPCG(19, uint64(disorder)))
		lines := []string{"/pets", "/pets/1", "/orders", "/health"}
		for round := range 200 {
			tb := newTestBook()
			now := uint64(1e12)
			inFlight := map[int]*flight{}
			for step := range 60 {
				now += uint64(rng.IntN(3e6))
				at := now
				if disorder > 0 {
					at -= uint64(rng.IntN(disorder)) // read before the lock
				}
				id := rng.IntN(6)
				if f := inFlight[id]; f != nil {
					tb.answeredAt(id, max(at, f.sent)) // one worker's clock runs forward
					delete(inFlight, id)
				} else {
					tb.sendingAt(id, corpus.Request{Method: "GET", Path: lines[rng.IntN(len(lines))]}, at)
					inFlight[id] = tb.flights[id]
				}
				mono := now - uint64(rng.IntN(8e6))
				for _, line := range lines {
					h := tracer.Head{Mono: mono, Line: "GET /v1" + line + " HTTP/1.1"}
					if got, want := tb.match(h), scanMatch(tb.recent, h); got != want {
						t.Fatalf("disorder %d round %d step %d: match(%q at %d) = %v, a scan finds %v", disorder, round, step, h.Line, mono, got, want)
					}
				}
				got, want := tb.quietAt(mono), scanQuiet(tb.recent, mono)
				if got && !want || disorder == 0 && got != want {
					t.Fatalf("disorder %d round %d step %d: quietAt(%d) = %v, a scan says %v", disorder, round, step, mono, got, want)
				}
			}
		}
	}
}

func scanMatch(recent []*flight, h tracer.Head) *flight {
	var found *flight
	for _, f := range recent {
		if f.sent > h.Mono || (f.answered != 0 && f.answered < h.Mono) || f.line != h.Line {
			continue
		}
		if found != nil {
			return nil
		}
		found = f
	}
	return found
}

func scanQuiet(recent []*flight, mono uint64) bool {
	for _, f := range recent {
		if f.sent <= mono && (f.answered == 0 || f.answered >= mono) {
			return false
		}
	}
	return true
}

// jvmSource is a JVM's coverage as threadCredit sees it.
type jvmSource struct {
	cover.Source
	version string
}

func (j jvmSource) Stats() cover.Stats { return cover.Stats{Kind: cover.JVMMethods} }
func (j jvmSource) VMVersion() string  { return j.version }

// Runtimes that may move a request between threads are not credited by
// thread: Go, and Java from 21 (virtual threads).
func TestThreadCreditRefusesRuntimesThatMoveRequests(t *testing.T) {
	for _, c := range []struct {
		version string
		ok      bool
	}{{"17.0.9+9-Debian-1deb12u1", true}, {"11.0.21+9", true}, {"", true}, {"21.0.2+13-LTS", false}, {"23+37", false}} {
		ok, why := threadCredit(jvmSource{version: c.version})
		if ok != c.ok || !ok && !strings.Contains(why, "virtual threads") {
			t.Errorf("JVM %q: credit %v (%q), want %v", c.version, ok, why, c.ok)
		}
	}
}
