package fuzz

import (
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/oracle"
)

func TestFindingsAreDeduplicated(t *testing.T) {
	fs := newFindingSet()
	one := Finding{Operation: "GET /a", Check: oracle.CheckServerError, Signature: "500 x", Requests: make([]corpus.Request, 3)}
	if _, isNew, _ := fs.add(one); !isNew {
		t.Fatal("first not new")
	}
	shorter := one
	shorter.Requests = make([]corpus.Request, 1)
	if got, isNew, better := fs.add(shorter); isNew || !better || got.Count != 2 {
		t.Fatalf("second: new=%v better=%v count=%d", isNew, better, got.Count)
	}
	minimized := one
	minimized.Requests, minimized.Minimized = make([]corpus.Request, 2), true
	if got, _, better := fs.add(minimized); !better || !got.Minimized || len(got.Requests) != 2 {
		t.Fatalf("minimised reproducer not preferred: better=%v %+v", better, got)
	}
	if _, _, better := fs.add(shorter); better {
		t.Fatal("a shorter, unminimised reproducer replaced a minimised one")
	}
	other := one
	other.Signature = "500 y"
	fs.add(other)
	list := fs.list()
	if len(list) != 2 || len(list[0].Requests) != 2 || list[0].ID == list[1].ID {
		t.Errorf("findings %+v", list)
	}
}

// A finding keeps a bounded part of its answer: the target chooses its
// size, and a run keeps many findings.
func TestFindingsKeepABoundedAnswer(t *testing.T) {
	fs := newFindingSet()
	big := corpus.Response{Status: 500, Body: make([]byte, 1<<20),
		Header: map[string][]string{"Content-Type": {"text/plain"}, "X-Flood": {strings.Repeat("h", 900<<10)}}}
	got, _, _ := fs.add(Finding{Operation: "GET /a", Check: oracle.CheckServerError, Signature: "500 x", Response: big})
	if len(got.Response.Body) != findingAnswerBytes || !got.Response.Truncated {
		t.Errorf("body of %d bytes kept, truncated %v", len(got.Response.Body), got.Response.Truncated)
	}
	if got.Response.Header["Content-Type"] == nil || got.Response.Header["X-Flood"] != nil {
		t.Errorf("headers kept: %d", len(got.Response.Header))
	}
	if len(big.Header) != 2 || len(big.Body) != 1<<20 {
		t.Error("the answer given was changed")
	}
}
