// Package driver runs the user's own drivers — end-to-end tests, smoke
// scripts, load generators — against the target while whittle fuzzes it.
// Each driver talks to a recording proxy on 127.0.0.1 (its address in
// WHITTLE_TARGET_URL) that forwards every request to the target through
// whittle's loopback client and keeps the exchange, so that what the
// driver sent joins the corpus and is replayed by the verification.
package driver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// SendFunc delivers one request to the target and returns its answer (a
// verify.Target's Send: the current container, whatever restarts).
type SendFunc func(ctx context.Context, req corpus.Request) corpus.Response

// MaxRequestBody caps what the proxy reads of a driver's request body.
const MaxRequestBody = 4 << 20

// maxExchanges bounds what one driver's recording keeps; a load generator
// sending more is forwarded but no longer recorded.
const maxExchanges = 2000

// Exchange is one request a driver sent and the target's answer.
type Exchange struct {
	Request  corpus.Request
	Response corpus.Response
}

// Proxy is a recording reverse proxy on 127.0.0.1.
type Proxy struct {
	send SendFunc
	ln   net.Listener
	srv  *http.Server

	mu        sync.Mutex
	exchanges []Exchange
	dropped   int
}

// hopHeaders are not forwarded (RFC 9110 7.6.1), nor the ones the
// transport sets itself.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Host": true, "Content-Length": true,
}

// NewProxy listens on a free port of 127.0.0.1 and forwards to send.
func NewProxy(send SendFunc) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the driver proxy: %w", err)
	}
	p := &Proxy{send: send, ln: ln}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is where drivers send their requests.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// ServeHTTP forwards one request and records the exchange.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBody+1))
	if err != nil || len(body) > MaxRequestBody {
		http.Error(w, fmt.Sprintf("whittle driver proxy: request body unreadable or over %d bytes", MaxRequestBody), http.StatusRequestEntityTooLarge)
		return
	}
	req := corpus.Request{Method: r.Method, Path: r.URL.RequestURI(), Header: map[string][]string{}}
	if len(body) > 0 {
		req.Body = body
	}
	for k, vs := range r.Header {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			req.Header[k] = append([]string(nil), vs...)
		}
	}
	if len(req.Header) == 0 {
		req.Header = nil
	}
	resp := p.send(r.Context(), req)
	p.record(req, resp)
	if resp.Status == 0 {
		http.Error(w, "whittle driver proxy: the target gave no answer: "+resp.Err, http.StatusBadGateway)
		return
	}
	for k, vs := range resp.Header {
		if hopHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if enc := w.Header().Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") && r.Header.Get("Accept-Encoding") == "" {
		// The client decompressed what the target sent; say so.
		w.Header().Del("Content-Encoding")
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

func (p *Proxy) record(req corpus.Request, resp corpus.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.exchanges) >= maxExchanges {
		p.dropped++
		return
	}
	p.exchanges = append(p.exchanges, Exchange{Request: req, Response: resp})
}

// Exchanges returns what was recorded, in order, and how many exchanges
// were forwarded but not kept (over the cap).
func (p *Proxy) Exchanges() ([]Exchange, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Exchange(nil), p.exchanges...), p.dropped
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}
