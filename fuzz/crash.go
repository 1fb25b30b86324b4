package fuzz

import (
	"context"
	"fmt"
	"slices"

	"github.com/whittle-dev/whittle/fuzz/oracle"
)

// maxMinimizePerCrash bounds how many crashes of one signature are
// minimised while none could be; once one is, later ones count towards it.
const maxMinimizePerCrash = 3

// onCrash records a crash found after the answer rec got, restarts the
// target and minimises the crash's sequence. suspects are sequences that
// may have caused it (the workers' whose requests went unanswered), tried
// first. It reports whether the crash repeated one whose cause is known
// (a finding minimised to the requests that crash a fresh instance):
// nothing was minimised then. A run that cannot go on says so in
// l.instance.lost.
func (l *loop) onCrash(ctx context.Context, rec *record, reason string, suspects ...[]Step) (knownCause bool) {
	if l.mon.stats.requests.Load()-l.instance.lifeStart >= healthyLife {
		l.instance.crashLoop = 0
	}
	l.instance.crashLoop++
	l.mon.stats.crash()
	l.instance.held = nil // failures of a dying target, not findings
	h := l.instance.history
	l.instance.history = h.fresh()
	n := l.mon.stats.requests.Load()
	last := rec.req.Request
	f := Finding{
		Operation: rec.op.ID, Check: oracle.CheckCrash, Signature: reason,
		Message:  fmt.Sprintf("target crashed (%s) after %s %s", reason, last.Method, last.Path),
		Requests: slices.Clone(h.reqs), Response: rec.resp, Intent: rec.req.Intent, FirstRequest: n,
		Steps: cloneSteps(h.steps),
	}
	if l.instance.crashLoop > l.cfg.maxCrashes {
		l.instance.lost = fmt.Errorf("%w: %d crashes in a row, each within %d requests of a start", ErrTooManyCrashes, l.instance.crashLoop, healthyLife)
		l.recordFinding(f)
		return false
	}
	if err := l.restart(ctx, "crashed: "+reason); err != nil {
		l.instance.lost = err
		l.recordFinding(f)
		return false
	}
	if known := l.knownCrash(reason, &h); known != nil {
		f.Operation = known.Operation
		f.Requests, f.Steps, f.Response = known.Requests, known.Steps, known.Response
		l.recordFinding(f)
		return known.Minimized
	}
	if l.cfg.minRequests > 0 {
		l.instance.minimizedCrashes[reason]++
		if !l.minimizeCrash(ctx, &f, &h, suspects) {
			if known := l.anyCrash(reason); known != nil {
				// Not reproduced: most likely the crash already known.
				f.Operation = known.Operation
			}
		}
	}
	if f.Minimized && len(f.Requests) > 0 {
		last := f.Requests[len(f.Requests)-1]
		f.Message = fmt.Sprintf("target crashed (%s) after %s %s, %d requests from a fresh start", reason, last.Method, last.Path, len(f.Requests))
		ids, n := l.findings.dropGuesses(f)
		if n > 0 {
			f.Count = 1 + n // this crash and those the guesses counted
		}
		for _, id := range ids {
			l.unpersistFinding(id)
		}
	}
	f.Curl = oracle.CurlSequence(l.baseURL(), f.Requests)
	l.recordFinding(f)
	return false
}

// anyCrash returns the first crash finding with this signature.
func (l *loop) anyCrash(reason string) *Finding {
	for _, f := range l.findings.list() {
		if f.Check == oracle.CheckCrash && f.Signature == reason {
			return &f
		}
	}
	return nil
}

// knownCrash returns the finding a crash most likely repeats: one of the
// same signature whose operation the last sequences sent, or any of that
// signature once enough of them were minimised.
func (l *loop) knownCrash(reason string, h *history) *Finding {
	var same []Finding
	for _, f := range l.findings.list() {
		if f.Check == oracle.CheckCrash && f.Signature == reason {
			same = append(same, f)
		}
	}
	if len(same) == 0 {
		return nil
	}
	recent := h.tail(2)
	for i := range same {
		if !same[i].Minimized && l.instance.minimizedCrashes[reason] < maxMinimizePerCrash {
			continue // its operation is a guess: minimise this one
		}
		for _, st := range recent {
			if st.Op == same[i].Operation {
				return &same[i]
			}
		}
	}
	for i := range same {
		if same[i].Minimized {
			return &same[i] // the cause is known: do not pay for it again
		}
	}
	if l.instance.minimizedCrashes[reason] >= maxMinimizePerCrash || l.cfg.minRequests <= 0 {
		return &same[0]
	}
	return nil
}
