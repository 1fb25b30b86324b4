package fuzz

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// PlanResult is what EachOperationOnce did.
type PlanResult struct {
	Exchanges []Exchange `json:"exchanges"`
	Findings  []Finding  `json:"findings"`
	// Succeeded lists operations that got a 2xx; Failed those that did not.
	Succeeded []string `json:"succeeded"`
	Failed    []string `json:"failed"`
	Stats     Stats    `json:"stats"`
	// Entry holds every step sent, in order, as one corpus entry: Replay
	// sends the same requests again with ids bound from its own answers.
	Entry Entry `json:"entry"`
}

// Requests returns the requests sent, in order.
func (p *PlanResult) Requests() []corpus.Request {
	out := make([]corpus.Request, len(p.Exchanges))
	for i, e := range p.Exchanges {
		out[i] = e.Request
	}
	return out
}

// EachOperationOnce sends every operation of s with schema-valid values,
// producers before consumers, ids taken from earlier answers, so that most
// operations get a 2xx. An operation without a 2xx is tried again with new
// values (withRetries). The error is only the context's.
func EachOperationOnce(ctx context.Context, s *spec.Spec, send Sender, opts ...Option) (*PlanResult, error) {
	cfg := newConfig(opts)
	var exchanges []Exchange
	hook := cfg.onExchange
	cfg.onExchange = func(e Exchange) {
		exchanges = append(exchanges, e)
		if hook != nil {
			hook(e)
		}
	}
	l := newLoop(s, send, cfg)
	defer l.crawling.close()
	var steps []Step
	ok, failed := l.runPlan(ctx, func(seq []sentStep, _ record) {
		steps = append(steps, seq[len(seq)-1].step)
	})
	res := &PlanResult{Exchanges: exchanges, Findings: l.findings.list(), Succeeded: ok, Failed: failed,
		Entry: Entry{ID: 1, Steps: steps, Reasons: []string{"each operation once"}}}
	l.mon.stats.set(l.findings.len(), 0, l.gen.Dictionary().Len())
	res.Stats = l.mon.stats.snapshot()
	return res, ctx.Err()
}

// planOrder orders operations so that producers run before consumers:
// creations first, then reads of collections, then operations on items
// (shallow paths first; POST, GET, PUT, PATCH), deletions last and deepest
// first; then moves any operation after the producers its ids come from.
func planOrder(s *spec.Spec, l *links.Links) []*spec.Operation {
	ops := append([]*spec.Operation(nil), s.Operations...)
	stage := func(op *spec.Operation) int {
		hasPathVar := strings.Contains(op.Path, "{")
		switch {
		case op.Method == "DELETE":
			return 3
		case !hasPathVar && op.Method == "POST":
			return 0
		case !hasPathVar:
			return 1
		}
		return 2
	}
	depth := func(op *spec.Operation) int { return strings.Count(strings.Trim(op.Path, "/"), "/") }
	rank := map[string]int{"POST": 0, "GET": 1, "PUT": 2, "PATCH": 3}
	mrank := func(m string) int {
		if r, ok := rank[m]; ok {
			return r
		}
		return 4
	}
	sort.SliceStable(ops, func(i, j int) bool {
		a, b := ops[i], ops[j]
		if sa, sb := stage(a), stage(b); sa != sb {
			return sa < sb
		}
		da, db := depth(a), depth(b)
		if stage(a) == 3 && da != db {
			return da > db
		}
		if da != db {
			return da < db
		}
		if ma, mb := mrank(a.Method), mrank(b.Method); ma != mb {
			return ma < mb
		}
		return a.Path < b.Path
	})
	// Stable topological pass: an operation waits for its (non-DELETE) producers.
	done := map[string]bool{}
	var out []*spec.Operation
	remaining := ops
	for len(remaining) > 0 {
		pick := 0
		for i, op := range remaining {
			ready := true
			for _, p := range l.Producers(op.ID) {
				if !done[p] && !strings.HasPrefix(p, "DELETE ") && s.Operation(p) != nil && inList(remaining, p) {
					ready = false
					break
				}
			}
			if ready {
				pick = i
				break
			}
		}
		op := remaining[pick]
		out = append(out, op)
		done[op.ID] = true
		remaining = append(remaining[:pick:pick], remaining[pick+1:]...)
	}
	return out
}

func inList(ops []*spec.Operation, id string) bool {
	for _, o := range ops {
		if o.ID == id {
			return true
		}
	}
	return false
}

// runPlan sends each operation until it gets a 2xx or runs out of retries;
// keep, when set, is given each step with what it returned, preceded by the
// producer steps its bound parameters came from.
func (l *loop) runPlan(ctx context.Context, keep func(seq []sentStep, last record)) (succeeded, failed []string) {
	for _, op := range planOrder(l.spec, l.links) {
		if l.ctl.skipped(op.ID) {
			continue
		}
		got := false
		for attempt := 0; attempt <= l.cfg.retries && !got; attempt++ {
			if !l.budgetLeft(ctx) {
				return succeeded, failed
			}
			in, intent := l.gen.Input(op, 0)
			bound := l.exec.values.Bind(op, &in, true, nil)
			st := Step{Op: op.ID, Input: in, Intent: intent, Bound: bound}
			res := l.runSequence(ctx, []Step{st})
			if len(res) == 0 {
				break
			}
			status := res[0].resp.Status
			got = status >= 200 && status < 300
			if keep != nil {
				var seq []sentStep
				if len(bound) > 0 {
					seq = l.producers.of(l.links, op, st)
				}
				concrete := st
				concrete.Input = res[0].req.Input
				seq = append(seq, sentStep{step: concrete, req: res[0].req.Request, resp: res[0].resp})
				keep(seq, res[0])
			}
			if status == 401 || status == 403 {
				break // new values will not help without credentials
			}
		}
		if got {
			succeeded = append(succeeded, op.ID)
		} else {
			failed = append(failed, op.ID)
		}
	}
	return succeeded, failed
}

// producers keeps, for each operation that feeds links, its last step that
// got a 2xx (with its request and answer): what a consumer of its ids is
// prefixed with. The bindings observer writes it; the plan, the
// negotiation sweep and the scheduler read it.
type producers map[string]sentStep

// prefix prefixes a consumer step with the last successful steps of the
// producers its bound parameters come from.
func (p producers) prefix(l *links.Links, op *spec.Operation, st Step) []Step {
	var seq []Step
	for _, s := range p.of(l, op, st) {
		seq = append(seq, s.step)
	}
	return append(seq, st)
}

// of returns the last successful step of the producer st's bound
// parameters come from (none when there is none), without copies: they
// referred to the sequence it came from.
func (p producers) of(l *links.Links, op *spec.Operation, st Step) []sentStep {
	for _, b := range l.For(op.ID) {
		if !slices.Contains(st.Bound, b.Param) {
			continue
		}
		if s, ok := p[b.Producer]; ok {
			s.step = cloneStep(s.step)
			s.step.Copies = nil
			return []sentStep{s}
		}
	}
	return nil
}
