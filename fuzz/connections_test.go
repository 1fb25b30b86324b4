package fuzz

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/internal/loopback"
)

const healthSpec = `openapi: 3.0.3
info: {title: health, version: "1"}
paths:
  /health:
    get:
      responses:
        "200": {description: ok}
  /items/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200": {description: ok}
        "404": {description: none}
`

// lateKeepAlive answers the first request of a connection at once and
// every later one on the same connection after a delay: what Nagle's
// algorithm against a delayed ACK does to a JDK HttpServer.
type lateKeepAlive struct {
	delay time.Duration
	mu    sync.Mutex
	// reused counts the requests that came on a connection used before.
	reused int
}

type connKey struct{}

func newLateKeepAlive(t *testing.T, delay time.Duration) (*httptest.Server, *lateKeepAlive) {
	s := &lateKeepAlive{delay: delay}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.Context().Value(connKey{}).(*int)
		*n++
		if *n > 1 {
			s.mu.Lock()
			s.reused++
			s.mu.Unlock()
			time.Sleep(s.delay)
		}
		if strings.HasPrefix(r.URL.Path, "/items/") {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, new(int))
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, s
}

func (s *lateKeepAlive) reusedSoFar() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reused
}

// choosingSender is an httpSender that can also send on fresh connections.
type choosingSender struct {
	*httpSender
	fresh     *httpSender
	freshOnly bool
}

func newChoosingSender(base string) *choosingSender {
	fresh := newHTTPSender(base, 5*time.Second)
	fresh.Client = loopback.NewClient(0, loopback.WithoutKeepAlive())
	return &choosingSender{httpSender: newHTTPSender(base, 5*time.Second), fresh: fresh}
}

func (c *choosingSender) Send(ctx context.Context, req corpus.Request) corpus.Response {
	if c.freshOnly {
		return c.fresh.Send(ctx, req)
	}
	return c.httpSender.Send(ctx, req)
}

func (c *choosingSender) SendFresh(ctx context.Context, req corpus.Request) corpus.Response {
	return c.fresh.Send(ctx, req)
}

func (c *choosingSender) UseFreshConnections() { c.freshOnly = true }

func TestSlowKeepAliveSwitchesToFreshConnections(t *testing.T) {
	srv, late := newLateKeepAlive(t, 45*time.Millisecond)
	events := make(chan Event, 1024)
	f := New(testspecs.Load(t, "health.yaml", healthSpec), newChoosingSender(srv.URL), WithSeed(1), WithMaxRequests(40), WithEvents(events))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Stats.Connections, "keep-alive answers took") {
		t.Fatalf("no switch to fresh connections: %q", res.Stats.Connections)
	}
	// The probes reused the kept-alive connection connectionProbes times;
	// after the switch nothing may.
	if got := late.reusedSoFar(); got != connectionProbes {
		t.Errorf("%d requests came on a reused connection, want the %d probes only", got, connectionProbes)
	}
	close(events)
	said := 0
	for e := range events {
		if e.Kind == EventConnections {
			said++
		}
	}
	if said != 1 {
		t.Errorf("the switch was said %d times, want once", said)
	}
}

func TestFastKeepAliveKeepsConnections(t *testing.T) {
	srv, late := newLateKeepAlive(t, 0)
	f := New(testspecs.Load(t, "health.yaml", healthSpec), newChoosingSender(srv.URL), WithSeed(1), WithMaxRequests(40))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Connections != "" {
		t.Errorf("switched although keep-alive is as fast: %q", res.Stats.Connections)
	}
	if late.reusedSoFar() < 30 {
		t.Errorf("only %d requests reused a connection", late.reusedSoFar())
	}
}
