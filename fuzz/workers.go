package fuzz

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/pace"
	"github.com/whittle-dev/whittle/internal/panics"
)

// Concurrent workers (issue 19). A latency-bound target (a database call
// per request, a slow framework) answers one request in milliseconds but
// can take many at once: the loop then runs batches of sequences, one per
// worker, in parallel, as many as the pace controller (fuzz/pace) finds
// the target takes without slowing down or failing.
//
// A worker is a lane: an executor with a value store of its own, a
// generator with a seed of its own (pace.WorkerSeed) and a scheduler with
// its own random stream, so that a producer and its consumers run in one
// worker, in order, and --seed fixes what each worker generates. What the
// workers share (the corpus, the queue of proposed tries, the observers'
// tables, the findings, the monitor) is behind the loop's lock, which a
// worker holds all the time except while its request is on the wire.
// The interleaving of the workers' requests is not reproducible, and with
// it neither what the observers learn first.
//
// Attribution. The tracer reports what the target newly did since the last
// time it was asked, first hits only (a probe hit once is pruned). With
// several requests in flight, what it reports after one answer may be
// another's doing. Coverage is therefore credited to a request only when no
// other request was in flight since the tracer was last asked (a solo
// window), or when a feedback that implements Flights tells whose it was
// (the tracer, by the thread that ran it: pipeline/flights.go): functions
// of a request still in flight wait in the batch for its answer. The rest
// of a shared window's coverage is credited to nobody: it
// counts for the image (the tracer saw it) and as Unattributed; the
// sequences in flight then are candidates, re-run alone after the batch in
// a short sequential lane (calibration, as AFL calibrates new inputs), and
// join the corpus only for what they earn there. Response novelty (a new
// status, a new shape) belongs to its own answer and needs no calibration.
// Such a window also tells the pace controller to go back to one worker
// while new coverage comes: discovery runs alone and is credited exactly,
// what the run already knows runs at many at once. New files of a shared
// window are shown to every request that was in flight in it: the
// correlation of values with files (inputsel) tells by the name whose
// value selected one.
//
// Stages that need the target to themselves (crash handling, minimising a
// new finding, latency restarts, calibration) run between batches, when
// nothing is in flight: a worker defers them to the batch. The cleanup
// runs between batches too, as many DELETEs at once as there are workers.

// lane is one worker.
type lane struct {
	id    int
	exec  *executor
	gen   *gen.Generator
	sched *scheduler
}

// ConcurrencyStats says how the run used concurrency.
type ConcurrencyStats struct {
	// Workers is the count now; Max the highest it reached; Adaptive is
	// set when the pace controller chose it.
	Workers  int  `json:"workers"`
	Max      int  `json:"max_workers"`
	Adaptive bool `json:"adaptive,omitempty"`
	// Changes are the count's changes and why, oldest first (the last
	// maxWorkerChanges).
	Changes []WorkerChange `json:"changes,omitempty"`
	// Batches counts batches run concurrently.
	Batches int64 `json:"batches,omitempty"`
	// Calibrated counts candidates re-run alone; Confirmed those that
	// joined the corpus for what they earned alone. Unattributed counts
	// newly covered units (functions, files, syscalls) seen while several
	// requests were in flight: kept for the image, credited to no entry.
	Calibrated   int64 `json:"calibrated,omitempty"`
	Confirmed    int64 `json:"confirmed,omitempty"`
	Unattributed int64 `json:"unattributed,omitempty"`
	// ThreadCredited counts functions seen while several requests were in
	// flight and credited to one of them by the thread that ran them
	// (Flights): no calibration needed.
	ThreadCredited int64 `json:"thread_credited,omitempty"`
}

// WorkerChange is one change of the worker count.
type WorkerChange struct {
	Request int64  `json:"request"`
	From    int    `json:"from"`
	To      int    `json:"to"`
	Reason  string `json:"reason"`
}

const maxWorkerChanges = 64

// concurrency is the loop's concurrent state.
type concurrency struct {
	pace  *pace.Controller
	lanes []*lane

	mu sync.Mutex // guards stats (read by Stats from other goroutines)
	st ConcurrencyStats
}

func (c *concurrency) snapshot() *ConcurrencyStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.st
	st.Changes = append([]WorkerChange(nil), c.st.Changes...)
	return &st
}

func (c *concurrency) update(f func(*ConcurrencyStats)) {
	c.mu.Lock()
	f(&c.st)
	c.mu.Unlock()
}

