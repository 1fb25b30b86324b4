package fuzz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// crashTarget is a pets API that can die, like a container whose process
// exits, and be restarted fresh (on a new port, as a new container would
// be). It implements TargetHealth; its sender follows restarts.
type crashTarget struct {
	t      testing.TB
	mu     sync.Mutex
	srv    *httptest.Server
	all    []*httptest.Server
	api    *petsAPI
	dead   bool
	reason string
	starts int
	// firstID makes the first pet of each instance get this id (0: 1), to
	// check that replays bind ids from their own answers.
	firstID int64
	// dieAfter > 0 makes each instance die on its dieAfter-th request,
	// whatever it is, instead of on the planted bugs.
	dieAfter int
	// dieOn, when set, makes an instance die (status 3) on each request
	// it accepts, before the API sees it: a crash one request causes.
	dieOn  func(*http.Request) bool
	sender *httpSender
}

func newCrashTarget(t testing.TB) *crashTarget {
	c := &crashTarget{t: t, sender: newHTTPSender("http://127.0.0.1:1", 5*time.Second)}
	c.start()
	t.Cleanup(func() {
		c.mu.Lock()
		all := c.all
		c.mu.Unlock()
		for _, srv := range all {
			srv.Close()
		}
	})
	return c
}

func (c *crashTarget) start() {
	api := newPetsAPI()
	if c.firstID > 0 {
		api.next = c.firstID - 1
	}
	var handler http.Handler = api
	if c.dieAfter == 0 {
		api.die = c.die // the planted crashes
	} else {
		served := 0
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.mu.Lock()
			served++
			n := served
			c.mu.Unlock()
			if n >= c.dieAfter {
				c.die("exited with status 1", w, false)
				return
			}
			api.ServeHTTP(w, r)
		})
	}
	if c.dieOn != nil {
		inner := handler
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.dieOn(r) {
				c.die("exited with status 3", w, false)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(handler)
	c.mu.Lock()
	c.srv, c.api, c.dead, c.reason = srv, api, false, ""
	c.all = append(c.all, srv)
	c.starts++
	c.mu.Unlock()
	c.sender.Base = srv.URL
	c.sender.Client.CloseIdleConnections()
}

// die is called by the handler (under the API's lock): without an answer
// the connection is dropped; either way the server goes away shortly.
func (c *crashTarget) die(reason string, w http.ResponseWriter, answered bool) {
	if !answered {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
			}
		}
	} else if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	c.mu.Lock()
	srv := c.srv
	c.mu.Unlock()
	// The process is gone at once; the engine notices a moment later.
	srv.Listener.Close()
	srv.CloseClientConnections()
	go func() {
		time.Sleep(5 * time.Millisecond)
		c.mu.Lock()
		if c.srv == srv {
			c.dead, c.reason = true, reason
		}
		c.mu.Unlock()
	}()
}

func (c *crashTarget) Crashed() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead, c.reason
}

func (c *crashTarget) Restart(ctx context.Context) error {
	c.mu.Lock()
	old := c.srv
	c.mu.Unlock()
	old.Listener.Close()
	old.CloseClientConnections()
	c.start()
	return nil
}

func (c *crashTarget) restarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts - 1
}
