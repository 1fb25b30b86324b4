package probe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// Send sends one request to the target and captures its answer. Transport
// failures and timeouts are reported in Response.Err, never as a Go error,
// because to a fuzzer they are observations like any status code.
func (t *Target) Send(ctx context.Context, req corpus.Request) corpus.Response {
	if t.freshOnly.Load() {
		return t.SendFresh(ctx, req)
	}
	return send(ctx, t.client, t.BaseURL, req, t.cfg.maxBody)
}

func send(ctx context.Context, client *http.Client, base string, req corpus.Request, maxBody int64) corpus.Response {
	start := time.Now()
	hreq, err := req.HTTPRequest(base)
	if err != nil {
		return corpus.Response{Err: "building request: " + err.Error()}
	}
	hreq = hreq.WithContext(ctx)
	resp, err := client.Do(hreq)
	if err != nil {
		r := corpus.Response{Err: err.Error(), Duration: time.Since(start)}
		var timeout interface{ Timeout() bool }
		if errors.As(err, &timeout) && timeout.Timeout() {
			r.Err = "timeout: " + err.Error()
		}
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	out := corpus.Response{Status: resp.StatusCode, Header: resp.Header, Duration: time.Since(start)}
	if int64(len(body)) > maxBody {
		body = body[:maxBody]
		out.Truncated = true
	}
	out.Body = body
	if err != nil {
		out.Err = "reading body: " + err.Error()
	}
	return out
}
