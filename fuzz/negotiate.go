package fuzz

import (
	"context"
	"net/http"

	"github.com/whittle-dev/whittle/fuzz/gen"
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
	l := f.l
	for _, op := range l.spec.Operations {
		st, ok := planned[op.ID]
		if !ok || st.Raw != nil || op.Method == http.MethodDelete || l.ctl.skipped(op.ID) {
			continue
		}
		for _, hv := range gen.NegotiationSweep(op) {
			if !l.budgetLeft(ctx) {
				return
			}
			s := cloneStep(st)
			s.Copies = nil
			s.Input.Headers = map[string]string{hv.Name: hv.Value}
			s.Intent = gen.Intent{Phase: gen.Valid, Kind: "negotiate", Target: headerTarget(hv.Name)}
			res := l.runSequence(ctx, []Step{s})
			if len(res) == 0 || len(res[0].new) == 0 || res[0].crash != "" {
				continue
			}
			var seq []sentStep
			if len(s.Bound) > 0 {
				seq = l.producers.of(l.links, op, s)
			}
			concrete := s
			concrete.Input = res[0].req.Input
			seq = append(seq, sentStep{step: concrete, req: res[0].req.Request, resp: res[0].resp})
			f.join(seq, res[0])
		}
	}
}

func headerTarget(name string) string { return "header." + name }
