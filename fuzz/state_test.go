package fuzz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/upkeep"
)

// slowingTarget is the pets API of a service whose list walks every pet
// ever created, slowly: GET /pets takes perPet for each pet created since
// the instance started. Restart gives a fresh, empty, fast instance.
type slowingTarget struct {
	mu      sync.Mutex
	srv     *httptest.Server
	all     []*httptest.Server
	api     *petsAPI
	created int
	perPet  time.Duration
	starts  int
	sender  *httpSender
}

func newSlowingTarget(t *testing.T, perPet time.Duration) *slowingTarget {
	s := &slowingTarget{perPet: perPet, sender: newHTTPSender("http://127.0.0.1:1", 5*time.Second)}
	s.start()
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, srv := range s.all {
			srv.Close()
		}
	})
	return s
}

func (s *slowingTarget) start() {
	api := newPetsAPI()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if r.Method == http.MethodGet && r.URL.Path == "/v1/pets" {
			d := time.Duration(s.created) * s.perPet
			s.mu.Unlock()
			time.Sleep(d)
		} else {
			s.mu.Unlock()
		}
		rec := newRecorder()
		api.ServeHTTP(rec, r)
		if r.Method == http.MethodPost && r.URL.Path == "/v1/pets" && rec.status == 201 {
			s.mu.Lock()
			s.created++
			s.mu.Unlock()
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body)
	}))
	s.mu.Lock()
	s.srv, s.api, s.created = srv, api, 0
	s.all = append(s.all, srv)
	s.starts++
	s.mu.Unlock()
	s.sender.Base = srv.URL
	s.sender.Client.CloseIdleConnections()
}

func (s *slowingTarget) Crashed() (bool, string) { return false, "" }

func (s *slowingTarget) Restart(context.Context) error {
	s.mu.Lock()
	old := s.srv
	s.mu.Unlock()
	old.Close()
	s.start()
	return nil
}

// A target that slows down as the run fills it is restarted, the restart
// is counted and announced with its reason, and the fresh instance is fast
// again.
func TestLatencyGrowthRestartsTheTarget(t *testing.T) {
	tgt := newSlowingTarget(t, 100*time.Microsecond)
	policy := upkeep.LatencyPolicy{Warmup: 2, Baseline: 8, Window: 8, Factor: 4, MinExcess: 2 * time.Millisecond, Persist: 2, Slowdown: 1.5, MinGap: 0}
	events := make(chan Event, 4096)
	f := New(loadPets(t), tgt.sender, WithSeed(5), WithMaxRequests(2500), WithMinimizeBudget(0, 0),
		WithCleanup(0), WithTarget(tgt), WithLatencyRestarts(policy), WithEvents(events))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	close(events)
	var reasons []string
	for e := range events {
		if e.Kind == EventRestart {
			reasons = append(reasons, strings.Join(e.Reasons, "; "))
		}
	}
	st := res.Stats
	t.Logf("%d requests, %d restarts (%d for latency), %d instances; GET /pets mean %s, recent %s",
		st.Requests, st.Restarts, st.LatencyRestarts, tgt.starts, st.Operations["GET /pets"].MeanLatency, st.Operations["GET /pets"].RecentLatency)
	if st.LatencyRestarts == 0 || st.Restarts < st.LatencyRestarts || tgt.starts != st.Restarts+1 {
		t.Fatalf("latency restarts %d, restarts %d, instances started %d", st.LatencyRestarts, st.Restarts, tgt.starts)
	}
	if len(reasons) != st.Restarts || !strings.Contains(reasons[0], "latency grew: GET /pets 2xx") {
		t.Errorf("restart events %q", reasons)
	}
	// Each instance stayed small: the slowest GET /pets is bounded by the
	// pets one instance gets before its restart, far fewer than the run made.
	if st.Operations["POST /pets"].Successes() < 4*int64(tgt.created) {
		t.Errorf("the last instance holds %d pets of %d created in all: restarts did not keep instances small", tgt.created, st.Operations["POST /pets"].Successes())
	}

	// The same run without latency restarts keeps the one, ever slower, instance.
	tgt2 := newSlowingTarget(t, 100*time.Microsecond)
	f = New(loadPets(t), tgt2.sender, WithSeed(5), WithMaxRequests(2500), WithMinimizeBudget(0, 0),
		WithCleanup(0), WithTarget(tgt2), WithLatencyRestarts(upkeep.LatencyPolicy{}))
	res2, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res2.Stats.Restarts != 0 || tgt2.starts != 1 {
		t.Errorf("restarts without the policy: %d", res2.Stats.Restarts)
	}
	slow, fast := res2.Stats.Operations["GET /pets"].MeanLatency, st.Operations["GET /pets"].MeanLatency
	t.Logf("GET /pets took %s on average without restarts, %s with", slow, fast)
	if slow < 2*fast {
		t.Errorf("GET /pets took %s on average without restarts, %s with: restarts did not keep the target fast", slow, fast)
	}
}
