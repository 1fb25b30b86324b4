package fuzz

import (
	"context"
	"slices"
	"time"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Fuzzer is the coverage-guided, stateful loop. Run it once; Stats,
// Findings and Corpus may be called from other goroutines meanwhile.
type Fuzzer struct {
	r    *runner
	pool pool
}

// Result is what a run found and kept.
type Result struct {
	Stats    Stats     `json:"stats"`
	Findings []Finding `json:"findings"`
	Corpus   []Entry   `json:"corpus"`
	// Selections are input-selected files; SelectedDirs the directories
	// rebuild should keep whole.
	Selections   []Selection `json:"selections,omitempty"`
	SelectedDirs []string    `json:"selected_dirs,omitempty"`
	Effects      []Effect    `json:"effects,omitempty"`
	// NoSuccess lists operations that never got a 2xx.
	NoSuccess  []string `json:"no_success,omitempty"`
	StopReason string   `json:"stop_reason"`
}

// New prepares a fuzzer for s sending through send.
func New(s *spec.Spec, send Sender, opts ...Option) *Fuzzer {
	return &Fuzzer{r: newRunner(s, send, newConfig(opts))}
}

// Stats returns a snapshot of the progress counters.
func (f *Fuzzer) Stats() Stats {
	f.r.stats.set(f.r.findings.len(), f.pool.size(), f.r.gen.Dictionary().Len())
	return f.r.stats.snapshot()
}

// Findings returns the findings so far.
func (f *Fuzzer) Findings() []Finding { return f.r.findings.list() }

// Corpus returns a copy of the in-memory corpus.
func (f *Fuzzer) Corpus() []Entry { return f.pool.snapshot() }

// Links returns the inferred producer → consumer bindings.
func (f *Fuzzer) Links() *Links { return f.r.links }

// Run fuzzes until the context ends, the duration or request budget is
// spent, or nothing new was seen for the plateau time. It starts with the
// producer-before-consumer plan, so every operation is tried early.
func (f *Fuzzer) Run(ctx context.Context) (*Result, error) {
	r := f.r
	r.stats.start = time.Now()
	r.runPlan(ctx, func(seq []Step, res []stepResult) {
		last := res[len(res)-1]
		if len(last.new) > 0 {
			f.pool.add(seq, last.new, r.stats.requests.Load())
		}
	})
	reason := ""
	for reason == "" {
		reason = f.stopReason(ctx)
		if reason != "" {
			break
		}
		seq, parent := f.next()
		res := r.execute(ctx, seq)
		for i := len(res) - 1; i >= 0; i-- {
			if len(res[i].new) > 0 {
				f.pool.add(seq[:i+1], res[i].new, r.stats.requests.Load())
				if parent != nil {
					f.pool.credit(parent)
				}
				break
			}
		}
		r.stats.set(r.findings.len(), f.pool.size(), r.gen.Dictionary().Len())
	}
	r.stopped = true
	res := &Result{
		Stats:        f.Stats(),
		Findings:     r.findings.list(),
		Corpus:       f.pool.snapshot(),
		Selections:   r.files.Selections(),
		SelectedDirs: r.files.Dirs(),
		Effects:      r.files.Effects(),
		StopReason:   reason,
	}
	for _, op := range r.spec.Operations {
		if _, ok := r.stats.opRequests(op.ID); ok == 0 {
			res.NoSuccess = append(res.NoSuccess, op.ID)
		}
	}
	r.emit(Event{Kind: EventDone, Request: r.stats.requests.Load(), Reasons: []string{reason}})
	if reason == "cancelled" {
		return res, ctx.Err()
	}
	return res, nil
}

func (f *Fuzzer) stopReason(ctx context.Context) string {
	r := f.r
	switch {
	case ctx.Err() != nil:
		return "cancelled"
	case r.cfg.maxRequests > 0 && r.stats.requests.Load() >= r.cfg.maxRequests:
		return "max requests"
	case r.cfg.duration > 0 && time.Since(r.stats.start) >= r.cfg.duration:
		return "duration"
	case r.cfg.plateau > 0:
		r.stats.mu.Lock()
		last := r.stats.lastNew
		r.stats.mu.Unlock()
		if time.Since(r.stats.start)-last >= r.cfg.plateau {
			return "plateau"
		}
	}
	return ""
}

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
	})
	seq := cloneSteps(e.Steps)
	switch x := r.rng.Float64(); {
	case x < 0.65:
		f.mutateStep(seq, len(seq)-1)
	case x < 0.75 && len(seq) > 1:
		f.mutateStep(seq, r.rng.IntN(len(seq)-1))
	case x < 0.92 && len(seq) < r.cfg.maxSeqLen:
		if st, ok := f.consumerOf(seq[len(seq)-1].Op); ok {
			seq = append(seq, st)
		} else {
			f.mutateStep(seq, len(seq)-1)
		}
	default:
		seq = seq[len(seq)-1:]
		f.mutateStep(seq, 0)
	}
	return seq, e
}

func (f *Fuzzer) mutateStep(seq []Step, i int) {
	r := f.r
	op := r.spec.Operation(seq[i].Op)
	if op == nil {
		return
	}
	in, intent := r.gen.Mutate(op, seq[i].Input)
	seq[i].Input, seq[i].Intent = in, intent
	if intent.Target != "" {
		seq[i].Bound = slices.DeleteFunc(seq[i].Bound, func(p string) bool { return p == intent.Target })
	}
	if intent.Kind == "fresh" {
		seq[i].Bound = r.store.bind(op, &seq[i].Input, true, nil)
	}
}

// fresh generates a new input for a rarely exercised operation, preceded by
// a producer when its ids come from one.
func (f *Fuzzer) fresh() []Step {
	r := f.r
	op := f.rareOp()
	in, intent := r.gen.Input(op, r.gen.PickPhase())
	bound := r.store.bind(op, &in, r.rng.IntN(2) == 0, r.rng.IntN)
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

// rareOp draws an operation, favouring those with few requests and no 2xx.
func (f *Fuzzer) rareOp() *spec.Operation {
	r := f.r
	ops := r.spec.Operations
	weights := make([]float64, len(ops))
	total := 0.0
	for i, op := range ops {
		n, ok := r.stats.opRequests(op.ID)
		w := 1 / (1 + float64(n))
		if ok == 0 {
			w *= 3
		}
		weights[i] = w
		total += w
	}
	x := r.rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return ops[i]
		}
		x -= w
	}
	return ops[len(ops)-1]
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
	if op == nil {
		return Step{}, false
	}
	in, intent := r.gen.Input(op, gen.Valid)
	return Step{Op: op.ID, Input: in, Intent: intent, Bound: []string{b.Param}}, true
}