// batch is what the workers of one batch share: the requests in flight
// (for attribution), the crash that ends it, the work deferred to its end.
type batch struct {
	nextID   int
	inflight map[int]bool
	// window holds the requests in flight since the tracer was last asked.
	window map[int]bool
	// offered are the new files seen in a shared window, kept for the
	// requests that were in flight then and are answered later: the
	// correlation of values with files (inputsel) attributes a file by
	// its name, so each of them is shown it.
	offered map[int][]string
	// owed are functions Flights credited to a request still in flight,
	// added to its signal when its answer comes.
	owed  map[int]int
	crash *record
	why   string
	// dying are the sequences of the workers whose request the dying
	// target left unanswered, each up to that request: any of them may
	// have killed it (the first to notice need not be the one).
	dying [][]Step
	// pending are new findings, minimised and recorded after the batch.
	pending    []Finding
	candidates []candidate
	answers    []pace.Answer
	until      time.Time
}

func newBatch() *batch {
	return &batch{inflight: map[int]bool{}, window: map[int]bool{}, offered: map[int][]string{}, owed: map[int]int{}}
}

func (b *batch) begin() int {
	b.nextID++
	b.inflight[b.nextID] = true
	b.window[b.nextID] = true
	return b.nextID
}

// end notes request id's answer and returns its index in b.answers.
func (b *batch) end(id int, resp corpusResponse) int {
	delete(b.inflight, id)
	b.answers = append(b.answers, pace.Answer{Latency: resp.dur, Timeout: resp.timeout, ServerError: resp.status >= 500})
	return len(b.answers) - 1
}

// solo reports whether request id was alone in flight since the tracer was
// last asked, with the others that were (all still in flight: each answer
// asks the tracer), and starts the next window with those still in flight.
func (b *batch) solo(id int) (alone bool, others []int) {
	for o := range b.window {
		if o != id {
			others = append(others, o)
		}
	}
	b.window = maps.Clone(b.inflight)
	return len(others) == 0, others
}

// maxOffered bounds the files kept for one request in flight.
const maxOffered = 256

// offer shows the new files of request id's window to the others in it,
// and returns id's own with those offered to it before.
func (b *batch) offer(id int, others []int, files []string) []string {
	if len(files) > 0 {
		for _, o := range others {
			if room := maxOffered - len(b.offered[o]); room > 0 {
				b.offered[o] = append(b.offered[o], files[:min(room, len(files))]...)
			}
		}
	}
	mine := b.offered[id]
	delete(b.offered, id)
	if len(mine) == 0 {
		return files
	}
	return append(files, mine...)
}

type corpusResponse struct {
	status  int
	dur     time.Duration
	timeout bool
}

// candidate is a sequence that saw coverage in a shared window and joined
// nothing for what it earned on its own: calibration re-runs it alone.
type candidate struct {
	lane   *lane
	seq    []Step
	parent *Entry
}

// A batch ends, so that what it deferred is settled and the pace
// controller sees its answers, after batchSequences sequences per worker
// or batchTime, whichever comes first, or as soon as something waits to be
// settled (a crash, a new finding).
const (
	batchSequences = 8
	batchTime      = 250 * time.Millisecond
)

// newConcurrency prepares the workers' state; nil when the run is sequential.
func newConcurrency(cfg *config) *concurrency {
	if cfg.workers == 1 {
		return nil
	}
	p := pace.Policy{Fixed: cfg.workers, Max: cfg.maxWorkers}
	c := &concurrency{pace: pace.New(p)}
	c.st.Workers, c.st.Max, c.st.Adaptive = c.pace.Workers(), c.pace.Workers(), c.pace.Adaptive()
	return c
}

// laneFor returns worker i, made on first use: worker 0 is the loop's own
// executor, generator and scheduler.
func (f *Fuzzer) laneFor(i int) *lane {
	c := f.l.conc
	for len(c.lanes) <= i {
		n := len(c.lanes)
		if n == 0 {
			c.lanes = append(c.lanes, &lane{exec: f.l.exec, gen: f.l.gen, sched: f.sched})
			continue
		}
		l := f.l
		seed := pace.WorkerSeed(l.cfg.seed, n)
		opts := append(append([]gen.Option(nil), l.genOpts...), gen.WithSeed(seed), gen.WithDictionary(l.gen.Dictionary()))
		g := gen.New(l.spec, opts...)
		x := newExecutor(l.spec, l.links, g, l.exec.send)
		s := *f.sched
		s.gen, s.values = g, x.values
		s.rng = newSchedulerRand(seed)
		c.lanes = append(c.lanes, &lane{id: n, exec: x, gen: g, sched: &s})
	}
	return c.lanes[i]
}

// runWorkers is the loop of a concurrent run; it returns why it stopped.
func (f *Fuzzer) runWorkers(ctx context.Context) string {
	l := f.l
	c := l.conc
	for {
		l.betweenSequences(ctx)
		if reason := f.stopReason(ctx); reason != "" {
			return reason
		}
		b := f.runBatch(ctx, c.pace.Workers())
		f.settle(ctx, b)
		l.mon.stats.set(l.findings.len(), f.corpus.size(), l.gen.Dictionary().Len())
		if ch, ok := c.pace.Observe(time.Now(), b.answers); ok {
			f.workersChanged(ch)
		}
	}
}

