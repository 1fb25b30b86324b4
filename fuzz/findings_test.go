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

// A crash that was never reproduced from a fresh start names the request
// that noticed it, a guess with several in flight; one reproduced later
// under another operation takes its place and its count. Reproduced ones,
// other signatures and other checks stay.
func TestAReproducedCrashReplacesTheGuesses(t *testing.T) {
	fs := newFindingSet()
	crash := func(op, sig string, minimised bool) Finding {
		return Finding{Operation: op, Check: oracle.CheckCrash, Signature: sig, Minimized: minimised}
	}
	fs.add(crash("POST /pets", "exited with status 70", false))
	fs.add(crash("POST /pets", "exited with status 70", false))
	fs.add(crash("PUT /pets/{id}", "exited with status 70", true))
	fs.add(crash("DELETE /pets/{id}", "exited with status 2", false))
	fs.add(Finding{Operation: "GET /pets", Check: oracle.CheckServerError, Signature: "exited with status 70"})
	cause := crash("GET /pets/{id}", "exited with status 70", true)
	ids, n := fs.dropGuesses(cause)
	if len(ids) != 1 || ids[0] != findingID("POST /pets", oracle.CheckCrash, "exited with status 70") || n != 2 {
		t.Fatalf("dropped %v counting %d: want the POST guess, counting 2", ids, n)
	}
	var left []string
	for _, f := range fs.list() {
		left = append(left, f.Operation+" "+string(f.Check)+" "+f.Signature)
	}
	want := "PUT /pets/{id} crash exited with status 70, DELETE /pets/{id} crash exited with status 2, GET /pets server-error exited with status 70"
	if strings.Join(left, ", ") != want {
		t.Errorf("left %q, want %q", strings.Join(left, ", "), want)
	}
	if fs.full("POST /pets", oracle.CheckCrash) || fs.perCheck[checkKey("POST /pets", oracle.CheckCrash)] != 0 {
		t.Error("the dropped guess still counts against its operation's budget")
	}
	cause.Count = 1 + n
	if got, isNew, _ := fs.add(cause); !isNew || got.Count != 3 {
		t.Errorf("the reproduced crash: new %v, count %d; want new, 3", isNew, got.Count)
	}
}
