package fuzz

import (
	"context"
	"maps"
	"net/http"
	"slices"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Content negotiation (see gen/negotiate.go): the fuzzer sends every
// representation an operation declares right after the plan, varies the
// negotiation headers afterwards, and correlates the tokens servers build
// file names from (a language tag, an extension) with the files the target
// then uses, like any other value. A token that picked one of several
// variants in a directory makes the other variants worth asking for, and
// the directory input-selected: rebuild keeps it whole.

// sweepNegotiation sends each operation's successful plan step once more
// for each value of gen.NegotiationSweep, one header at a time; steps that earn
// something new join the corpus (so verification replays them). Deletions
// are left out: the second time they only meet a missing resource.
func (f *Fuzzer) sweepNegotiation(ctx context.Context, planned map[string]Step) {
	r := f.r
	for _, op := range r.spec.Operations {
		st, ok := planned[op.ID]
		if !ok || st.Raw != nil || op.Method == http.MethodDelete || r.ctl.skipped(op.ID) {
			continue
		}
		for _, hv := range gen.NegotiationSweep(op) {
			if !r.budgetLeft(ctx) {
				return
			}
			s := cloneStep(st)
			s.Copies = nil
			s.Input.Headers = map[string]string{hv.Name: hv.Value}
			s.Intent = gen.Intent{Phase: gen.Valid, Kind: "negotiate", Target: headerTarget(hv.Name)}
			res := r.execute(ctx, []Step{s})
			if len(res) == 0 || len(res[0].new) == 0 || res[0].crash != "" {
				continue
			}
			var seq []sentStep
			if len(s.Bound) > 0 {
				seq = r.producersOf(op, s)
			}
			concrete := s
			concrete.Input = res[0].req.Input
			seq = append(seq, sentStep{step: concrete, req: res[0].req.Request, resp: res[0].resp})
			f.join(seq, res[0], nil)
		}
	}
}

func headerTarget(name string) string { return "header." + name }

// observeNegotiation records the selections negotiation tokens made
// (inputsel.Correlator.ObserveNegotiation), announces them and queues the
// other variants of their directories.
func (r *runner) observeNegotiation(ctx context.Context, op *spec.Operation, st Step, req *gen.Request, sig Signal, n int64) {
	for _, ns := range r.files.ObserveNegotiation(ctx, op, req.Values, sig.NewFiles, st.Input.Headers) {
		sel := ns.Selection
		r.emit(Event{Kind: EventSelection, Request: n, Operation: op.ID, Selection: &sel})
		r.queueSelectedTries(op, st, sel.Target, ns.Values)
	}
}

// dropNegotiation removes, one at a time, the negotiation headers of the
// last step that the finding does not need, so that a reproducer carries
// an Accept only when the answer depends on it.
func (m *minimizer) dropNegotiation(ctx context.Context, steps []Step) []Step {
	last := len(steps) - 1
	if steps[last].Raw != nil {
		return steps
	}
	names := slices.Sorted(maps.Keys(steps[last].Input.Headers))
	for _, h := range names {
		if !m.budgetLeft(ctx) {
			break
		}
		cand := cloneSteps(steps)
		delete(cand[last].Input.Headers, h)
		if m.try(ctx, cand) && m.used == len(cand) {
			steps = cand
		}
	}
	return steps
}
