package fuzz

import (
	"context"
	"fmt"
	"slices"

	"github.com/whittle-dev/whittle/fuzz/oracle"

	"github.com/whittle-dev/whittle/fuzz/spec"
)

// maxMinimizePerCrash bounds how many crashes of one signature are
// minimised while none could be; once one is, later ones count towards it.
const maxMinimizePerCrash = 3

// onCrash records a crash found after the answer res to a request for op,
// restarts the target and minimises the crash's sequence. It returns false
// when the run cannot go on (r.lost says why).
func (r *runner) onCrash(ctx context.Context, op *spec.Operation, res stepResult, reason string) bool {
	if r.stats.requests.Load()-r.lifeStart >= healthyLife {
		r.crashLoop = 0
	}
	r.crashLoop++
	r.stats.crash()
	r.held = nil // failures of a dying target, not findings
	h := r.history
	r.history = history{}
	n := r.stats.requests.Load()
	last := res.req.Request
	f := Finding{
		Operation: op.ID, Check: oracle.CheckCrash, Signature: reason,
		Message:  fmt.Sprintf("target crashed (%s) after %s %s", reason, last.Method, last.Path),
		Requests: slices.Clone(h.reqs), Response: res.resp, Intent: res.req.Intent, FirstRequest: n,
		Steps: cloneSteps(h.steps),
	}
	if r.crashLoop > r.cfg.maxCrashes {
		r.lost = fmt.Errorf("%w: %d crashes in a row, each within %d requests of a start", ErrTooManyCrashes, r.crashLoop, healthyLife)
		r.recordFinding(f)
		return false
	}
	if err := r.restart(ctx, "crashed: "+reason); err != nil {
		r.lost = err
		r.recordFinding(f)
		return false
	}
	if known := r.knownCrash(reason, &h); known != nil {
		f.Operation = known.Operation
		f.Requests, f.Steps, f.Response = known.Requests, known.Steps, known.Response
		r.recordFinding(f)
		return true
	}
	if r.cfg.minRequests > 0 {
		r.minimizedCrashes[reason]++
		if !r.minimizeCrash(ctx, &f, &h) {
			if known := r.anyCrash(reason); known != nil {
				// Not reproduced: most likely the crash already known.
				f.Operation = known.Operation
			}
		}
	}
	if f.Minimized && len(f.Requests) > 0 {
		last := f.Requests[len(f.Requests)-1]
		f.Message = fmt.Sprintf("target crashed (%s) after %s %s, %d requests from a fresh start", reason, last.Method, last.Path, len(f.Requests))
	}
	f.Curl = oracle.CurlSequence(r.baseURL(), f.Requests)
	r.recordFinding(f)
	return r.lost == nil
}

// anyCrash returns the first crash finding with this signature.
func (r *runner) anyCrash(reason string) *Finding {
	for _, f := range r.findings.list() {
		if f.Check == oracle.CheckCrash && f.Signature == reason {
			return &f
		}
	}
	return nil
}

// knownCrash returns the finding a crash most likely repeats: one of the
// same signature whose operation the last sequences sent, or any of that
// signature once enough of them were minimised.
func (r *runner) knownCrash(reason string, h *history) *Finding {
	var same []Finding
	for _, f := range r.findings.list() {
		if f.Check == oracle.CheckCrash && f.Signature == reason {
			same = append(same, f)
		}
	}
	if len(same) == 0 {
		return nil
	}
	recent := h.tail(2)
	for i := range same {
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
	if r.minimizedCrashes[reason] >= maxMinimizePerCrash || r.cfg.minRequests <= 0 {
		return &same[0]
	}
	return nil
}

// recordFinding adds f (deduplicated), persists it and announces it when new.
func (r *runner) recordFinding(f Finding) (Finding, bool) {
	if f.Curl == "" {
		f.Curl = oracle.CurlSequence(r.baseURL(), f.Requests)
	}
	got, isNew, updated := r.findings.add(f)
	if isNew || updated {
		r.persistFinding(got)
	}
	if isNew {
		r.emit(Event{Kind: EventFinding, Request: got.FirstRequest, Operation: got.Operation, Finding: &got})
	}
	return got, isNew
}
