package fuzz

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// scheduler chooses the sequence to run next (LibAFL's scheduler and
// mutational stage): sequences the observers proposed first, then mostly
// mutations of corpus entries picked by energy (pool.pick), sometimes fresh
// inputs for the least exercised operations. It owns the random stream of
// these choices; the generator has its own.
type scheduler struct {
	spec      *spec.Spec
	links     *links.Links
	gen       *gen.Generator
	values    *links.Store
	producers producers
	corpus    *pool
	queue     *queue
	stats     *statsCollector
	ctl       *controls
	rng       *rand.Rand
	maxSeqLen int
}

func newScheduler(l *loop, corpus *pool) *scheduler {
	seed := l.cfg.seed
	return &scheduler{
		spec: l.spec, links: l.links, gen: l.gen, values: l.exec.values, producers: l.producers,
		corpus: corpus, queue: l.queue, stats: l.mon.stats, ctl: l.ctl, maxSeqLen: l.cfg.maxSeqLen,
		rng: rand.New(rand.NewPCG(seed+1, seed^0x5851f42d4c957f2d)),
	}
}

// queue holds sequences to run before any other, first in, first out.
type queue struct{ seqs [][]Step }

func (q *queue) push(seqs ...[]Step) { q.seqs = append(q.seqs, seqs...) }

func (q *queue) pop() ([]Step, bool) {
	if len(q.seqs) == 0 {
		return nil, false
	}
	seq := q.seqs[0]
	q.seqs = q.seqs[1:]
	return seq, true
}

// next chooses the sequence to run and the corpus entry it mutates (nil
// for a proposed or fresh one).
func (s *scheduler) next() ([]Step, *Entry) {
	if seq, ok := s.queue.pop(); ok {
		return seq, nil
	}
	if s.corpus.size() == 0 || s.rng.Float64() < 0.2 {
		return s.fresh(), nil
	}
	e := s.corpus.pick(s.rng, s.stats.requests.Load(), func(op string) int64 {
		n, _ := s.stats.opRequests(op)
		return n
	}, s.ctl.skipped)
	if e == nil {
		return s.fresh(), nil
	}
	seq := cloneSteps(e.Steps)
	switch x := s.rng.Float64(); {
	case x < 0.60:
		s.mutateStep(seq, len(seq)-1)
		// What a changed create made is worth reading back: the answer to a
		// read may break the schema where the create's did not.
		if len(seq) < s.maxSeqLen && s.rng.IntN(2) == 0 {
			if st, ok := s.readBack(seq[len(seq)-1].Op); ok {
				seq = append(seq, st)
			}
		}
	case x < 0.70 && len(seq) > 1:
		s.mutateStep(seq, s.rng.IntN(len(seq)-1))
	case x < 0.80 && len(seq) < s.maxSeqLen:
		if st, ok := s.consumerOf(seq[len(seq)-1].Op); ok {
			seq = append(seq, st)
		} else {
			s.mutateStep(seq, len(seq)-1)
		}
	case x < 0.90 && len(seq) < s.maxSeqLen:
		if st, ok := s.sameResource(seq, len(seq)-1); ok {
			seq = append(seq, st)
		} else {
			s.mutateStep(seq, len(seq)-1)
		}
	default:
		seq = subsequence(seq, []int{len(seq) - 1})
		s.mutateStep(seq, 0)
	}
	return seq, e
}

// negotiateOneIn: one mutation in so many changes a negotiation header
// (Accept, Accept-Language, Accept-Encoding) instead of a value.
const negotiateOneIn = 12

