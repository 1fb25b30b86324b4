package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/report"
)

// sender is what the verification needs of a running target.
type sender interface {
	Send(ctx context.Context, req corpus.Request) corpus.Response
}

// replay sends every request in order and returns the answers.
func replay(ctx context.Context, t sender, reqs []corpus.Request) ([]corpus.Response, error) {
	out := make([]corpus.Response, 0, len(reqs))
	for _, r := range reqs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, t.Send(ctx, r))
	}
	return out, nil
}

// learnVolatile compares two runs of the original image over the same
// requests and returns, per request, what changed between them.
func learnVolatile(a, b []corpus.Response) []corpus.Volatile {
	v := make([]corpus.Volatile, len(a))
	for i := range a {
		if i < len(b) {
			v[i] = corpus.LearnVolatile(a[i], b[i])
		}
	}
	return v
}

// compareRuns checks the minimal image's answers against the original's.
func compareRuns(reqs []corpus.Request, want, got []corpus.Response, vol []corpus.Volatile, bus *event.Bus) *report.Verification {
	v := &report.Verification{Total: len(reqs)}
	for _, x := range vol {
		v.Volatile += len(x.Paths)
		if x.Body || x.Status {
			v.Volatile++
		}
	}
	for i, req := range reqs {
		if i >= len(want) || i >= len(got) {
			break
		}
		ok, why := corpus.Equivalent(want[i], got[i], vol[i])
		if ok {
			v.Identical++
			continue
		}
		d := report.Divergence{
			Operation: req.Operation,
			Request:   req.Method + " " + req.Path,
			Reason:    why,
			Original:  summarize(want[i]),
			Minimal:   summarize(got[i]),
		}
		v.Divergences = append(v.Divergences, d)
		bus.Publish(event.Divergence{Stamp: event.Now(), Operation: d.Operation, Request: d.Request, Original: d.Original, Minimal: d.Minimal})
	}
	if v.Identical == v.Total {
		v.Result = "identical"
	} else {
		v.Result = "diverged"
	}
	return v
}

// summarize renders an answer for reports: status line and the start of the body.
func summarize(r corpus.Response) string {
	if r.Err != "" {
		return "error: " + r.Err
	}
	body := strings.TrimSpace(string(r.Body))
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return fmt.Sprintf("%d %s", r.Status, body)
}
