package fuzz

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

// unitTracer plays a first-hit tracer for a slow server: every request
// hits units (its method and first path segment, its status, its query
// keys), a unit counts once, the first time any request hits it, and After
// reports the units first hit since it was last called, whoever hit them.
// It remembers which request first hit each unit: the ground truth the
// corpus's credits are checked against.
type unitTracer struct {
	mu      sync.Mutex
	seen    map[string]string // unit -> key of the request that first hit it
	pending int
	// hitters are the keys of the first hitters of the pending units.
	hitters []string
}

// requestKey names a request by what the server saw: its method, target
// (as url.Parse makes it on both sides) and body.
func requestKey(method, uri, body string) string {
	if u, err := url.Parse(uri); err == nil {
		uri = u.RequestURI()
	}
	return method + " " + uri + " " + body
}

func (u *unitTracer) hit(key string, units []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range units {
		if _, ok := u.seen[x]; !ok {
			u.seen[x] = key
			u.pending++
			u.hitters = append(u.hitters, key)
		}
	}
}

func (u *unitTracer) After(context.Context) (Signal, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := u.pending
	u.pending, u.hitters = 0, nil
	return Signal{Functions: n}, nil
}

// firstHitters are the keys of the requests that first hit some unit.
func (u *unitTracer) firstHitters() map[string]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[string]bool{}
	for _, k := range u.seen {
		out[k] = true
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	hit func(status int)
}

func (s *statusRecorder) WriteHeader(code int) {
	s.hit(code)
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.hit(http.StatusOK)
	return s.ResponseWriter.Write(b)
}

// newSlowPets serves the pets API after a wait (a database call), outside
// its lock so that requests overlap, and reports units to the tracer
// before the answer leaves.
func newSlowPets(t *testing.T, wait time.Duration) (*httptest.Server, *unitTracer) {
	api := newPetsAPI()
	tr := &unitTracer{seen: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(wait)
		var body strings.Builder
		if r.Body != nil {
			buf := make([]byte, 1<<16)
			n, _ := r.Body.Read(buf)
			body.Write(buf[:n])
			r.Body = readCloser{strings.NewReader(body.String())}
		}
		key := requestKey(r.Method, r.URL.RequestURI(), body.String())
		seg := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1"), "/"), "/")[0]
		var keys []string
		for k := range r.URL.Query() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		once := false
		rec := &statusRecorder{ResponseWriter: w, hit: func(status int) {
			if once {
				return
			}
			once = true
			tr.hit(key, []string{
				r.Method + " " + seg,
				fmt.Sprintf("%s %s %d", r.Method, seg, status),
				r.Method + " " + seg + " " + strings.Join(keys, ","),
			})
		}}
		api.ServeHTTP(rec, r)
	}))
	t.Cleanup(srv.Close)
	return srv, tr
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// exchangesOf runs the pets API with opts and returns every request sent,
// in order.
func exchangesOf(t *testing.T, opts ...Option) []string {
	srv, _ := newPetsServer(t)
	var mu sync.Mutex
	var sent []string
	hook := WithExchangeHook(func(x Exchange) {
		mu.Lock()
		sent = append(sent, fmt.Sprintf("%s %s %q", x.Request.Method, x.Request.Path, x.Request.Body))
		mu.Unlock()
	})
	opts = append([]Option{WithSeed(5), WithMaxRequests(250), hook}, opts...)
	if _, err := New(testspecs.Pets(t), newHTTPSender(srv.URL, 5*time.Second), opts...).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sent
}

// One worker is the sequential loop: the same requests in the same order
// as a run that never heard of workers.
func TestOneWorkerIsTheSequentialLoop(t *testing.T) {
	plain := exchangesOf(t)
	one := exchangesOf(t, WithWorkers(1))
	if len(plain) < 200 {
		t.Fatalf("only %d requests", len(plain))
	}
	if !reflect.DeepEqual(plain, one) {
		for i := range min(len(plain), len(one)) {
			if plain[i] != one[i] {
				t.Fatalf("request %d differs:\n  default:   %s\n  1 worker:  %s", i, plain[i], one[i])
			}
		}
		t.Fatalf("%d requests by default, %d with one worker", len(plain), len(one))
	}
}

