package pipeline

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/internal/loopback"
)

// countingServer answers every request with status after a short wait (a
// latency-bound handler), counting requests, the header it is sent, the
// connections opened and the requests served on a connection that had
// served one before (kept alive).
type countingServer struct {
	*httptest.Server
	requests, withHeader, conns, reused atomic.Int64
	mu                                  sync.Mutex
	active                              map[net.Conn]int
}

func newCountingServer(t *testing.T, status int, wait time.Duration) *countingServer {
	t.Helper()
	cs := &countingServer{}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.requests.Add(1)
		if r.Header.Get("X-Probe") == "yes" {
			cs.withHeader.Add(1)
		}
		time.Sleep(wait)
		w.WriteHeader(status)
		_, _ = w.Write([]byte("ok\n"))
	}))
	cs.active = map[net.Conn]int{}
	cs.Config.ConnState = func(c net.Conn, st http.ConnState) {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		switch st {
		case http.StateNew:
			cs.conns.Add(1)
		case http.StateActive:
			if cs.active[c]++; cs.active[c] > 1 {
				cs.reused.Add(1)
			}
		case http.StateClosed, http.StateHijacked:
			delete(cs.active, c)
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func TestLoadPathCountsAnswersOnKeptAliveConnections(t *testing.T) {
	srv := newCountingServer(t, http.StatusOK, 2*time.Millisecond)
	client := loopback.NewClient(5 * time.Second)
	header := http.Header{"X-Probe": {"yes"}}
	m := loadPath(context.Background(), client, srv.URL+"/health", header, CapacityLoad{Connections: 4, Duration: 500 * time.Millisecond}, nil)
	if m.Error != "" {
		t.Fatalf("error %q on a server answering 200", m.Error)
	}
	served := srv.requests.Load()
	// The server may have answered the last requests after the time was
	// up: those are not counted.
	if m.Requests < 20 || m.Requests > served || served-m.Requests > 4 {
		t.Errorf("counted %d answers, the server served %d (4 connections, 2 ms each, 0.5 s)", m.Requests, served)
	}
	if m.Statuses["200"] != m.Requests || len(m.Statuses) != 1 {
		t.Errorf("statuses %v for %d answers, all 200", m.Statuses, m.Requests)
	}
	if got := srv.withHeader.Load(); got != served {
		t.Errorf("%d of %d requests carried the run's header", got, served)
	}
	if n := srv.conns.Load(); n < 1 || n > 4 {
		t.Errorf("%d connections opened for 4 kept-alive clients", n)
	}
	if m.Connections != 4 || m.Seconds < 0.4 || m.Seconds > 2 {
		t.Errorf("connections %d, seconds %.2f: want 4 and about 0.5", m.Connections, m.Seconds)
	}
	if want := float64(m.Requests) / m.Seconds; m.RequestsPerSecond != want {
		t.Errorf("requests_per_second %.1f, want %.1f", m.RequestsPerSecond, want)
	}
	t.Logf("%d answers in %.2f s (%.0f/s) on %d connection(s)", m.Requests, m.Seconds, m.RequestsPerSecond, srv.conns.Load())
}

// Where keep-alive answers are slow, whittle opens a connection per
// request; the capacity is then measured the same way.
func TestLoadPathOnFreshConnections(t *testing.T) {
	srv := newCountingServer(t, http.StatusOK, time.Millisecond)
	client := loopback.NewClient(5*time.Second, loopback.WithoutKeepAlive())
	m := loadPath(context.Background(), client, srv.URL+"/health", nil, CapacityLoad{Connections: 4, Duration: 300 * time.Millisecond, Fresh: true}, nil)
	if m.Error != "" || m.Requests < 10 {
		t.Fatalf("measurement %+v: want answers and no error", m)
	}
	if !m.FreshConnections {
		t.Error("the measurement does not say its connections were fresh")
	}
	// A client dialling when the time is up opens a connection that
	// carries no request: connections may outnumber requests, never the
	// other way round.
	if served, conns, reused := srv.requests.Load(), srv.conns.Load(), srv.reused.Load(); reused != 0 || conns < served {
		t.Errorf("%d connections for %d requests, %d requests on a connection used before: want one each", conns, served, reused)
	}
}

func TestLoadPathOfNon2xxIsAnError(t *testing.T) {
	srv := newCountingServer(t, http.StatusInternalServerError, 0)
	m := loadPath(context.Background(), loopback.NewClient(5*time.Second), srv.URL+"/health", nil, CapacityLoad{Connections: 2, Duration: 200 * time.Millisecond}, nil)
	if m.Requests == 0 || m.Statuses["500"] != m.Requests {
		t.Fatalf("statuses %v, %d answers: want 500s counted", m.Statuses, m.Requests)
	}
	if !strings.Contains(m.Error, "not 2xx") {
		t.Errorf("error %q, want it to say the answers were not 2xx", m.Error)
	}
}

func TestLoadPathStopsAtAFailedRequest(t *testing.T) {
	// Answers a few requests, then drops every connection without a word.
	var answered atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answered.Add(1) <= 5 {
			return
		}
		hj, _ := w.(http.Hijacker)
		c, _, err := hj.Hijack()
		if err == nil {
			c.Close()
		}
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	m := loadPath(context.Background(), loopback.NewClient(5*time.Second), srv.URL+"/", nil, CapacityLoad{Connections: 1, Duration: 10 * time.Second}, nil)
	if !strings.Contains(m.Error, "a request failed after 5 answers") {
		t.Errorf("error %q, want the failed request after 5 answers", m.Error)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s: the load must stop at the failure, not run its 10 s", took)
	}

	// Nothing listens: the first request fails.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m = loadPath(context.Background(), loopback.NewClient(5*time.Second), "http://"+addr+"/health", nil, CapacityLoad{Connections: 8, Duration: 10 * time.Second}, nil)
	if m.Requests != 0 || !strings.Contains(m.Error, "a request failed after 0 answers") {
		t.Errorf("nothing listening: %d answers, error %q", m.Requests, m.Error)
	}
}

func TestCheckCapacityPath(t *testing.T) {
	for _, good := range []string{"/", "/health", "/items?limit=5"} {
		if err := CheckCapacityPath(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"", "health", "//elsewhere/health", "http://127.0.0.1/health", "/a b", "/x#frag"} {
		if err := CheckCapacityPath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
