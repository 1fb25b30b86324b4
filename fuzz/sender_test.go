package fuzz

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/loopback"
)

// httpSender sends over keep-alive HTTP connections to Base: the Sender of
// tests against in-process servers (the pipeline sends through verify.Target).
type httpSender struct {
	// Base is scheme://host:port[/prefix]; request paths are appended.
	Base    string
	Client  *http.Client
	Timeout time.Duration
	// MaxBody caps how much of an answer is kept (Response.Truncated beyond).
	MaxBody int64
}

// newHTTPSender returns a sender with its own keep-alive client, which
// connects to loopback addresses only and does not follow redirects (answers
// are seen as sent).
func newHTTPSender(base string, timeout time.Duration) *httpSender {
	return &httpSender{
		Base:    base,
		Client:  loopback.NewClient(0),
		Timeout: timeout,
		MaxBody: 1 << 20,
	}
}

// Send implements Sender.
func (h *httpSender) Send(ctx context.Context, req corpus.Request) corpus.Response {
	start := time.Now()
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}
	hr, err := req.HTTPRequest(h.Base)
	if err != nil {
		return corpus.Response{Err: "building request: " + err.Error(), Duration: time.Since(start)}
	}
	resp, err := h.Client.Do(hr.WithContext(ctx))
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "timeout: " + msg
		}
		return corpus.Response{Err: msg, Duration: time.Since(start)}
	}
	defer resp.Body.Close()
	limit := h.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	out := corpus.Response{Status: resp.StatusCode, Header: resp.Header, Duration: time.Since(start)}
	if int64(len(body)) > limit {
		body, out.Truncated = body[:limit], true
	}
	out.Body = body
	if err != nil {
		out.Err = "reading body: " + err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			out.Err = "timeout: " + out.Err
		}
	}
	return out
}

// BaseURL is where the requests go, for curl reproducers.
func (h *httpSender) BaseURL() string { return h.Base }

// senderFunc adapts a function to Sender.
type senderFunc func(ctx context.Context, req corpus.Request) corpus.Response

// Send calls f.
func (f senderFunc) Send(ctx context.Context, req corpus.Request) corpus.Response { return f(ctx, req) }