// A concurrent run credits coverage exactly: every corpus entry that joined
// for coverage ends with a request that really was the first to hit some
// unit, although several requests were in flight whenever the tracer was
// asked. The run must have met shared windows (Unattributed) for the
// check to mean something.
func TestConcurrentRunCreditsCoverageExactly(t *testing.T) {
	srv, tr := newSlowPets(t, 3*time.Millisecond)
	f := New(testspecs.Pets(t), newHTTPSender(srv.URL, 5*time.Second), WithSeed(9), WithMaxRequests(900), WithFeedback(tr), WithWorkers(6))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cs := res.Stats.Concurrency
	if cs == nil || cs.Workers != 6 || cs.Batches == 0 {
		t.Fatalf("not a concurrent run: %+v", cs)
	}
	if cs.Unattributed == 0 {
		t.Fatalf("no coverage was seen with several requests in flight: nothing to attribute (%+v)", cs)
	}
	hitters := tr.firstHitters()
	credited, falseCredits := 0, 0
	for _, e := range res.Corpus {
		covered := false
		for _, r := range e.Reasons {
			covered = covered || strings.Contains(r, "functions")
		}
		if !covered {
			continue
		}
		credited++
		last := e.Requests[len(e.Requests)-1]
		if !hitters[requestKey(last.Method, last.Path, string(last.Body))] {
			falseCredits++
			t.Errorf("entry %v credited with %v, but its last request %s %s first hit nothing", e.StoreID, e.Reasons, last.Method, last.Path)
		}
	}
	if credited == 0 {
		t.Fatal("no entry credited with coverage at all")
	}
	t.Logf("%d entries credited with coverage, %d false; %+v", credited, falseCredits, *cs)
}

// Adaptive workers start at one and say why they change.
func TestAdaptiveWorkersSayWhy(t *testing.T) {
	srv, tr := newSlowPets(t, 4*time.Millisecond)
	events := make(chan Event, 4096)
	f := New(testspecs.Pets(t), newHTTPSender(srv.URL, 5*time.Second), WithSeed(2), WithMaxRequests(1500), WithFeedback(tr), WithAdaptiveWorkers(8), WithEvents(events))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cs := res.Stats.Concurrency
	if cs == nil || !cs.Adaptive || len(cs.Changes) == 0 {
		t.Fatalf("adaptive run never changed its workers: %+v", cs)
	}
	if c := cs.Changes[0]; c.From != 1 || c.To != 2 || c.Reason == "" {
		t.Errorf("first change %+v, want 1 → 2 with a reason", c)
	}
	close(events)
	n := 0
	for e := range events {
		if e.Kind == EventWorkers {
			n++
			if len(e.Reasons) != 1 || !strings.Contains(e.Reasons[0], "workers") {
				t.Errorf("workers event says %v", e.Reasons)
			}
		}
	}
	if n == 0 {
		t.Error("no workers event")
	}
	if cs.Max < 2 || cs.Max > 8 {
		t.Errorf("max workers %d, want within [2, 8]", cs.Max)
	}
}

// BenchmarkWorkers reports executions/s over 10 s (the sequential plan
// and negotiation sweep included) on a server whose every answer waits
// 5 ms (a database call), with one worker, eight, and adaptive;
// minimisation is off, so that the figures are the loop's.
func BenchmarkWorkers(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  Option
	}{{"1", WithWorkers(1)}, {"8", WithWorkers(8)}, {"adaptive", WithAdaptiveWorkers(0)}} {
		b.Run(tc.name, func(b *testing.B) {
			t := &testing.T{}
			srv, tr := newSlowPets(t, 5*time.Millisecond)
			defer srv.Close()
			for range b.N {
				f := New(testspecs.Pets(b), newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithDuration(10*time.Second), WithFeedback(tr), WithMinimizeBudget(0, 0), tc.opt)
				res, err := f.Run(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.Stats.Requests)/res.Stats.Elapsed.Seconds(), "execs/s")
				if c := res.Stats.Concurrency; c != nil {
					b.ReportMetric(float64(c.Max), "max-workers")
				}
			}
		})
	}
}

const ledgerSpec = `openapi: 3.0.3
info: {title: ledger, version: "1"}
paths:
  /things:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [label]
              properties:
                label: {type: string, minLength: 1, maxLength: 12}
                size: {type: integer, minimum: 0, maximum: 9}
      responses:
        "201":
          description: made
          content:
            application/json:
              schema:
                type: object
                properties: {id: {type: integer}, label: {type: string}}
  /things/{thingId}:
    get:
      parameters:
        - {name: thingId, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: found
          content:
            application/json:
              schema:
                type: object
                properties: {id: {type: integer}, label: {type: string}}
        "404": {description: none}
`

