package limits

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// Each limit is reported once, with how often it was reached and where
// first; onFirst (the run's log line) is called once per limit.
func TestRecorderRecordsEachLimitOnce(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	r := NewRecorder(func(h Hit) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, h.String())
	})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Hit(GenLength, fmt.Sprintf("GET /search query.q (%d)", i))
		}()
	}
	wg.Wait()
	r.Hit(SpecOperations, "openapi.json: 40000 operations")
	r.Hit(GenLength, "again")
	hits := r.Hits()
	if len(hits) != 2 || hits[0].Limit != "gen.length" || hits[1].Limit != "spec.operations" {
		t.Fatalf("hits %+v, want gen.length then spec.operations", hits)
	}
	if hits[0].Count != 51 || hits[1].Count != 1 {
		t.Errorf("counts %d, %d; want 51, 1", hits[0].Count, hits[1].Count)
	}
	if !strings.HasPrefix(hits[0].First, "GET /search query.q (") || hits[0].Value != GenLength.Value || hits[0].OnHit != GenLength.OnHit {
		t.Errorf("first hit %+v", hits[0])
	}
	if len(logged) != 2 {
		t.Fatalf("logged %d lines, want one per limit: %q", len(logged), logged)
	}
	want := "limit gen.length (65536) reached at GET /search query.q ("
	if !strings.HasPrefix(logged[0], want) || !strings.HasSuffix(logged[0], ": "+GenLength.OnHit) {
		t.Errorf("log line %q, want %q...: %s", logged[0], want, GenLength.OnHit)
	}
	if !r.Reached(SpecOperations) || r.Reached(GenTime) {
		t.Error("Reached disagrees with the hits")
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	var r *Recorder
	r.Hit(GenSteps, "x")
	if r.Hits() != nil || r.Reached(GenSteps) {
		t.Fatal("a nil recorder recorded a hit")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		l    Limit
		want string
	}{
		{SpecBytes, "64 MiB"},
		{AnswerHeaderBytes, "1 MiB"},
		{Limit{Value: 1536, Unit: Bytes}, "1536 bytes"},
		{Limit{Value: 2048, Unit: Bytes}, "2 KiB"},
		{GenTime, "250ms"},
		{SpecOperations, "5000"},
	} {
		if got := c.l.Format(); got != c.want {
			t.Errorf("%s: Format() = %q, want %q", c.l.Name, got, c.want)
		}
	}
}

// Names are unique and every limit says what it bounds and what happens.
func TestLimitsAreDescribed(t *testing.T) {
	seen := map[string]bool{}
	for _, l := range All() {
		if seen[l.Name] {
			t.Errorf("%s listed twice", l.Name)
		}
		seen[l.Name] = true
		if l.Value <= 0 || l.Bounds == "" || l.OnHit == "" || l.Unit == "" {
			t.Errorf("%s: incomplete: %+v", l.Name, l)
		}
	}
}

// The README's containment section documents every limit with its value.
func TestREADMEDocumentsEveryLimit(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, l := range All() {
		row := fmt.Sprintf("| `%s` | %s |", l.Name, l.Format())
		if !strings.Contains(readme, row) {
			t.Errorf("README lacks the row %q", row)
		}
	}
}
