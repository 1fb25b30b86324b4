package verify

import (
	"fmt"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/report"
)

// Verification is the run report's verdict on a minimal image's replay:
// every answer of the reference counts, each one the replay did not match
// is a divergence.
func (r *Reference) Verification(got []fuzz.Exchange) *report.Verification {
	v := &report.Verification{Total: len(r.Answers), Volatile: r.Volatile.Fields()}
	for _, o := range r.Compare(got) {
		if o.Want == nil {
			continue // the minimal image's extra answers prove nothing either way
		}
		if o.Match == Identical {
			v.Identical++
			continue
		}
		w := o.Want
		d := report.Divergence{Operation: w.Request.Operation, Request: w.Request.Method + " " + w.Request.Path,
			Original: Describe(*w), Reason: o.Reason, Minimal: "(none)"}
		if o.Match == NotSent {
			d.Reason = "not sent: the minimal image's replay took another path"
		}
		if o.Got != nil {
			d.Minimal = Describe(*o.Got)
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

// Describe renders an answer for reports: status line, the start of the
// body, and the crash that followed it.
func Describe(x fuzz.Exchange) string {
	s := Summarize(x.Response)
	if x.Crash != "" {
		s += " (target " + x.Crash + ")"
	}
	return s
}

// Summarize renders an answer for reports: status line and the start of
// the body.
func Summarize(r corpus.Response) string {
	if r.Err != "" {
		return "error: " + r.Err
	}
	body := strings.TrimSpace(string(r.Body))
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return fmt.Sprintf("%d %s", r.Status, body)
}