// A producer and its consumer run in one worker, in order: in a concurrent
// run where every worker creates things, a step whose id is bound to what
// an earlier answer produced reads a thing its own worker created, never
// one another worker created meanwhile.
func TestConsumersBindTheirOwnWorkersIDs(t *testing.T) {
	var mu sync.Mutex
	next := 100000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/things":
			mu.Lock()
			next += 7
			id := next
			mu.Unlock()
			w.WriteHeader(201)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "label": "x"})
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/things/"):
			_ = json.NewEncoder(w).Encode(map[string]any{"id": 1, "label": "x"})
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	f := New(testspecs.Load(t, "ledger.yaml", ledgerSpec), newHTTPSender(srv.URL, 5*time.Second), WithSeed(4), WithMaxRequests(1500), WithWorkers(6))
	seen := &bindingsSeen{made: map[*executor]map[string]bool{}}
	f.l.observers = append(f.l.observers, seen)
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Concurrency == nil || res.Stats.Concurrency.Batches == 0 {
		t.Fatal("not a concurrent run")
	}
	if seen.bound < 50 || len(seen.made) < 3 {
		t.Fatalf("only %d bound reads by %d workers: nothing to check", seen.bound, len(seen.made))
	}
	for _, e := range seen.errs {
		t.Error(e)
	}
	t.Logf("%d bound reads by %d workers checked", seen.bound, len(seen.made))
}

// bindingsSeen records, by executor (a worker), the ids its POSTs got and
// checks that its bound GETs read one of them.
type bindingsSeen struct {
	made  map[*executor]map[string]bool
	bound int
	errs  []string
}

func (b *bindingsSeen) observe(_ context.Context, rec *record) {
	if b.made[rec.exec] == nil {
		b.made[rec.exec] = map[string]bool{}
	}
	switch {
	case rec.op.Method == "POST" && rec.resp.Status == 201:
		var out struct {
			ID int `json:"id"`
		}
		if json.Unmarshal(rec.resp.Body, &out) == nil {
			b.made[rec.exec][strconv.Itoa(out.ID)] = true
		}
	case rec.op.Method == "GET" && slices.Contains(rec.step.Bound, "path.thingId"):
		id := strings.TrimPrefix(rec.req.Path, "/things/")
		if n, err := strconv.Atoi(id); err != nil || n <= 100000 {
			return // no id to bind yet: the step kept its own value
		}
		b.bound++
		if !b.made[rec.exec][id] && len(b.errs) < 5 {
			b.errs = append(b.errs, fmt.Sprintf("GET %s was bound to an id its worker never created", rec.req.Path))
		}
	}
}

// TestSharedWindowFilesReachEveryRequestInFlight: the new files the tracer
// reports after one answer, while another request was in flight, are also
// shown to that other request when it is answered (inputsel then tells by
// name whose value selected them); a solo window offers nothing.
func TestSharedWindowFilesReachEveryRequestInFlight(t *testing.T) {
	b := newBatch()
	first, second := b.begin(), b.begin()
	b.end(first, corpusResponse{status: 200})
	alone, others := b.solo(first)
	if alone || !slices.Equal(others, []int{second}) {
		t.Fatalf("solo(first) = %v, %v; want shared with [%d]", alone, others, second)
	}
	if got := b.offer(first, others, []string{"/srv/views/b.tmpl"}); !slices.Equal(got, []string{"/srv/views/b.tmpl"}) {
		t.Fatalf("first's own files = %q", got)
	}
	b.end(second, corpusResponse{status: 200})
	alone, others = b.solo(second)
	if !alone || len(others) != 0 {
		t.Fatalf("solo(second) = %v, %v; want alone (nothing else was in flight since)", alone, others)
	}
	if got := b.offer(second, others, []string{"/srv/views/c.tmpl"}); !slices.Equal(got, []string{"/srv/views/c.tmpl", "/srv/views/b.tmpl"}) {
		t.Fatalf("second's files = %q, want its own and the one of the shared window", got)
	}
	third := b.begin()
	b.end(third, corpusResponse{status: 200})
	alone, others = b.solo(third)
	if got := b.offer(third, others, nil); !alone || len(got) != 0 {
		t.Fatalf("a solo window offered %q (alone %v)", got, alone)
	}
}

