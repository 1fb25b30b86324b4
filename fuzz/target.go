package fuzz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/fuzz/oracle"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// TargetHealth tells the fuzzer whether the target is still alive and gives
// it a fresh one when it is not. The pipeline implements it with probe: the
// container exited → remove it, start a fresh container of the image,
// re-bind the tracer, and make the Sender reach the new instance.
type TargetHealth interface {
	// Crashed reports whether the target died, and how. The reason must be
	// stable across instances ("exited with status 2"): it is the crash
	// finding's signature. It is called after every answer: it must be cheap.
	Crashed() (bool, string)
	// Restart replaces a dead (or merely used) target with a fresh one and
	// returns once it is ready to answer through the same Sender.
	Restart(ctx context.Context) error
}

// Errors that end a run early.
var (
	// ErrTargetLost: the target crashed and could not be restarted.
	ErrTargetLost = errors.New("target crashed and could not be restarted")
	// ErrTooManyCrashes: the target crashed soon after each start more often
	// in a row than WithMaxCrashes allows.
	ErrTooManyCrashes = errors.New("target keeps crashing")
)

const (
	defaultCrashGrace = 500 * time.Millisecond
	defaultMaxCrashes = 100
	// healthyLife is how many requests a target instance must answer for
	// its crash not to count towards a crash loop.
	healthyLife = 20
	crashPoll   = 10 * time.Millisecond
)

// crashed asks t whether the target died. After a transport failure the
// engine may not have noticed the exit yet, so it keeps asking for up to
// grace; otherwise it asks once.
func crashed(ctx context.Context, t TargetHealth, resp corpus.Response, grace time.Duration) (bool, string) {
	if t == nil {
		return false, ""
	}
	if dead, why := t.Crashed(); dead {
		return true, why
	}
	if !resp.NoAnswer() || oracle.IsTimeout(resp.Err) {
		return false, ""
	}
	return waitCrash(ctx, t, grace)
}

// waitCrash polls t for up to grace.
func waitCrash(ctx context.Context, t TargetHealth, grace time.Duration) (bool, string) {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if dead, why := t.Crashed(); dead {
			return true, why
		}
		select {
		case <-ctx.Done():
			return false, ""
		case <-time.After(crashPoll):
		}
	}
	return t.Crashed()
}

// checkAlive finds out whether the target died after its last answer: it
// gives the engine a moment to notice, then sends a harmless request (a GET
// without parameters, /health when there is one), which a dead target fails;
// without such an operation it waits the whole crash grace.
func (r *runner) checkAlive(ctx context.Context) (bool, string) {
	t := r.cfg.target
	if dead, why := waitCrash(ctx, t, min(r.cfg.crashGrace, 50*time.Millisecond)); dead {
		return true, why
	}
	op := r.liveness
	if op == nil {
		return waitCrash(ctx, t, r.cfg.crashGrace)
	}
	// No parameters at all: none is required, and the random stream stays the loop's.
	resp := deliver(ctx, r.send, r.gen.Encode(op, gen.Input{Op: op.ID}, gen.Intent{}).Request)
	r.drainFeedback(ctx)
	return crashed(ctx, t, resp, r.cfg.crashGrace)
}

// drainFeedback takes, and drops, what a request outside the loop (a
// minimisation attempt, a liveness check) newly covered, so that it is not
// credited to the loop's next request. That coverage counts for the image
// all the same: the tracer saw it.
func (r *runner) drainFeedback(ctx context.Context) {
	if r.cfg.feedback != nil {
		_, _ = r.cfg.feedback.After(ctx)
	}
}

// livenessOp picks the operation checkAlive sends: a GET without required
// parameters or body, preferring health-like paths, then the shortest.
func livenessOp(s *spec.Spec) *spec.Operation {
	var best *spec.Operation
	score := func(op *spec.Operation) int {
		p := strings.ToLower(op.Path)
		for _, w := range []string{"health", "ping", "live", "ready", "status"} {
			if strings.Contains(p, w) {
				return 0
			}
		}
		return 1 + len(p)
	}
	for _, op := range s.Operations {
		if op.Method != "GET" || op.Body != nil && op.Body.Required || strings.Contains(op.Path, "{") {
			continue
		}
		required := false
		for _, p := range op.Params {
			required = required || p.Required
		}
		if required {
			continue
		}
		if best == nil || score(op) < score(best) {
			best = op
		}
	}
	return best
}

