package fuzz

import (
	"context"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// next chooses the sequence to run: queued input-selected names first, then
// mostly mutations of corpus entries, sometimes fresh inputs for the least
// exercised operations.
func (f *Fuzzer) next() ([]Step, *Entry) {
	r := f.r
	if len(r.pending) > 0 {
		seq := r.pending[0]
		r.pending = r.pending[1:]
		return seq, nil
	}
	if f.pool.size() == 0 || r.rng.Float64() < 0.2 {
		return f.fresh(), nil
	}
	e := f.pool.pick(r.rng, r.stats.requests.Load(), func(op string) int64 {
		n, _ := r.stats.opRequests(op)
		return n
	}, r.ctl.skipped)
	if e == nil {
		return f.fresh(), nil
	}
	seq := cloneSteps(e.Steps)
	switch x := r.rng.Float64(); {
	case x < 0.60:
		f.mutateStep(seq, len(seq)-1)
		// What a changed create made is worth reading back: the answer to a
		// read may break the schema where the create's did not.
		if len(seq) < r.cfg.maxSeqLen && r.rng.IntN(2) == 0 {
			if st, ok := f.readBack(seq[len(seq)-1].Op); ok {
				seq = append(seq, st)
			}
		}
	case x < 0.70 && len(seq) > 1:
		f.mutateStep(seq, r.rng.IntN(len(seq)-1))
	case x < 0.80 && len(seq) < r.cfg.maxSeqLen:
		if st, ok := f.consumerOf(seq[len(seq)-1].Op); ok {
			seq = append(seq, st)
		} else {
			f.mutateStep(seq, len(seq)-1)
		}
	case x < 0.90 && len(seq) < r.cfg.maxSeqLen:
		if st, ok := f.sameResource(seq, len(seq)-1); ok {
			seq = append(seq, st)
		} else {
			f.mutateStep(seq, len(seq)-1)
		}
	default:
		seq = subsequence(seq, []int{len(seq) - 1})
		f.mutateStep(seq, 0)
	}
	return seq, e
}

// negotiateOneIn: one mutation in so many changes a negotiation header
// (Accept, Accept-Language, Accept-Encoding) instead of a value.
const negotiateOneIn = 12

func (f *Fuzzer) mutateStep(seq []Step, i int) {
	r := f.r
	if seq[i].Raw != nil {
		return
	}
	op := r.spec.Operation(seq[i].Op)
	if op == nil {
		return
	}
	var in gen.Input
	var intent gen.Intent
	if r.rng.IntN(negotiateOneIn) == 0 {
		in, intent = r.gen.MutateNegotiation(op, seq[i].Input)
	} else {
		in, intent = r.gen.Mutate(op, seq[i].Input)
	}
	seq[i].Input, seq[i].Intent = in, intent
	if intent.Target != "" {
		seq[i].Bound = slices.DeleteFunc(seq[i].Bound, func(p string) bool { return p == intent.Target })
		seq[i].Copies = slices.DeleteFunc(seq[i].Copies, func(c Copy) bool { return c.Param == intent.Target })
	}
	if intent.Kind == "fresh" {
		seq[i].Bound = r.store.Bind(op, &seq[i].Input, true, nil)
		seq[i].Copies = nil
	}
}

// fresh generates a new input for a rarely exercised operation, preceded by
// a producer when its ids come from one.
func (f *Fuzzer) fresh() []Step {
	r := f.r
	op := f.rareOp()
	if op == nil {
		return nil
	}
	in, intent := r.gen.Input(op, r.gen.PickPhase())
	bound := r.store.Bind(op, &in, r.rng.IntN(2) == 0, r.rng.IntN)
	if intent.Target != "" {
		// keep the generated (boundary or invalid) value of the target
		bound = slices.DeleteFunc(bound, func(p string) bool { return p == intent.Target })
	}
	st := Step{Op: op.ID, Input: in, Intent: intent, Bound: bound}
	if len(bound) > 0 && r.rng.IntN(2) == 0 {
		return r.withProducers(op, st)
	}
	return []Step{st}
}

// rareOp draws an operation, favouring those with few requests and no 2xx;
// skipped operations are never drawn (nil when all are).
func (f *Fuzzer) rareOp() *spec.Operation {
	r := f.r
	ops := r.spec.Operations
	weights := make([]float64, len(ops))
	total := 0.0
	for i, op := range ops {
		if r.ctl.skipped(op.ID) {
			continue
		}
		n, ok := r.stats.opRequests(op.ID)
		w := 1 / (1 + float64(n))
		if ok == 0 {
			w *= 3
		}
		weights[i] = w
		total += w
	}
	if total == 0 {
		return nil
	}
	x := r.rng.Float64() * total
	for i, w := range weights {
		if w > 0 && x < w {
			return ops[i]
		}
		x -= w
	}
	for i := len(ops) - 1; i >= 0; i-- {
		if weights[i] > 0 {
			return ops[i]
		}
	}
	return nil
}

// consumerOf makes a step for an operation that consumes what op produces.
func (f *Fuzzer) consumerOf(producer string) (Step, bool) {
	r := f.r
	bs := r.links.From(producer)
	if len(bs) == 0 {
		return Step{}, false
	}
	b := bs[r.rng.IntN(len(bs))]
	op := r.spec.Operation(b.Consumer)
	if op == nil || r.ctl.skipped(op.ID) {
		return Step{}, false
	}
	in, intent := r.gen.Input(op, gen.Valid)
	return Step{Op: op.ID, Input: in, Intent: intent, Bound: []string{b.Param}}, true
}

// readBack makes a GET of what producer created, when there is one.
func (f *Fuzzer) readBack(producer string) (Step, bool) {
	r := f.r
	var gets []links.Binding
	for _, b := range r.links.From(producer) {
		if op := r.spec.Operation(b.Consumer); op != nil && op.Method == "GET" && strings.HasPrefix(b.Param, "path.") && !r.ctl.skipped(op.ID) {
			gets = append(gets, b)
		}
	}
	if len(gets) == 0 {
		return Step{}, false
	}
	b := gets[r.rng.IntN(len(gets))]
	op := r.spec.Operation(b.Consumer)
	in, intent := r.gen.Input(op, gen.Valid)
	return Step{Op: op.ID, Input: in, Intent: intent, Bound: []string{b.Param}}, true
}

// sameResource makes a step for another operation on the resource step i
// addressed: its path parameters copy what step i sent for the parameters
// of the same name. After a DELETE this reads, changes or exports what is
// gone (use after delete); after an adoption it deletes the adopted pet.
func (f *Fuzzer) sameResource(seq []Step, i int) (Step, bool) {
	r := f.r
	src := seq[i]
	sop := r.spec.Operation(src.Op)
	if sop == nil || src.Raw != nil {
		return Step{}, false
	}
	names := map[string]string{} // normalised name -> source key
	for _, p := range sop.Params {
		if p.In == openapi3.ParameterInPath {
			if pv, ok := src.Input.Param(p.Key()); ok && pv.Set {
				names[gen.NormalizeName(p.Name)] = p.Key()
			}
		}
	}
	if len(names) == 0 {
		return Step{}, false
	}
	type cand struct {
		op     *spec.Operation
		copies []Copy
	}
	var cands []cand
	for _, op := range r.spec.Operations {
		if op.ID == sop.ID || r.ctl.skipped(op.ID) {
			continue
		}
		var cs []Copy
		pathParams := 0
		for _, p := range op.Params {
			if p.In != openapi3.ParameterInPath {
				continue
			}
			pathParams++
			if from, ok := names[gen.NormalizeName(p.Name)]; ok {
				cs = append(cs, Copy{Param: p.Key(), Step: i, From: from})
			}
		}
		if len(cs) > 0 && len(cs) == pathParams {
			cands = append(cands, cand{op, cs})
		}
	}
	if len(cands) == 0 {
		return Step{}, false
	}
	c := cands[r.rng.IntN(len(cands))]
	in, intent := r.gen.Input(c.op, gen.Valid)
	return Step{Op: c.op.ID, Input: in, Intent: intent, Copies: c.copies}, true
}

// runSeeds puts the seed entries (the store's, then WithSeedEntries') in
// the corpus and runs them once, so that novelty, bindings and coverage
// start from what they reach.
func (f *Fuzzer) runSeeds(ctx context.Context) {
	r := f.r
	var seeds []Entry
	if r.cfg.store != nil {
		got, warns := EntriesFromCorpus(r.cfg.store.Entries())
		seeds = append(seeds, got...)
		r.warnings = append(r.warnings, warns...)
	}
	seeds = append(seeds, r.cfg.seeds...)
	for _, e := range seeds {
		if len(e.Steps) == 0 {
			continue
		}
		if e.StoreID == "" && r.cfg.store != nil {
			e.StoreID = r.persistEntry(e, nil, Signal{})
		}
		f.pool.add(e)
	}
	for _, e := range seeds {
		if len(e.Steps) == 0 || !r.budgetLeft(ctx) {
			continue
		}
		r.execute(ctx, e.Steps)
	}
}
