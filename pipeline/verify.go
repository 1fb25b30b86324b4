package pipeline

import (
	"fmt"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/report"
)

// stepKey locates an exchange in the replayed corpus.
type stepKey struct{ entry, step int }

func keyOf(x fuzz.Exchange) stepKey { return stepKey{x.Entry, x.Step} }

// replayIndex finds a replay's exchanges by step, and the entries in which
// the target crashed (with the reason).
type replayIndex struct {
	at      map[stepKey]int
	crashed map[int]string
}

func indexReplay(xs []fuzz.Exchange) replayIndex {
	ix := replayIndex{at: make(map[stepKey]int, len(xs)), crashed: map[int]string{}}
	for i, x := range xs {
		ix.at[keyOf(x)] = i
		if x.Crash != "" {
			if _, seen := ix.crashed[x.Entry]; !seen {
				ix.crashed[x.Entry] = x.Crash
			}
		}
	}
	return ix
}

// sameCrash reports whether both replays saw the target die in entry e for
// the same reason. A process that dies just after answering (a goroutine
// panicking once the handler returned) is noticed at this request in one
// run and at the next in another: where exactly is timing, not behaviour.
func sameCrash(a, b replayIndex, e int) bool {
	ra, okA := a.crashed[e]
	rb, okB := b.crashed[e]
	return okA && okB && ra == rb
}

// learnVolatile compares two replays of the corpus on the original image and
// returns, per exchange of the first, what changed in the second.
func learnVolatile(a, b []fuzz.Exchange) []corpus.Volatile {
	ia, ib := indexReplay(a), indexReplay(b)
	v := make([]corpus.Volatile, len(a))
	for i, x := range a {
		j, ok := ib.at[keyOf(x)]
		switch {
		case !ok || sameCrash(ia, ib, x.Entry) && (noAnswer(x.Response) || noAnswer(b[j].Response)):
			// Not comparable: anything goes.
			v[i] = corpus.Volatile{Status: true, Body: true}
		default:
			v[i] = corpus.LearnVolatile(x.Response, b[j].Response)
			if (x.Crash == "") != (b[j].Crash == "") {
				v[i].Status = true
			}
		}
	}
	return v
}

func noAnswer(r corpus.Response) bool { return r.Status == 0 && r.Err != "" }

// compareRuns checks the minimal image's replay against the original's.
func compareRuns(want, got []fuzz.Exchange, vol []corpus.Volatile) *report.Verification {
	v := &report.Verification{Total: len(want)}
	for _, x := range vol {
		v.Volatile += len(x.Paths)
		if x.Body || x.Status {
			v.Volatile++
		}
	}
	iw, ig := indexReplay(want), indexReplay(got)
	for i, w := range want {
		d := report.Divergence{Operation: w.Request.Operation, Request: w.Request.Method + " " + w.Request.Path, Original: describe(w)}
		j, ok := ig.at[keyOf(w)]
		crashedAlike := sameCrash(iw, ig, w.Entry)
		switch {
		case crashedAlike && (!ok || noAnswer(w.Response) || noAnswer(got[j].Response)):
			v.Identical++ // both died in this entry, for the same reason
			continue
		case !ok:
			d.Reason, d.Minimal = "not sent: the minimal image's replay took another path", "(none)"
		case (w.Crash == "") != (got[j].Crash == "") && !crashedAlike && !vol[i].Status:
			d.Reason, d.Minimal = "crash behaviour differs", describe(got[j])
		default:
			ok, why := corpus.Equivalent(w.Response, got[j].Response, vol[i])
			if ok {
				v.Identical++
				continue
			}
			d.Reason, d.Minimal = why, describe(got[j])
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