// restart gets a fresh target and forgets everything bound to the old one.
func (r *runner) restart(ctx context.Context, why string) error {
	t := r.cfg.target
	if t == nil {
		return nil
	}
	r.stats.restart()
	r.emit(Event{Kind: EventRestart, Request: r.stats.requests.Load(), Reasons: []string{why}})
	if err := t.Restart(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("%w: %w", ErrTargetLost, err)
	}
	r.resetBindings()
	r.state.FreshTarget()
	r.history.reset()
	r.lifeStart = r.stats.requests.Load()
	return nil
}

// resetBindings forgets the values answers of a dead instance produced.
func (r *runner) resetBindings() {
	r.store.Reset()
}

// history is what the target was sent since it last (re)started, for crash
// reproducers: concrete steps (with the values sent) and their requests.
type history struct {
	steps  []Step
	reqs   []corpus.Request
	starts []int // index of the first step of each sequence
	// gone counts the steps forgotten so far: a step's absolute number
	// (what add returns) minus gone is its index in steps.
	gone int
}

// maxHistory bounds the steps kept; older ones are dropped.
const maxHistory = 1024

func (h *history) reset() {
	h.gone += len(h.steps)
	h.steps, h.reqs, h.starts = nil, nil, nil
}

func (h *history) startSequence() { h.starts = append(h.starts, len(h.steps)) }

// add records a sent step and its answer and returns its absolute number;
// local maps the sequence's step indexes to those numbers (-1: not sent) so
// that its copies can be rebased.
func (h *history) add(st Step, req corpus.Request, resp corpus.Response, local []int) int {
	s := cloneStep(st)
	// Only the ids of a 2xx answer are read back (producedValues, renames),
	// and a truncated body does not parse: keep no other body, or the
	// history of an endless answer holds a megabyte per step.
	if !is2xx(resp.Status) || resp.Truncated {
		resp.Body = nil
	}
	s.orig = &resp
	cs := s.Copies[:0]
	for _, c := range s.Copies {
		if c.Step < 0 || c.Step >= len(local) || local[c.Step] < 0 {
			continue
		}
		if i := local[c.Step] - h.gone; i >= 0 && i < len(h.steps) {
			c.Step = i
			cs = append(cs, c)
		}
	}
	s.Copies = cs
	h.steps = append(h.steps, s)
	h.reqs = append(h.reqs, req)
	n := h.gone + len(h.steps) - 1
	if len(h.steps) > maxHistory {
		h.drop(maxHistory / 4)
	}
	return n
}

// drop forgets the n oldest steps (in place: the history owns its steps).
func (h *history) drop(n int) {
	rest := h.steps[n:]
	for i := range rest {
		cs := rest[i].Copies[:0]
		for _, c := range rest[i].Copies {
			if c.Step -= n; c.Step >= 0 {
				cs = append(cs, c)
			}
		}
		rest[i].Copies = cs
	}
	h.steps = append(h.steps[:0:0], rest...)
	h.reqs = append(h.reqs[:0:0], h.reqs[n:]...)
	h.gone += n
	starts := h.starts[:0]
	for _, s := range h.starts {
		if s-n >= 0 {
			starts = append(starts, s-n)
		}
	}
	h.starts = starts
}

// tail returns the steps of the last k sequences (k ≤ 0: all).
func (h *history) tail(k int) []Step {
	from := 0
	if k > 0 && k <= len(h.starts) {
		from = h.starts[len(h.starts)-k]
	}
	return subsequence(h.steps, seqRange(from, len(h.steps)))
}

func (h *history) sequences() int { return len(h.starts) }

func seqRange(from, to int) []int {
	out := make([]int, 0, max(0, to-from))
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
