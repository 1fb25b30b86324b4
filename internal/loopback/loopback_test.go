package loopback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/internal/limits"
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

// An answer's headers are read up to limits.AnswerHeaderBytes: beyond, the
// answer keeps its status but not its headers nor its body (marked with
// LimitHeader), instead of megabytes held per request, or an error that
// would read as if the target had not answered.
func TestClientCapsAnswerHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("kib"))
		for i := range n {
			w.Header().Set(fmt.Sprintf("X-H%d", i), strings.Repeat("h", 1000))
		}
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, "body")
	}))
	defer srv.Close()
	c := NewClient(5 * time.Second)
	get := func(kib int) (*http.Response, string, error) {
		resp, err := c.Get(fmt.Sprintf("%s/?kib=%d", srv.URL, kib))
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	under := int(limits.AnswerHeaderBytes.Value/1024) - 64
	resp, body, err := get(under)
	if err != nil || resp.StatusCode != http.StatusTeapot || body != "body" || resp.Header.Get("X-H0") == "" || resp.Header.Get(LimitHeader) != "" {
		t.Fatalf("%d KiB of headers: %v, %v, %q", under, err, resp, body)
	}
	for range 3 { // on fresh and on reused connections
		resp, body, err = get(8 << 10)
		if err != nil {
			t.Fatalf("8 MiB of headers: %v", err)
		}
		if resp.StatusCode != http.StatusTeapot || body != "" || resp.Header.Get("X-H0") != "" || resp.Header.Get(LimitHeader) != limits.AnswerHeaderBytes.Name {
			t.Fatalf("8 MiB of headers: status %d, body %q, headers %d, %s %q", resp.StatusCode, body, len(resp.Header), LimitHeader, resp.Header.Get(LimitHeader))
		}
		if _, body, err := get(1); err != nil || body != "body" {
			t.Fatalf("the client is unusable after an answer over the limit: %v", err)
		}
	}
}
