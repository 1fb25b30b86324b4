package fuzz

import (
	"context"
	"errors"

	"github.com/whittle-dev/whittle/fuzz/crawl"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Fuzzer is the coverage-guided, stateful loop. Run it once; Stats,
// Findings, Corpus and the controls (Pause, Stop, Skip) may be called from
// other goroutines meanwhile.
type Fuzzer struct {
	l      *loop
	corpus *pool
	sched  *scheduler
	// perSelectedDir counts the corpus entries whose only news were files
	// of an input-selected directory, by directory (see floods).
	perSelectedDir map[string]int
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
	// ValueNames counts the names tried because a value the target
	// accepted spelled a name of a directory it listed (its sample, not the
	// directory's every name).
	ValueNames int `json:"value_names,omitempty"`
	// Linked are the files that requests of linked paths (assets the
	// target's pages link) made the target use, with the page that linked
	// each; Crawl says what the crawl did.
	Linked []crawl.File  `json:"linked,omitempty"`
	Crawl  crawl.Summary `json:"crawl"`
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
	l := newLoop(s, send, newConfig(opts))
	corpus := &pool{}
	return &Fuzzer{l: l, corpus: corpus, sched: newScheduler(l, corpus), perSelectedDir: map[string]int{}}
}

// Stats returns a snapshot of the progress counters.
func (f *Fuzzer) Stats() Stats {
	l := f.l
	l.mon.stats.set(l.findings.len(), f.corpus.size(), l.gen.Dictionary().Len())
	st := l.mon.stats.snapshot()
	st.Paused = l.ctl.isPaused()
	st.Skipped = l.ctl.skippedList()
	if l.conc != nil {
		st.Concurrency = l.conc.snapshot()
	}
	if c := l.connections.Load(); c != nil {
		st.Connections = *c
	}
	return st
}

// Findings returns the findings so far.
func (f *Fuzzer) Findings() []Finding { return f.l.findings.list() }

// Corpus returns a copy of the in-memory corpus.
func (f *Fuzzer) Corpus() []Entry { return f.corpus.snapshot() }

// Run fuzzes until the context ends, the duration or request budget is
// spent, nothing new was seen for the plateau time, Stop is called, or the
// target is lost. It runs the seed entries first (WithStore), then the
// producer-before-consumer plan, so every operation is tried early, then
// the plan's steps again with each declared media type and common
// languages and codings (sweepNegotiation), then the loop (see the package
// documentation). The error is the context's, or wraps ErrTargetLost /
// ErrTooManyCrashes.
func (f *Fuzzer) Run(ctx context.Context) (*Result, error) {
	l := f.l
	defer l.crawling.close()
	l.mon.stats.restartClock()
	l.ctl.resetClock()
	l.chooseConnections(ctx)
	f.runSeeds(ctx)
	planned := map[string]Step{}
	l.runPlan(ctx, func(seq []sentStep, last record) {
		if len(last.new) > 0 && last.crash == "" {
			f.join(seq, last)
		}
		if is2xx(last.resp.Status) {
			planned[seq[len(seq)-1].step.Op] = seq[len(seq)-1].step
		}
	})
	f.sweepNegotiation(ctx, planned)
	reason := ""
	if l.conc != nil {
		reason = f.runWorkers(ctx)
	}
	for reason == "" {
		l.betweenSequences(ctx)
		if reason = f.stopReason(ctx); reason != "" {
			break
		}
		seq, parent := f.sched.next()
		if len(seq) == 0 {
			continue
		}
		f.admit(seq, l.runSequence(ctx, seq), parent)
		l.mon.stats.set(l.findings.len(), f.corpus.size(), l.gen.Dictionary().Len())
	}
	l.stopped = true
	if l.instance.lost == nil {
		l.releaseHeld()
	}
	res := &Result{
		Stats:        f.Stats(),
		Findings:     l.findings.list(),
		Corpus:       f.corpus.snapshot(),
		Selections:   l.selection.files.Selections(),
		SelectedDirs: l.selection.files.Dirs(),
		Effects:      l.selection.files.Effects(),
		ValueNames:   l.selection.valueNames,
		Linked:       l.crawling.crawler.Files(),
		Crawl:        l.crawling.crawler.Summary(),
		StopReason:   reason,
		Warnings:     l.warnings,
	}
	for _, op := range l.spec.Operations {
		if _, ok := l.mon.stats.opRequests(op.ID); ok == 0 {
			res.NoSuccess = append(res.NoSuccess, op.ID)
		}
	}
	l.mon.emit(Event{Kind: EventDone, Request: l.mon.stats.requests.Load(), Reasons: []string{reason}})
	switch {
	case reason == "cancelled":
		return res, ctx.Err()
	case l.instance.lost != nil:
		return res, l.instance.lost
	}
	return res, nil
}

func (f *Fuzzer) stopReason(ctx context.Context) string {
	l := f.l
	switch {
	case ctx.Err() != nil:
		return "cancelled"
	case l.instance.lost != nil:
		if errors.Is(l.instance.lost, ErrTooManyCrashes) {
			return "too many crashes"
		}
		return "target lost"
	case l.ctl.isStopped():
		return "stopped"
	case l.cfg.maxRequests > 0 && l.mon.stats.requests.Load() >= l.cfg.maxRequests:
		return "max requests"
	case l.cfg.duration > 0 && l.mon.stats.elapsed() >= l.cfg.duration:
		return "duration"
	case l.allSkipped():
		return "all operations skipped"
	case l.cfg.plateau > 0 && l.mon.stats.elapsed()-l.mon.stats.lastNewAt() >= l.cfg.plateau:
		return "plateau"
	}
	return ""
}

// runSeeds puts the seed entries (the store's, then withSeedEntries') in
// the corpus and runs them once, so that novelty, bindings and coverage
// start from what they reach.
func (f *Fuzzer) runSeeds(ctx context.Context) {
	l := f.l
	var seeds []Entry
	if l.cfg.store != nil {
		got, warns := EntriesFromCorpus(l.cfg.store.Index())
		seeds = append(seeds, got...)
		l.warnings = append(l.warnings, warns...)
	}
	seeds = append(seeds, l.cfg.seeds...)
	for _, e := range seeds {
		if len(e.Steps) == 0 {
			continue
		}
		if e.StoreID == "" && l.cfg.store != nil {
			e.StoreID = l.persistEntry(e, nil, Signal{})
		}
		f.corpus.add(e)
	}
	for _, e := range seeds {
		if len(e.Steps) == 0 || !l.budgetLeft(ctx) {
			continue
		}
		l.runSequence(ctx, e.Steps)
	}
}
