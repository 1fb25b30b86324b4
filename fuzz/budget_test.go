package fuzz

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/internal/limits"
)

// A target that answers every request with a new 500 body makes every
// request a new signature: the run keeps limits.FindingsPerCheck of them per
// operation, minimises only those, and records the limit.
func TestFindingsFloodIsBounded(t *testing.T) {
	s := loadPets(t)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "internal error in %s", word(n.Add(1)))
	}))
	t.Cleanup(srv.Close)
	rec := limits.NewRecorder(nil)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(1500), WithLimits(rec))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, fd := range res.Findings {
		if fd.Check == oracle.CheckServerError {
			per[fd.Operation]++
		}
	}
	t.Logf("%d requests, per operation %v", res.Stats.Requests, per)
	if len(per) == 0 {
		t.Fatal("no server error found")
	}
	for op, k := range per {
		if k > limits.FindingsPerCheck.Int() {
			t.Errorf("%s: %d server errors kept, over the limit of %d", op, k, limits.FindingsPerCheck.Int())
		}
	}
	hits := rec.Hits()
	if len(hits) != 1 || hits[0].Limit != limits.FindingsPerCheck.Name {
		t.Fatalf("hits %+v, want %s", hits, limits.FindingsPerCheck.Name)
	}
	if total := int64(len(res.Findings)) + hits[0].Count; total < 100 {
		t.Errorf("%d findings kept and %d over the limit: the flood was not a flood", len(res.Findings), hits[0].Count)
	}
	t.Logf("%d requests, %d findings kept, %d over the limit (first at %s)", res.Stats.Requests, len(res.Findings), hits[0].Count, hits[0].First)
}

// word spells n in letters that no digest masks as a number or an id.
func word(n int64) string {
	var b []byte
	for ; n > 0; n /= 20 {
		b = append(b, byte('g'+n%20))
	}
	return string(b)
}

const minLengthSpec = `openapi: 3.0.3
info: {title: search, version: "1"}
paths:
  /search:
    get:
      parameters:
        - {name: q, in: query, required: true, schema: {type: string, minLength: 4000000000}}
      responses:
        "200": {description: ok}
  /health:
    get:
      responses:
        "200": {description: ok}
`

// An operation whose required value cannot be generated within budget
// gets one request without it, then is skipped; the others go on.
func TestOverBudgetOperationIsSkipped(t *testing.T) {
	s := testspecs.Load(t, "search.yaml", minLengthSpec)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	rec := limits.NewRecorder(nil)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(300), WithLimits(rec))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Reached(limits.GenLength) {
		t.Errorf("hits %+v, want %s", rec.Hits(), limits.GenLength.Name)
	}
	search, health := res.Stats.Operations["GET /search"], res.Stats.Operations["GET /health"]
	t.Logf("%d requests: /search %d, /health %d; skipped %v", res.Stats.Requests, search.Requests, health.Requests, res.Stats.Skipped)
	if search.Requests == 0 || search.Requests > 3 {
		t.Errorf("GET /search got %d requests, want one or so before it is skipped", search.Requests)
	}
	if health.Requests < 100 || !slices.Contains(res.Stats.Skipped, "GET /search") {
		t.Errorf("GET /health got %d requests; skipped %v", health.Requests, res.Stats.Skipped)
	}
}

// A run adds at most limits.CorpusEntries entries to a corpus directory;
// later ones stay in memory, and the limit is recorded.
func TestCorpusOnDiskIsBounded(t *testing.T) {
	old := limits.CorpusEntries.Value
	limits.CorpusEntries.Value = 5
	t.Cleanup(func() { limits.CorpusEntries.Value = old })
	s := loadPets(t)
	st := openStore(t, t.TempDir(), s.Hash)
	srv, _ := newPetsServer(t)
	rec := limits.NewRecorder(nil)
	res, err := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(800), WithStore(st), WithLimits(rec)).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Added(); n != 5 || st.Len() != 5 {
		t.Errorf("%d entries added to the directory, %d there; want 5", n, st.Len())
	}
	if len(res.Corpus) <= 5 || !rec.Reached(limits.CorpusEntries) {
		t.Errorf("corpus of %d in memory; hits %+v", len(res.Corpus), rec.Hits())
	}
}