func (f *Fuzzer) workersChanged(ch pace.Change) {
	l := f.l
	n := l.mon.stats.requests.Load()
	wc := WorkerChange{Request: n, From: ch.From, To: ch.To, Reason: ch.Reason}
	l.conc.update(func(st *ConcurrencyStats) {
		st.Workers, st.Max = ch.To, max(st.Max, ch.To)
		st.Changes = append(st.Changes, wc)
		if len(st.Changes) > maxWorkerChanges {
			st.Changes = st.Changes[len(st.Changes)-maxWorkerChanges:]
		}
	})
	l.mon.emit(Event{Kind: EventWorkers, Request: n, Reasons: []string{ch.String()}, Workers: &wc})
}

// runBatch runs k workers at once, each taking sequence after sequence
// from its scheduler and admitting what earned something, until the batch
// is over (batchOver).
func (f *Fuzzer) runBatch(ctx context.Context, k int) *batch {
	l := f.l
	b := newBatch()
	b.until = time.Now().Add(batchTime)
	lanes := make([]*lane, k)
	for i := range lanes {
		lanes[i] = f.laneFor(i)
	}
	l.batch = b // the budget counts its requests in flight (budgetLeft)
	defer func() { l.batch = nil }()
	panicked := make([]any, k)
	var wg sync.WaitGroup
	for i, ln := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panicked[i] = recover() }()
			f.work(ctx, ln, b)
		}()
	}
	wg.Wait()
	for i, p := range panicked {
		if p != nil {
			// The loop's own goroutine reports it, as a sequential run would.
			panic(panics.New(fmt.Sprintf("fuzz: worker %d", lanes[i].id), p))
		}
	}
	l.conc.update(func(st *ConcurrencyStats) { st.Batches++ })
	return b
}

// work is one worker's part of batch b.
func (f *Fuzzer) work(ctx context.Context, ln *lane, b *batch) {
	l := f.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for n := 0; n < batchSequences && !f.batchOver(ctx, b); n++ {
		seq, parent := ln.sched.next()
		if len(seq) == 0 {
			continue
		}
		res, cand := l.runLane(ctx, ln, seq, b)
		before := f.corpus.size()
		f.admit(seq, res, parent)
		crashed := len(res) > 0 && res[len(res)-1].crash != ""
		if cand && f.corpus.size() == before && !crashed {
			b.candidates = append(b.candidates, candidate{lane: ln, seq: seq, parent: parent})
		}
	}
}

// batchOver reports whether the workers should stop taking sequences: a
// crash or a new finding waits to be settled, the batch's time is up, or
// the run is over. Called with the loop's lock held.
func (f *Fuzzer) batchOver(ctx context.Context, b *batch) bool {
	return b.crash != nil || len(b.pending) > 0 || time.Now().After(b.until) || f.stopReason(ctx) != ""
}

