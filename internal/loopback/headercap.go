package loopback

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"

	"github.com/whittle-dev/whittle/internal/limits"
)

// An answer whose headers exceed limits.AnswerHeaderBytes is not read
// further (net/http stops and closes the connection), but it is still an
// answer: the target is up, and it chose a status. headerCap returns that
// status with no headers and no body, marked with the header LimitHeader,
// instead of an error that would read as a failed connection (and make a
// target answering every request so look as if it never answered).

// LimitHeader marks an answer cut by a limit; its value names the limit.
const LimitHeader = "Whittle-Limit"

// ErrHeadersTooLarge is an answer over the header limit whose status line
// could not be read either.
var ErrHeadersTooLarge = errors.New("answer headers too large")

// headConn remembers the first bytes read after each request is written:
// the status line of the answer.
type headConn struct {
	net.Conn
	mu   sync.Mutex
	head []byte
}

const headSize = 128

func (c *headConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.head = c.head[:0]
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *headConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if room := headSize - len(c.head); room > 0 && n > 0 {
		c.head = append(c.head, p[:min(n, room)]...)
	}
	c.mu.Unlock()
	return n, err
}

// status parses the status line read last: "HTTP/1.1 200 OK".
func (c *headConn) status() (proto string, code int, ok bool) {
	c.mu.Lock()
	line, _, _ := bytes.Cut(c.head, []byte("\n"))
	c.mu.Unlock()
	f := strings.Fields(string(line))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return "", 0, false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 999 {
		return "", 0, false
	}
	return f[0], code, true
}

type headerCap struct{ *http.Transport }

func (h headerCap) RoundTrip(req *http.Request) (*http.Response, error) {
	var conn net.Conn
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { conn = i.Conn }}
	resp, err := h.Transport.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil || !strings.Contains(err.Error(), "server response headers exceeded") {
		return resp, err
	}
	hc, _ := conn.(*headConn)
	if hc == nil {
		return nil, headersTooLarge()
	}
	proto, code, ok := hc.status()
	if !ok {
		return nil, headersTooLarge()
	}
	major, minor, _ := http.ParseHTTPVersion(proto)
	return &http.Response{
		Status: fmt.Sprintf("%d %s", code, http.StatusText(code)), StatusCode: code,
		Proto: proto, ProtoMajor: major, ProtoMinor: minor,
		Header:  http.Header{LimitHeader: {limits.AnswerHeaderBytes.Name}},
		Body:    http.NoBody,
		Close:   true,
		Request: req,
	}, nil
}

func headersTooLarge() error {
	return fmt.Errorf("%w: more than %s (%s)", ErrHeadersTooLarge, limits.AnswerHeaderBytes.Format(), limits.AnswerHeaderBytes.Name)
}
