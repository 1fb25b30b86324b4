// Package fuzz exercises a service from its OpenAPI spec: each operation once
// for the walking skeleton, then a coverage-guided, stateful fuzzing loop whose
// oracles turn bad answers into findings. Given a TargetHealth it notices the
// target dying, restarts it and shrinks the sequence that killed it; given a
// corpus.Store it persists its corpus as it grows and resumes from it; Replay
// runs stored entries again, against any target, with ids re-bound from the
// answers of the run at hand.
package fuzz

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/whittle-dev/whittle/fuzz/oracle"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/loopback"
)

// Sender delivers a request to the target and returns its answer; transport
// failures are reported in Response.Err, never as a Go error.
type Sender interface {
	Send(ctx context.Context, req corpus.Request) corpus.Response
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, req corpus.Request) corpus.Response

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, req corpus.Request) corpus.Response { return f(ctx, req) }

// HTTPSender sends over keep-alive HTTP connections to Base.
type HTTPSender struct {
	// Base is scheme://host:port[/prefix]; request paths are appended.
	Base    string
	Client  *http.Client
	Timeout time.Duration
	// MaxBody caps how much of an answer is kept (Response.Truncated beyond).
	MaxBody int64
}

// NewHTTPSender returns a sender with its own keep-alive client, which
// connects to loopback addresses only and does not follow redirects (answers
// are seen as sent).
func NewHTTPSender(base string, timeout time.Duration) *HTTPSender {
	return &HTTPSender{
		Base:    base,
		Client:  loopback.NewClient(0),
		Timeout: timeout,
		MaxBody: 1 << 20,
	}
}

// Send implements Sender.
func (h *HTTPSender) Send(ctx context.Context, req corpus.Request) corpus.Response {
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

// deliver sends req and, when it got no answer for another reason than a
// timeout, sends it once more: a keep-alive connection the server closed
// just as it was reused fails a request that never reached the application
// (Go only retries idempotent methods by itself). A target that really
// drops the connection, or died, fails the second time too.
func deliver(ctx context.Context, send Sender, req corpus.Request) corpus.Response {
	resp := send.Send(ctx, req)
	if resp.Status != 0 || resp.Err == "" || oracle.IsTimeout(resp.Err) || ctx.Err() != nil {
		return resp
	}
	return send.Send(ctx, req)
}
