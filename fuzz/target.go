package fuzz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/oracle"
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
	// ErrTooManyCrashes: the target crashed soon after each start, too
	// many times in a row (100 by default) to serve any more.
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
func (l *loop) checkAlive(ctx context.Context) (bool, string) {
	t := l.cfg.target
	if dead, why := waitCrash(ctx, t, min(l.cfg.crashGrace, 50*time.Millisecond)); dead {
		return true, why
	}
	op := l.instance.liveness
	if op == nil {
		return waitCrash(ctx, t, l.cfg.crashGrace)
	}
	// No parameters at all: none is required, and the random stream stays the loop's.
	resp := l.exec.deliver(ctx, l.gen.Encode(op, gen.Input{Op: op.ID}, gen.Intent{}).Request)
	l.coverage.drain(ctx)
	return crashed(ctx, t, resp, l.cfg.crashGrace)
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

// restart gets a fresh target and forgets everything bound to the old one:
// the ids it handed out, what it was sent, what it was made to create. Only
// the loop and its stages restart the target, never an observer.
func (l *loop) restart(ctx context.Context, why string) error {
	t := l.cfg.target
	if t == nil {
		return nil
	}
	l.mon.stats.restart()
	l.mon.emit(Event{Kind: EventRestart, Request: l.mon.stats.requests.Load(), Reasons: []string{why}})
	if err := t.Restart(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("%w: %w", ErrTargetLost, err)
	}
	l.exec.values.Reset()
	l.keeper.FreshTarget()
	l.instance.history.reset()
	l.instance.lifeStart = l.mon.stats.requests.Load()
	return nil
}
