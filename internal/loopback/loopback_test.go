package loopback

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// hostAddress is an IPv4 address of this machine that is not loopback.
func hostAddress(t *testing.T) string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Skip("SKIP: this machine has no non-loopback IPv4 address to refuse")
	return ""
}

func TestClientRefusesOtherAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", net.JoinHostPort(hostAddress(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	defer ln.Close()
	_, err = NewClient(5 * time.Second).Get("http://" + ln.Addr().String() + "/")
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("GET on %s: %v, want ErrNotLoopback", ln.Addr(), err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := conns.Load(); n > 0 {
		t.Errorf("%d connection(s) reached %s", n, ln.Addr())
	}
	u, _ := url.Parse("http://" + ln.Addr().String() + "/openapi.json")
	if err := CheckURL(u); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("CheckURL(%s): %v", u, err)
	}
}

func TestClientReturnsRedirects(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/from", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/to", http.StatusFound) })
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := NewClient(5 * time.Second).Get(srv.URL + "/from")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed.Load() {
		t.Errorf("status %d, followed %v: want the 302 itself", resp.StatusCode, followed.Load())
	}
}

func TestLocalhostMeansLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://localhost:"+port+"/", nil)
	resp, err := NewClient(5 * time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, bad := range []string{"ftp://127.0.0.1/x", "http://example.com/x", "http://10.0.0.1:8080/x", "http://[::ffff:10.0.0.1]/x"} {
		u, _ := url.Parse(bad)
		if CheckURL(u) == nil {
			t.Errorf("CheckURL(%s) accepted", bad)
		}
	}
	for _, good := range []string{"http://127.0.0.1:8080/x", "https://localhost/x", "http://[::1]:9/x", "http://127.1.2.3/x"} {
		u, _ := url.Parse(good)
		if err := CheckURL(u); err != nil {
			t.Errorf("CheckURL(%s): %v", good, err)
		}
	}
}