// The request budget holds with several workers: the requests in flight
// count against it, so the run sends exactly as many as it was allowed.
func TestWorkersKeepToTheRequestBudget(t *testing.T) {
	srv, _ := newSlowPets(t, 2*time.Millisecond)
	const budget = 301
	f := New(testspecs.Pets(t), newHTTPSender(srv.URL, 5*time.Second), WithSeed(4), WithMaxRequests(budget), WithWorkers(8),
		WithMinimizeBudget(0, 0))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Requests != budget || res.StopReason != "max requests" {
		t.Fatalf("%d requests, stop %q: want exactly %d, stopped by the budget", res.Stats.Requests, res.StopReason, budget)
	}
}

// flightTracer is a unitTracer that, as the tracer does by thread, tells
// which request in flight first hit each unit (Flights): it knows the
// server's request for every hit, and names it when no other request in
// flight looks the same.
type flightTracer struct {
	*unitTracer
	mu       sync.Mutex
	flying   map[string][]int // request key -> ids sent and not yet seen by After after their answer
	answered map[int]bool
	owners   map[int]int
}

func newFlightTracer(u *unitTracer) *flightTracer {
	return &flightTracer{unitTracer: u, flying: map[string][]int{}, answered: map[int]bool{}}
}

func flightKey(r corpus.Request) string { return requestKey(r.Method, r.Path, string(r.Body)) }

func (f *flightTracer) Sending(id int, r corpus.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forget(id) // ids start again with every batch
	k := flightKey(r)
	f.flying[k] = append(f.flying[k], id)
}

func (f *flightTracer) forget(id int) {
	delete(f.answered, id)
	for k, ids := range f.flying {
		if i := slices.Index(ids, id); i >= 0 {
			f.flying[k] = slices.Delete(ids, i, i+1)
		}
	}
}

func (f *flightTracer) Answered(id int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answered[id] = true
}

func (f *flightTracer) After(ctx context.Context) (Signal, error) {
	f.unitTracer.mu.Lock()
	hitters := f.unitTracer.hitters
	f.unitTracer.mu.Unlock()
	sig, err := f.unitTracer.After(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.owners = map[int]int{}
	for _, k := range hitters {
		if ids := f.flying[k]; len(ids) == 1 {
			f.owners[ids[0]]++
		}
	}
	// A request answered is done once an After came after its answer.
	for id := range f.answered {
		f.forget(id)
	}
	return sig, err
}

func (f *flightTracer) Owners() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.owners
}

// With a feedback that tells which request in flight hit what, coverage of
// shared windows is credited to its request (the one answered, or one
// still in flight when its answer comes) without calibration, and exactly.
func TestFlightsCreditSharedWindowsExactly(t *testing.T) {
	srv, units := newSlowPets(t, 3*time.Millisecond)
	tr := newFlightTracer(units)
	f := New(testspecs.Pets(t), newHTTPSender(srv.URL, 5*time.Second), WithSeed(9), WithMaxRequests(900), WithFeedback(tr), WithWorkers(6))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cs := res.Stats.Concurrency
	if cs == nil || cs.ThreadCredited == 0 {
		t.Fatalf("nothing credited by thread: %+v", cs)
	}
	if cs.Unattributed >= cs.ThreadCredited {
		t.Errorf("%d units unattributed, %d credited by thread: most shared coverage should find its request", cs.Unattributed, cs.ThreadCredited)
	}
	hitters := units.firstHitters()
	credited := 0
	for _, e := range res.Corpus {
		if !slices.ContainsFunc(e.Reasons, func(r string) bool { return strings.Contains(r, "functions") }) {
			continue
		}
		credited++
		last := e.Requests[len(e.Requests)-1]
		if !hitters[requestKey(last.Method, last.Path, string(last.Body))] {
			t.Errorf("entry %v credited with %v, but its last request %s %s first hit nothing", e.StoreID, e.Reasons, last.Method, last.Path)
		}
	}
	// Every request that first hit a unit is credited, bar those that
	// were not alone with their key in flight.
	if credited < len(hitters)/2 {
		t.Errorf("%d entries credited with coverage, of %d requests that first hit units", credited, len(hitters))
	}
	t.Logf("%d entries credited of %d first hitters; %+v", credited, len(hitters), *cs)
}
