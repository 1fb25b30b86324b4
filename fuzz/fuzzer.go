package fuzz

import (
	"context"
	"errors"

	"github.com/whittle-dev/whittle/fuzz/inputsel"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Fuzzer is the coverage-guided, stateful loop. Run it once; Stats,
// Findings, Corpus and the controls (Pause, Stop, Skip) may be called from
// other goroutines meanwhile.
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
	Selections   []inputsel.Selection `json:"selections,omitempty"`
	SelectedDirs []string             `json:"selected_dirs,omitempty"`
	Effects      []inputsel.Effect    `json:"effects,omitempty"`
	// NoSuccess lists operations that never got a 2xx.
	NoSuccess []string `json:"no_success,omitempty"`
	// StopReason is "duration", "max requests", "plateau", "stopped",
	// "cancelled", "all operations skipped" or "target lost".
	StopReason string `json:"stop_reason"`
	// Warnings name problems that did not stop the run (corpus writes), one line each.
	Warnings []string `json:"warnings,omitempty"`
}

// New prepares a fuzzer for s sending through send.
func New(s *spec.Spec, send Sender, opts ...Option) *Fuzzer {
	return &Fuzzer{r: newRunner(s, send, newConfig(opts))}
}

// Stats returns a snapshot of the progress counters.
func (f *Fuzzer) Stats() Stats {
	f.r.stats.set(f.r.findings.len(), f.pool.size(), f.r.gen.Dictionary().Len())
	st := f.r.stats.snapshot()
	st.Paused = f.r.ctl.isPaused()
	st.Skipped = f.r.ctl.skippedList()
	return st
}

// Findings returns the findings so far.
func (f *Fuzzer) Findings() []Finding { return f.r.findings.list() }

// Corpus returns a copy of the in-memory corpus.
func (f *Fuzzer) Corpus() []Entry { return f.pool.snapshot() }

// Run fuzzes until the context ends, the duration or request budget is
// spent, nothing new was seen for the plateau time, Stop is called, or the
// target is lost. It runs the seed entries first (WithStore,
// WithSeedEntries), then the producer-before-consumer plan, so every
// operation is tried early, then the plan's steps again with each declared
// media type and common languages and codings (sweepNegotiation), then
// mutates the corpus. The error is the context's, or wraps ErrTargetLost /
// ErrTooManyCrashes.
func (f *Fuzzer) Run(ctx context.Context) (*Result, error) {
	r := f.r
	r.stats.restartClock()
	r.ctl.resetClock()
	f.runSeeds(ctx)
	planned := map[string]Step{}
	r.runPlan(ctx, func(seq []sentStep, last stepResult) {
		if len(last.new) > 0 && last.crash == "" {
			f.join(seq, last, nil)
		}
		if is2xx(last.resp.Status) {
			planned[seq[len(seq)-1].step.Op] = seq[len(seq)-1].step
		}
	})
	f.sweepNegotiation(ctx, planned)
	reason := ""
	for reason == "" {
		r.betweenSequences(ctx)
		reason = f.stopReason(ctx)
		if reason != "" {
			break
		}
		seq, parent := f.next()
		if len(seq) == 0 {
			continue
		}
		res := r.execute(ctx, seq)
		if n := len(res); n > 0 && res[n-1].crash != "" && parent != nil {
			f.pool.blame(parent)
		}
		for i := len(res) - 1; i >= 0; i-- {
			if len(res[i].new) > 0 && res[i].crash == "" {
				if !r.floods(res[i]) {
					f.join(sentSteps(seq, res[:i+1]), res[i], parent)
					if parent != nil {
						f.pool.credit(parent)
					}
				}
				break
			}
		}
		r.stats.set(r.findings.len(), f.pool.size(), r.gen.Dictionary().Len())
	}
	r.stopped = true
	if r.lost == nil {
		r.releaseHeld()
	}
	res := &Result{
		Stats:        f.Stats(),
		Findings:     r.findings.list(),
		Corpus:       f.pool.snapshot(),
		Selections:   r.files.Selections(),
		SelectedDirs: r.files.Dirs(),
		Effects:      r.files.Effects(),
		StopReason:   reason,
		Warnings:     r.warnings,
	}
	for _, op := range r.spec.Operations {
		if _, ok := r.stats.opRequests(op.ID); ok == 0 {
			res.NoSuccess = append(res.NoSuccess, op.ID)
		}
	}
	r.emit(Event{Kind: EventDone, Request: r.stats.requests.Load(), Reasons: []string{reason}})
	switch {
	case reason == "cancelled":
		return res, ctx.Err()
	case r.lost != nil:
		return res, r.lost
	}
	return res, nil
}

func (f *Fuzzer) stopReason(ctx context.Context) string {
	r := f.r
	switch {
	case ctx.Err() != nil:
		return "cancelled"
	case r.lost != nil:
		if errors.Is(r.lost, ErrTooManyCrashes) {
			return "too many crashes"
		}
		return "target lost"
	case r.ctl.isStopped():
		return "stopped"
	case r.cfg.maxRequests > 0 && r.stats.requests.Load() >= r.cfg.maxRequests:
		return "max requests"
	case r.cfg.duration > 0 && r.stats.elapsed() >= r.cfg.duration:
		return "duration"
	case r.allSkipped():
		return "all operations skipped"
	case r.cfg.plateau > 0 && r.stats.elapsed()-r.stats.lastNewAt() >= r.cfg.plateau:
		return "plateau"
	}
	return ""
}

// sentSteps pairs the steps of seq that were sent with what they sent and
// got, with the values they were sent with; copies are renumbered.
func sentSteps(seq []Step, res []stepResult) []sentStep {
	keep := make([]int, len(res))
	for i, x := range res {
		keep[i] = x.idx
	}
	steps := subsequence(seq, keep)
	out := make([]sentStep, len(res))
	for i, x := range res {
		steps[i].Input = x.req.Input.Clone()
		out[i] = sentStep{step: steps[i], req: x.req.Request, resp: x.resp}
	}
	return out
}

// join adds a sequence whose last step earned something new to the corpus
// (and to the store).
func (f *Fuzzer) join(seq []sentStep, last stepResult, parent *Entry) {
	r := f.r
	e := Entry{Reasons: last.new, AddedAt: r.stats.requests.Load()}
	resps := make([]corpus.Response, len(seq))
	for i, s := range seq {
		e.Steps = append(e.Steps, s.step)
		e.Requests = append(e.Requests, s.req)
		resps[i] = s.resp
	}
	e.StoreID = r.persistEntry(e, resps, last.sig)
	f.pool.add(e)
}
