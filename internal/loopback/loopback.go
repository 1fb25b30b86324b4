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
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/whittle-dev/whittle/internal/limits"
)

// ErrNotLoopback is a connection refused because its address is not a
// loopback one.
var ErrNotLoopback = errors.New("not a loopback address")

// NewClient returns an HTTP client that only ever connects to 127.0.0.0/8
// or ::1 (the name "localhost" means 127.0.0.1), ignores proxy settings and
// returns redirects as answers instead of following them, and reads no
// more than limits.AnswerHeaderBytes of an answer's headers (see
// headerCap). timeout bounds each request (0: none).
func NewClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ip, port, err := hostIP(addr)
			if err != nil {
				return nil, err
			}
			// Dial the checked address itself, never a name resolved again.
			c, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err != nil {
				return nil, err
			}
			return &headConn{Conn: c}, nil
		},
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		// Go's default is 10 MiB per answer, each held while it is read.
		MaxResponseHeaderBytes: limits.AnswerHeaderBytes.Value,
	}
	return &http.Client{
		Transport:     headerCap{tr},
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

// NewClientInNetwork returns a client like NewClient whose connections are
// made inside the network namespace of the host process pid: a loopback
// address there is the target container's own loopback, which nothing
// publishes (a runtime's debugging endpoint bound to it is reachable by
// whittle alone). Each dial enters the namespace on a locked thread for the
// socket's creation only.
func NewClientInNetwork(pid int, timeout time.Duration) *http.Client {
	c := NewClient(timeout)
	tr := c.Transport.(headerCap).Transport
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		ip, port, err := hostIP(addr)
		if err != nil {
			return nil, err
		}
		conn, err := dialInNetwork(ctx, pid, network, net.JoinHostPort(ip.String(), port))
		if err != nil {
			return nil, err
		}
		return &headConn{Conn: conn}, nil
	}
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4, 4
	return c
}

// dialInNetwork connects to addr from inside pid's network namespace. The
// socket belongs to the namespace it was created in, so only its creation
// needs the thread to be there; the thread goes back to whittle's own
// namespace, and is discarded if it cannot (never reused in the wrong one).
func dialInNetwork(ctx context.Context, pid int, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("opening whittle's network namespace: %w", err)}
			return
		}
		defer unix.Close(own)
		theirs, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("opening the network namespace of pid %d: %w", pid, err)}
			return
		}
		defer unix.Close(theirs)
		if err := unix.Setns(theirs, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("entering the network namespace of pid %d: %w", pid, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if unix.Setns(own, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else the goroutine ends locked: the runtime discards the thread
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}
