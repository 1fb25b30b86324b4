package fuzz

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

func openStore(t *testing.T, dir, specHash string) *corpus.Store {
	t.Helper()
	st, err := corpus.Open(dir, corpus.Key{SpecHash: specHash, ImageID: "sha256:test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestStorePersistsAndResumes: every corpus entry and finding reaches the
// disk as it joins; a second run resumes from them, after some were
// damaged, and stores only what is new to it.
func TestStorePersistsAndResumes(t *testing.T) {
	s := loadPets(t)
	dir := t.TempDir()
	st := openStore(t, dir, s.Hash)
	srv, _ := newPetsServer(t)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(800), WithStore(st))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) > 0 {
		t.Fatalf("warnings: %q", res.Warnings)
	}
	stored := st.Entries()
	// The same sequence can join twice (it earned something new again); it
	// is stored once.
	var ids []string
	for _, e := range res.Corpus {
		if len(ids) == 0 || !slices.Contains(ids, e.StoreID) {
			ids = append(ids, e.StoreID)
		}
	}
	if len(stored) != len(ids) {
		t.Fatalf("%d entries stored for %d distinct ones in memory", len(stored), len(ids))
	}
	for i, id := range ids {
		if id != stored[i].ID {
			t.Fatalf("entry %d: store id %q, stored %q", i, id, stored[i].ID)
		}
	}
	for i, e := range res.Corpus {
		ce := stored[slices.Index(ids, e.StoreID)]
		if len(ce.Requests) != len(e.Steps) || len(ce.Responses) != len(ce.Requests) || len(ce.Reasons) == 0 {
			t.Fatalf("entry %d: %d steps, %d requests, %d responses, reasons %v", i, len(e.Steps), len(ce.Requests), len(ce.Responses), ce.Reasons)
		}
		back, err := entryFromCorpus(ce)
		if err != nil || len(back.Steps) != len(e.Steps) || back.Steps[0].Op != e.Steps[0].Op {
			t.Fatalf("entry %d does not read back: %v", i, err)
		}
	}
	if fs := st.Findings(); len(fs) != len(res.Findings) {
		t.Errorf("%d findings stored, %d found", len(fs), len(res.Findings))
	} else if got, warns := findingsFromCorpus(fs); len(warns) > 0 || len(got) != len(fs) || got[0].Curl == "" {
		t.Errorf("findings do not read back: %q", warns)
	}
	st.Close()

	// Damage three entries: torn, emptied, flipped.
	damage := []func(path string){
		func(p string) { b, _ := os.ReadFile(p); os.WriteFile(p, b[:len(b)/3], 0o644) },
		func(p string) { os.WriteFile(p, nil, 0o644) },
		func(p string) { b, _ := os.ReadFile(p); b[len(b)/2] ^= 0x20; os.WriteFile(p, b, 0o644) },
	}
	for i, d := range damage {
		d(filepath.Join(dir, "entries", stored[i*5].ID+".json"))
	}

	st2 := openStore(t, dir, s.Hash)
	if w := st2.Warnings(); len(w) != len(damage) {
		t.Fatalf("warnings on reopening: %q", w)
	}
	if st2.Len() != len(stored)-len(damage) {
		t.Fatalf("%d entries loaded, want %d", st2.Len(), len(stored)-len(damage))
	}
	srv2, api2 := newPetsServer(t)
	f2 := New(s, newHTTPSender(srv2.URL, 5*time.Second), WithSeed(2), WithMaxRequests(1200), WithStore(st2))
	res2, err := f2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Corpus) < st2.Len()-len(res2.Corpus) || len(res2.Corpus) < len(stored)-len(damage) {
		t.Errorf("resumed corpus has %d entries, store %d", len(res2.Corpus), st2.Len())
	}
	// The seeds ran first: the first requests are those of the stored entries.
	if api2.seen["POST /v1/pets"] == 0 {
		t.Error("seeds were not run")
	}
	if res2.Corpus[0].StoreID != stored[1].ID {
		t.Errorf("the first seed is %q, want the first intact stored entry %q", res2.Corpus[0].StoreID, stored[1].ID)
	}
	// Everything in memory is on disk.
	for _, e := range res2.Corpus {
		if e.StoreID == "" || !st2.Has(e.StoreID) {
			t.Fatalf("entry %d not stored", e.ID)
		}
	}
}

func TestStoreWriteFailureIsAWarning(t *testing.T) {
	s := loadPets(t)
	dir := t.TempDir()
	st := openStore(t, dir, s.Hash)
	if err := os.RemoveAll(filepath.Join(dir, "entries")); err != nil {
		t.Fatal(err)
	}
	srv, _ := newPetsServer(t)
	res, err := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(200), WithStore(st)).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) == 0 || len(res.Warnings) > maxWarnings || !strings.Contains(res.Warnings[0], "corpus entry") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	if len(res.Corpus) == 0 {
		t.Fatal("the run stopped keeping entries")
	}
}

func TestSeedEntriesRunFirst(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	var first []string
	seed := Entry{Steps: []Step{{Op: "GET /stats", Raw: &corpus.Request{Operation: "GET /stats", Method: "GET", Path: "/v1/stats?seed=1"}}}}
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(50), withSeedEntries([]Entry{seed}),
		WithExchangeHook(func(x Exchange) { first = append(first, x.Request.Path) }))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first[0] != "/v1/stats?seed=1" || res.Corpus[0].Steps[0].Raw == nil {
		t.Fatalf("first request %s, first entry %+v", first[0], res.Corpus[0])
	}
}

// findingsFromCorpus reads the findings a store holds back.
func findingsFromCorpus(recs []corpus.FindingRecord) ([]Finding, []string) {
	var out []Finding
	var warns []string
	for _, rec := range recs {
		var f Finding
		if err := json.Unmarshal(rec.Data, &f); err != nil {
			warns = append(warns, fmt.Sprintf("finding %s: %v", rec.ID, err))
			continue
		}
		out = append(out, f)
	}
	return out, warns
}
