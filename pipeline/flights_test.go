package pipeline

import (
	"maps"
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
	tb.flightBook = &flightBook{base: "http://127.0.0.1:8080/v1", flights: map[int]*flight{}, threads: map[uint32][]threadRead{},
		heads: func(c int) ([]tracer.Head, int) { return tb.log[min(c, len(tb.log)):], len(tb.log) }}
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
