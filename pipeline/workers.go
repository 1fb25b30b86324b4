package pipeline

import (
	"strings"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/report"
)

// logWorkers logs a change of the worker count when it says something:
// a back-off (timeouts, 5xx, latency) or a count higher than any before.
// The count going up and down by one around the target's capacity is
// shown by the progress line and kept in the report, not logged.
func (s *session) logWorkers(e fuzz.Event) {
	c := e.Workers
	if c == nil || strings.Contains(c.Reason, "stopped rising") {
		return
	}
	if c.To > c.From {
		if c.To <= s.maxWorkersLogged {
			return
		}
		s.maxWorkersLogged = c.To
	}
	s.run.logf(event.LevelInfo, "workers: %s", strings.Join(e.Reasons, ", "))
}

// reportConcurrency copies the fuzzer's concurrency statistics into the report.
func reportConcurrency(c *fuzz.ConcurrencyStats) *report.Concurrency {
	if c == nil {
		return nil
	}
	out := &report.Concurrency{
		Workers: c.Workers, MaxWorkers: c.Max, Adaptive: c.Adaptive, Batches: c.Batches,
		Calibrated: c.Calibrated, Confirmed: c.Confirmed, Unattributed: c.Unattributed,
	}
	for _, ch := range c.Changes {
		out.Changes = append(out.Changes, report.WorkerChange{Request: ch.Request, From: ch.From, To: ch.To, Reason: ch.Reason})
	}
	return out
}