// runLane is runSequence for one worker of a batch: the same steps, with
// the loop's lock held except while the request is on the wire, coverage
// credited only in solo windows, and the stages that need the target alone
// (a crash, minimising a new finding) left to the end of the batch. It
// stops early when another worker crashed the target.
// The caller holds the loop's lock.
func (l *loop) runLane(ctx context.Context, ln *lane, seq []Step, b *batch) (results []record, candidate bool) {
	results = make([]record, 0, len(seq))
	sent := make([]record, 0, len(seq))
	reqs := make([]corpus.Request, 0, len(seq))
	inputs := make([]*gen.Input, len(seq))
	local := make([]int, len(seq))
	for i := range local {
		local[i] = -1
	}
	l.instance.history.startSequence()
	for i, st := range seq {
		if b.crash != nil || !l.budgetLeft(ctx) {
			break
		}
		if l.ctl.skipped(st.Op) {
			continue
		}
		p, ok := ln.exec.prepare(st, inputs)
		if !ok || p.op == nil {
			continue
		}
		id := b.begin()
		l.mu.Unlock()
		fl, _ := l.coverage.feedback.(Flights)
		if fl != nil {
			fl.Sending(id, p.req.Request)
		}
		resp := ln.exec.deliver(ctx, p.req.Request)
		if fl != nil {
			fl.Answered(id)
		}
		// A request without an answer waits up to the crash grace for the
		// target to be seen dead: the other workers go on meanwhile.
		dead, why := l.graces.crashed(ctx, l.cfg.target, p.op.ID, resp, l.cfg.crashGrace)
		l.mu.Lock()
		answer := b.end(id, corpusResponse{status: resp.Status, dur: resp.Duration, timeout: oracle.IsTimeout(resp.Err)})
		if ctx.Err() != nil && resp.Status == 0 {
			break
		}
		reqs = append(reqs, p.req.Request)
		inputs[i] = &p.req.Input
		concrete := st
		concrete.Input = p.req.Input
		local[i] = l.instance.history.add(concrete, p.req.Request, resp, local)
		b.answers[answer].Crashed = dead
		if dead && b.crash != nil {
			// Another worker noticed the crash first; this request may
			// still be the one that caused it.
			if resp.NoAnswer() {
				b.noteDying(seq, sent, record{idx: i, req: p.req, resp: resp})
			}
			break
		}
		rec := record{idx: i, op: p.op, step: concrete, req: p.req, resp: resp, seq: append([]corpus.Request(nil), reqs...), exec: ln.exec, flight: id, batch: b}
		rec.n = l.mon.stats.request(p.op.ID, resp.Status, int(p.req.Intent.Phase))
		if !dead || !resp.NoAnswer() {
			l.observe(ctx, &rec)
			b.answers[answer].Novel, b.answers[answer].Shared = rec.novel, rec.shared
			b.answers[answer].Observed = rec.sig.Observed
			candidate = candidate || rec.shared
			l.queue.push(rec.tries...)
			rec.sofar = sentSteps(seq, append(sent, rec))
			l.judge(ctx, &rec)
		}
		if dead {
			rec.crash, rec.new = why, nil
			results = append(results, rec)
			c := rec
			b.crash, b.why = &c, why
			b.noteDying(seq, sent, rec)
			break
		}
		if resp.Status != 0 {
			l.releaseHeld()
		}
		results = append(results, rec)
		sent = append(sent, rec)
	}
	return results, candidate
}

// noteDying keeps a worker's sequence up to its request last, which the
// dying target left unanswered: a suspect of the crash (settle).
func (b *batch) noteDying(seq []Step, sent []record, last record) {
	b.dying = append(b.dying, stepsOf(sentSteps(seq, append(slices.Clone(sent), last))))
}

// deferFinding keeps a new finding of a batch for its end, with the steps
// its worker's sequence sent so far (the history interleaves the workers).
func (b *batch) deferFinding(f Finding, rec *record) {
	f.Steps = stepsOf(rec.sofar)
	b.pending = append(b.pending, f)
}

// settle does, with nothing in flight, what the batch deferred: the crash,
// the new findings (minimised), and the calibration of the candidates.
func (f *Fuzzer) settle(ctx context.Context, b *batch) {
	l := f.l
	if b.crash != nil && l.onCrash(ctx, b.crash, b.why, b.dying...) {
		// A crash whose cause is known is not looked for again: the worker
		// count need not go back to one to replay the suspects alone.
		for i := range b.answers {
			b.answers[i].Crashed = false
		}
	}
	for _, fd := range b.pending {
		if l.findings.has(fd.Operation, fd.Check, fd.Signature) {
			l.findings.add(fd)
			continue
		}
		if l.overFindingBudget(fd) {
			continue // a batch can defer more new findings than the budget holds
		}
		if l.instance.lost == nil && ctx.Err() == nil {
			l.minimizeFinding(ctx, &fd, fd.Steps)
		}
		l.recordFinding(fd)
	}
	for _, c := range b.candidates {
		if !l.budgetLeft(ctx) {
			return
		}
		before := f.corpus.size()
		res := l.runSequenceWith(ctx, c.lane.exec, c.seq)
		f.admit(c.seq, res, c.parent)
		confirmed := f.corpus.size() > before
		l.conc.update(func(st *ConcurrencyStats) {
			st.Calibrated++
			if confirmed {
				st.Confirmed++
			}
		})
	}
}

// runSequenceWith runs seq alone (runSequence) with worker x's executor,
// whose value store holds the ids its sequences bind.
func (l *loop) runSequenceWith(ctx context.Context, x *executor, seq []Step) []record {
	saved := l.exec
	l.exec = x
	defer func() { l.exec = saved }()
	return l.runSequence(ctx, seq)
}

// threadCredited counts functions of shared windows credited by thread.
func (l *loop) threadCredited(n int) {
	if l.conc != nil {
		l.conc.update(func(st *ConcurrencyStats) { st.ThreadCredited += int64(n) })
	}
}

// unattributed moves the coverage of a step seen in a shared window out of
// its record: nobody is credited with it.
func (l *loop) unattributed(sig *Signal) {
	n := int64(sig.Functions + sig.Files + sig.Syscalls)
	sig.Functions, sig.Files, sig.Syscalls = 0, 0, 0
	if l.conc != nil {
		l.conc.update(func(st *ConcurrencyStats) { st.Unattributed += n })
	}
}
