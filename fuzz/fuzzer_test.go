package fuzz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func loadPets(t testing.TB, opts ...spec.SpecOption) *spec.Spec {
	t.Helper()
	return testspecs.Pets(t, opts...)
}

func index(ids []string, id string) int { return slices.Index(ids, id) }

func TestEachOperationOnceReachesEveryOperation(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	res, err := EachOperationOnce(context.Background(), s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) > 0 {
		for _, e := range res.Exchanges {
			t.Logf("%s %s -> %d %s", e.Request.Method, e.Request.Path, e.Response.Status, e.Response.Body)
		}
		t.Fatalf("operations without a 2xx: %v", res.Failed)
	}
	if len(res.Succeeded) != len(s.Operations) {
		t.Fatalf("succeeded %d of %d", len(res.Succeeded), len(s.Operations))
	}
	var order []string
	for _, e := range res.Exchanges {
		if !slices.Contains(order, e.Request.Operation) {
			order = append(order, e.Request.Operation)
		}
	}
	for _, pair := range [][2]string{
		{"POST /pets", "GET /pets/{petId}"},
		{"POST /pets", "PUT /pets/{petId}"},
		{"GET /pets/{petId}", "DELETE /pets/{petId}"},
		{"POST /pets/{petId}/photo", "DELETE /pets/{petId}"},
	} {
		if index(order, pair[0]) > index(order, pair[1]) {
			t.Errorf("%s ran after %s: %v", pair[0], pair[1], order)
		}
	}
	if len(res.Exchanges) > 2*len(s.Operations) {
		t.Errorf("%d requests for %d operations: too many retries", len(res.Exchanges), len(s.Operations))
	}
}

func TestFuzzerFindsPlantedBugs(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(3000), WithBaseURL(srv.URL))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests in %v (%.0f req/s), corpus %d, findings %d", res.Stats.Requests, res.Stats.Elapsed, res.Stats.RequestsPerSecond, len(res.Corpus), len(res.Findings))
	var boundary500, schema *Finding
	for i, fd := range res.Findings {
		t.Logf("finding %s %s %s: %s", fd.Operation, fd.Check, fd.Signature, fd.Message)
		switch {
		case fd.Operation == "GET /pets" && fd.Check == oracle.CheckServerError:
			if boundary500 != nil {
				t.Errorf("planted 500 reported twice: %q and %q", boundary500.Signature, fd.Signature)
			}
			boundary500 = &res.Findings[i]
		case fd.Operation == "GET /stats" && fd.Check == oracle.CheckSchema:
			schema = &res.Findings[i]
		}
	}
	if boundary500 == nil {
		t.Fatal("the 500 on limit=100 was not found")
	}
	if !strings.Contains(boundary500.Curl, "limit=100") || !strings.HasPrefix(boundary500.Curl, "curl ") || !strings.Contains(boundary500.Curl, srv.URL) {
		t.Errorf("curl reproducer: %s", boundary500.Curl)
	}
	if schema == nil || !strings.Contains(schema.Signature, "/count") {
		t.Fatalf("schema violation of /stats not found: %+v", schema)
	}
	if len(res.NoSuccess) > 0 {
		t.Errorf("operations without any 2xx: %v", res.NoSuccess)
	}
	for id, op := range res.Stats.Operations {
		if op.Requests < 10 {
			t.Errorf("%s exercised only %d times", id, op.Requests)
		}
	}
	if res.Stats.Phases[1] == 0 || res.Stats.Phases[2] == 0 {
		t.Errorf("phases not mixed: %v", res.Stats.Phases)
	}
	if res.StopReason != "max requests" {
		t.Errorf("stop reason %q", res.StopReason)
	}
	hasSequence := false
	for _, e := range res.Corpus {
		if len(e.Steps) > 1 && e.Steps[0].Op == "POST /pets" {
			hasSequence = true
		}
	}
	if !hasSequence {
		t.Error("no create → use sequence in the corpus")
	}
}

// recordRun returns the requests a seeded run sends against a fresh server.
func recordRun(t *testing.T, seed uint64, n int64) []string {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	var got []string
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(seed), WithMaxRequests(n),
		WithExchangeHook(func(e Exchange) { got = append(got, e.Request.Key()) }))
	if _, err := f.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestFuzzerIsDeterministic(t *testing.T) {
	a, b := recordRun(t, 7, 400), recordRun(t, 7, 400)
	if len(a) != len(b) {
		t.Fatalf("runs sent %d and %d requests", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d differs:\n%s\n---\n%s", i, a[i], b[i])
		}
	}
	c := recordRun(t, 8, 400)
	if slices.Equal(a, c) {
		t.Error("different seeds sent the same requests")
	}
}

func TestEventsNeverBlockAndStatsAreConcurrent(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	events := make(chan Event, 1) // never read: sends must not block
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(3), WithMaxRequests(500), WithEvents(events))
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				st := f.Stats()
				_ = st.Operations["GET /pets"]
				_ = f.Findings()
				_ = f.Corpus()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	res, err := f.Run(context.Background())
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.DroppedEvents == 0 {
		t.Error("expected dropped events with a full channel")
	}
	if e := <-events; e.Kind == "" {
		t.Error("empty event")
	}
}

func TestStopCriteria(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	tests := []struct {
		name string
		opts []Option
		ctx  func() (context.Context, context.CancelFunc)
		want string
	}{
		{"duration", []Option{WithDuration(200 * time.Millisecond)}, nil, "duration"},
		{"plateau", []Option{WithPlateau(150 * time.Millisecond), WithDuration(30 * time.Second)}, nil, "plateau"},
		{"context", nil, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.Background(), func() {}
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			f := New(s, newHTTPSender(srv.URL, 5*time.Second), append(tt.opts, WithSeed(1))...)
			res, _ := f.Run(ctx)
			if res.StopReason != tt.want {
				t.Errorf("stop reason %q, want %q", res.StopReason, tt.want)
			}
		})
	}
}

func TestTransportErrorsAndTimeouts(t *testing.T) {
	s := loadPets(t)
	sender := newHTTPSender("http://127.0.0.1:1", time.Second) // nothing listens on port 1
	res, err := EachOperationOnce(context.Background(), s, sender, withRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	var transport int
	for _, f := range res.Findings {
		if f.Check == oracle.CheckTransport {
			transport++
		}
	}
	if transport != len(s.Operations) {
		t.Errorf("%d transport findings for %d operations", transport, len(s.Operations))
	}
}

func TestTimeoutFinding(t *testing.T) {
	s := loadPets(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/stats" {
			time.Sleep(300 * time.Millisecond)
		}
		w.WriteHeader(404)
	}))
	defer srv.Close()
	res, err := EachOperationOnce(context.Background(), s, newHTTPSender(srv.URL, 50*time.Millisecond), withRetries(0), withChecks(oracle.CheckTimeout))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Check != oracle.CheckTimeout || res.Findings[0].Operation != "GET /stats" {
		t.Fatalf("findings %+v", res.Findings)
	}
}
