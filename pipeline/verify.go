package pipeline

import (
	"fmt"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/report"
)

// sameStep reports whether two replay exchanges are the same request of the
// same corpus entry.
func sameStep(a, b fuzz.Exchange) bool { return a.Entry == b.Entry && a.Step == b.Step }

// learnVolatile compares two replays of the corpus on the original image and
// returns, per exchange of the first, what changed in the second.
func learnVolatile(a, b []fuzz.Exchange) []corpus.Volatile {
	v := make([]corpus.Volatile, len(a))
	for i := range a {
		if i >= len(b) || !sameStep(a[i], b[i]) {
			// The replays took different paths from here: nothing after is comparable.
			for j := i; j < len(a); j++ {
				v[j] = corpus.Volatile{Status: true, Body: true}
			}
			break
		}
		v[i] = corpus.LearnVolatile(a[i].Response, b[i].Response)
		if (a[i].Crash == "") != (b[i].Crash == "") {
			v[i].Status = true
		}
	}
	return v
}

// compareRuns checks the minimal image's replay against the original's.
func compareRuns(want, got []fuzz.Exchange, vol []corpus.Volatile) *report.Verification {
	v := &report.Verification{Total: len(want)}
	for _, x := range vol {
		v.Volatile += len(x.Paths)
		if x.Body || x.Status {
			v.Volatile++
		}
	}
	for i, w := range want {
		d := report.Divergence{Operation: w.Request.Operation, Request: w.Request.Method + " " + w.Request.Path, Original: describe(w)}
		switch {
		case i >= len(got):
			d.Reason, d.Minimal = "no answer: the minimal image's replay ended early", "(none)"
		case !sameStep(w, got[i]):
			d.Reason = fmt.Sprintf("replay took another path: entry %d step %d instead of entry %d step %d", got[i].Entry, got[i].Step, w.Entry, w.Step)
			d.Minimal = describe(got[i])
		case (w.Crash == "") != (got[i].Crash == "") && !vol[i].Status:
			d.Reason, d.Minimal = "crash behaviour differs", describe(got[i])
		default:
			ok, why := corpus.Equivalent(w.Response, got[i].Response, vol[i])
			if ok {
				v.Identical++
				continue
			}
			d.Reason, d.Minimal = why, describe(got[i])
		}
		v.Divergences = append(v.Divergences, d)
	}
	if v.Identical == v.Total {
		v.Result = "identical"
	} else {
		v.Result = "diverged"
	}
	return v
}

func describe(x fuzz.Exchange) string {
	s := summarize(x.Response)
	if x.Crash != "" {
		s += " (target " + x.Crash + ")"
	}
	return s
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
