// Package loopback is the only way whittle talks HTTP: a client that dials
// loopback addresses only, ignores proxy settings and never follows a
// redirect. The target, its published port and any spec fetched from it or
// named by the user are all reached through it, so no answer can send
// whittle's traffic off this machine.
package loopback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNotLoopback is a connection refused because its address is not a
// loopback one.
var ErrNotLoopback = errors.New("not a loopback address")

// ClientOption configures NewClient.
type ClientOption func(*http.Transport)

// WithoutKeepAlive opens a connection per request and closes it after the
// answer. Some servers answer a request on a kept-alive connection only
// after the client's delayed ACK (Nagle's algorithm on their side, e.g.
// the JDK's HttpServer writing headers and body apart): tens of
// milliseconds per request that a fresh connection does not pay.
func WithoutKeepAlive() ClientOption {
	return func(tr *http.Transport) { tr.DisableKeepAlives = true }
}

// NewClient returns an HTTP client that only ever connects to 127.0.0.0/8
// or ::1 (the name "localhost" means 127.0.0.1), ignores proxy settings and
// returns redirects as answers instead of following them. timeout bounds
// each request (0: none).
func NewClient(timeout time.Duration, opts ...ClientOption) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ip, port, err := hostIP(addr)
			if err != nil {
				return nil, err
			}
			// Dial the checked address itself, never a name resolved again.
			return dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		},
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	for _, o := range opts {
		o(tr)
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// hostIP is the loopback address addr ("host:port") names.
func hostIP(addr string) (net.IP, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", err
	}
	if strings.EqualFold(host, "localhost") {
		return net.IPv4(127, 0, 0, 1), port, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ip, port, nil
	}
	return nil, "", fmt.Errorf("refusing to connect to %s: %w", addr, ErrNotLoopback)
}

// CheckURL tells whether the client would connect to u's host: it must be
// an http(s) URL naming a loopback address or "localhost".
func CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: want an http or https URL", u.Redacted())
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if _, _, err := hostIP(net.JoinHostPort(u.Hostname(), port)); err != nil {
		return fmt.Errorf("%s: host %s is %w", u.Redacted(), u.Hostname(), ErrNotLoopback)
	}
	return nil
}