func (s *scheduler) mutateStep(seq []Step, i int) {
	if seq[i].Raw != nil {
		return
	}
	op := s.spec.Operation(seq[i].Op)
	if op == nil {
		return
	}
	var in gen.Input
	var intent gen.Intent
	if s.rng.IntN(negotiateOneIn) == 0 {
		in, intent = s.gen.MutateNegotiation(op, seq[i].Input)
	} else {
		in, intent = s.gen.Mutate(op, seq[i].Input)
	}
	seq[i].Input, seq[i].Intent = in, intent
	if intent.Target != "" {
		seq[i].Bound = slices.DeleteFunc(seq[i].Bound, func(p string) bool { return p == intent.Target })
		seq[i].Copies = slices.DeleteFunc(seq[i].Copies, func(c Copy) bool { return c.Param == intent.Target })
	}
	if intent.Kind == "fresh" {
		seq[i].Bound = s.values.Bind(op, &seq[i].Input, true, nil)
		seq[i].Copies = nil
	}
}

// fresh generates a new input for a rarely exercised operation, preceded by
// a producer when its ids come from one.
func (s *scheduler) fresh() []Step {
	op := s.rareOp()
	if op == nil {
		return nil
	}
	in, intent := s.gen.Input(op, s.gen.PickPhase())
	bound := s.values.Bind(op, &in, s.rng.IntN(2) == 0, s.rng.IntN)
	if intent.Target != "" {
		// keep the generated (boundary or invalid) value of the target
		bound = slices.DeleteFunc(bound, func(p string) bool { return p == intent.Target })
	}
	st := Step{Op: op.ID, Input: in, Intent: intent, Bound: bound}
	if len(bound) > 0 && s.rng.IntN(2) == 0 {
		return s.producers.prefix(s.links, op, st)
	}
	return []Step{st}
}

// rareOp draws an operation, favouring those with few requests and no 2xx;
// skipped operations are never drawn (nil when all are).
func (s *scheduler) rareOp() *spec.Operation {
	ops := s.spec.Operations
	weights := make([]float64, len(ops))
	total := 0.0
	for i, op := range ops {
		if s.ctl.skipped(op.ID) {
			continue
		}
		n, ok := s.stats.opRequests(op.ID)
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
	x := s.rng.Float64() * total
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
func (s *scheduler) consumerOf(producer string) (Step, bool) {
	bs := s.links.From(producer)
	if len(bs) == 0 {
		return Step{}, false
	}
	b := bs[s.rng.IntN(len(bs))]
	op := s.spec.Operation(b.Consumer)
	if op == nil || s.ctl.skipped(op.ID) {
		return Step{}, false
	}
	in, intent := s.gen.Input(op, gen.Valid)
	return Step{Op: op.ID, Input: in, Intent: intent, Bound: []string{b.Param}}, true
}

// readBack makes a GET of what producer created, when there is one.
func (s *scheduler) readBack(producer string) (Step, bool) {
	var gets []links.Binding
	for _, b := range s.links.From(producer) {
		if op := s.spec.Operation(b.Consumer); op != nil && op.Method == "GET" && strings.HasPrefix(b.Param, "path.") && !s.ctl.skipped(op.ID) {
			gets = append(gets, b)
		}
	}
	if len(gets) == 0 {
		return Step{}, false
	}
	b := gets[s.rng.IntN(len(gets))]
	op := s.spec.Operation(b.Consumer)
	in, intent := s.gen.Input(op, gen.Valid)
	return Step{Op: op.ID, Input: in, Intent: intent, Bound: []string{b.Param}}, true
}

// sameResource makes a step for another operation on the resource step i
// addressed: its path parameters copy what step i sent for the parameters
// of the same name. After a DELETE this reads, changes or exports what is
// gone (use after delete); after an adoption it deletes the adopted pet.
func (s *scheduler) sameResource(seq []Step, i int) (Step, bool) {
	src := seq[i]
	sop := s.spec.Operation(src.Op)
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
	for _, op := range s.spec.Operations {
		if op.ID == sop.ID || s.ctl.skipped(op.ID) {
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
	c := cands[s.rng.IntN(len(cands))]
	in, intent := s.gen.Input(c.op, gen.Valid)
	return Step{Op: c.op.ID, Input: in, Intent: intent, Copies: c.copies}, true
}
