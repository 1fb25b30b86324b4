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
		ThreadCredited: c.ThreadCredited,
	}
	for _, ch := range c.Changes {
		out.Changes = append(out.Changes, report.WorkerChange{Request: ch.Request, From: ch.From, To: ch.To, Reason: ch.Reason})
	}
	return out
}

// reportThreadCredit adds to the report how coverage was credited by thread.
func (s *session) reportThreadCredit(c *report.Concurrency) {
	if c == nil {
		return
	}
	c.ThreadCredit = s.threadCredit
	if s.flights != nil {
		st := s.flights.snapshot()
		c.Heads, c.HeadsMatched = st.Heads, st.Matched
	}
}

// creditByThread returns the feedback of a fuzzing run: with several
// workers possible, one that credits coverage by thread (flights.go) where
// the target's coverage tells threads, with its book (nil otherwise).
func (s *session) creditByThread(fb *traceFeedback) (fuzz.Feedback, func(fuzz.Exchange)) {
	s.flights = nil
	if s.run.cfg.Workers == 1 {
		return fb, fb.credit
	}
	ok, why := threadCredit(s.cov)
	if ok {
		book, err := newFlightBook(s.tracer, s.orig.BaseURL())
		if err == nil {
			s.threadCredit, s.flights = "by the thread that ran it, where a thread served one request", book
			s.run.logf(event.LevelInfo, "coverage: with several requests in flight, credited %s", s.threadCredit)
			ff := &flightFeedback{traceFeedback: fb, book: book}
			return ff, ff.credit
		}
		why = err.Error()
	}
	s.threadCredit = "not by thread: " + why
	s.run.logf(event.LevelInfo, "coverage: with several requests in flight, credited %s", s.threadCredit)
	return fb, fb.credit
}
