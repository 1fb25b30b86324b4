package fuzz

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// recordCorpus fuzzes a fresh pets API and returns the corpus it kept.
func recordCorpus(t *testing.T, n int64) []Entry {
	t.Helper()
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	res, err := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(3), WithMaxRequests(n)).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res.Corpus
}

func exchangeKey(x Exchange) string {
	return fmt.Sprintf("%d.%d %s -> %d %s %q", x.Entry, x.Step, x.Request.Key(), x.Response.Status, x.Response.Body, x.Crash)
}

func TestReplayIsDeterministicAndRebindsIds(t *testing.T) {
	s := loadPets(t)
	entries := recordCorpus(t, 600)
	if len(entries) < 10 {
		t.Fatalf("only %d corpus entries", len(entries))
	}
	replay := func(firstID int64) []Exchange {
		srv, api := newPetsServer(t)
		api.next = firstID - 1
		x, err := Replay(context.Background(), s, newHTTPSender(srv.URL, 5*time.Second), entries)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	a, b := replay(1), replay(1)
	if len(a) != len(b) {
		t.Fatalf("replays sent %d and %d requests", len(a), len(b))
	}
	for i := range a {
		if exchangeKey(a[i]) != exchangeKey(b[i]) {
			t.Fatalf("exchange %d differs:\n%s\n%s", i, exchangeKey(a[i]), exchangeKey(b[i]))
		}
	}
	steps := 0
	for _, e := range entries {
		steps += len(e.Steps)
	}
	if len(a) != steps {
		t.Errorf("%d exchanges for %d steps", len(a), steps)
	}
	// A target whose ids start elsewhere: bound ids follow its answers.
	c := replay(500)
	if len(c) != len(a) {
		t.Fatalf("replay against other ids sent %d requests, want %d", len(c), len(a))
	}
	rebound := 0
	for i := range a {
		if a[i].Entry != c[i].Entry || a[i].Step != c[i].Step || a[i].Request.Operation != c[i].Request.Operation {
			t.Fatalf("exchange %d is %d.%d in one replay and %d.%d in the other", i, a[i].Entry, a[i].Step, c[i].Entry, c[i].Step)
		}
		if strings.HasPrefix(c[i].Request.Path, "/v1/pets/5") && c[i].Response.Status < 300 && a[i].Response.Status < 300 {
			rebound++
		}
	}
	if rebound == 0 {
		t.Error("no request used the ids the second target gave")
	}
}

func TestReplayRestartsAfterCrash(t *testing.T) {
	s := loadPets(t)
	target := newCrashTarget(t)
	f := New(s, target.sender, WithSeed(1), WithTarget(target))
	const id = "path.petId"
	get := testStep(t, f, "GET /pets/{petId}")
	get.Copies = []Copy{{Param: id, Step: 1, From: id}}
	entries := []Entry{
		{Steps: []Step{testStep(t, f, "POST /pets"), testStep(t, f, "DELETE /pets/{petId}", id), get, testStep(t, f, "GET /stats")}},
		{Steps: []Step{testStep(t, f, "POST /pets"), testStep(t, f, "GET /pets/{petId}", id)}},
		{Steps: []Step{testStep(t, f, "POST /pets"), testStep(t, f, "POST /pets/{petId}/photo", id), testStep(t, f, "DELETE /pets/{petId}", id)}},
		{Steps: []Step{testStep(t, f, "GET /stats")}},
	}
	var hooked int
	x, err := Replay(context.Background(), s, target.sender, entries, WithTarget(target), WithCrashGrace(200*time.Millisecond),
		WithExchangeHook(func(Exchange) { hooked++ }))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range x {
		got = append(got, fmt.Sprintf("%d.%d %s %d %s", e.Entry, e.Step, e.Request.Operation, e.Response.Status, e.Crash))
	}
	want := []string{
		"0.0 POST /pets 201 ", "0.1 DELETE /pets/{petId} 204 ", "0.2 GET /pets/{petId} 0 exited with status 70",
		// restarted: the entry's last step is skipped, ids start again at 1
		"1.0 POST /pets 201 ", "1.1 GET /pets/{petId} 200 ",
		"2.0 POST /pets 201 ", "2.1 POST /pets/{petId}/photo 201 ", "2.2 DELETE /pets/{petId} 204 exited with status 2",
		// the process died after answering: the crash is put on the request
		// that caused it, and the next entry is sent to a fresh target
		"3.0 GET /stats 200 ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exchanges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasSuffix(x[4].Request.Path, "/pets/1") {
		t.Errorf("after the restart the id was not re-bound: %s", x[4].Request.Path)
	}
	if hooked != len(x) {
		t.Errorf("hook called %d times for %d exchanges", hooked, len(x))
	}
	if target.restarts() != 2 {
		t.Errorf("%d restarts, want 2", target.restarts())
	}
}

func TestReplayFallsBackToRequests(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	ce := corpus.Entry{
		ID:       "x",
		Steps:    []byte(`[{"bogus":true}]`),
		Requests: []corpus.Request{{Operation: "GET /stats", Method: "GET", Path: "/v1/stats"}, {Method: "GET", Path: "/v1/pets?limit=3"}},
	}
	es, warns := EntriesFromCorpus([]corpus.Entry{ce})
	x, err := Replay(context.Background(), s, newHTTPSender(srv.URL, 5*time.Second), es)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || len(x) != 2 || x[0].Response.Status != 200 || x[1].Request.Path != "/v1/pets?limit=3" || x[1].Response.Status != 200 {
		t.Fatalf("warnings %q, exchanges %+v", warns, x)
	}
}
