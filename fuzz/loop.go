package fuzz

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/param"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
)

// loop holds the parts of a run that the plan (EachOperationOnce), the
// fuzzing loop (Fuzzer) and their stages share, and runs sequences with
// them: runSequence is the core of every run. Each part keeps its own state
// behind a narrow interface; what belongs to the target instance (its
// history, crashes, a target lost) is the loop's, and only the loop and its
// stages change it (see doc.go).
type loop struct {
	cfg   *config
	spec  *spec.Spec
	links *links.Links
	// gen makes and mutates inputs; exec binds, encodes and sends steps.
	// Both would be one per worker (issue 19).
	gen  *gen.Generator
	exec *executor
	// observers learn from every answer, in order (newObservers).
	observers []observer
	coverage  *coverage  // the observer that asks the tracer; stages drain it
	selection *selection // the input selection observer; Result reads it
	crawling  *crawling  // the linked pages observer; Result reads it
	producers producers  // written by the bindings observer
	// queue holds the sequences observers proposed (tries of input-selected
	// names), run before any other.
	queue    *queue
	oracle   *oracle.Oracle // the objectives; minimisation judges with it too
	findings *findingSet    // the objectives' solutions
	mon      *monitor
	ctl      *controls
	keeper   *upkeep.Keeper
	instance instanceState
	warnings []string
	stopped  bool

	// genOpts made gen; the workers' generators are made with them too.
	genOpts []gen.Option
	// connections says why every request opens a connection of its own
	// ("": they share kept-alive ones; connections.go).
	connections atomic.Pointer[string]
	// conc is the concurrent workers' state (nil: one worker, as always);
	// mu is the lock they share, batch the batch running (workers.go).
	conc *concurrency
	mu   sync.Mutex
	// graces is how long an unanswered request waits for the crash.
	graces *graceBook
	batch  *batch
}

// instanceState is what the loop knows of the target instance it sends to.
type instanceState struct {
	// history is what the instance was sent since it (re)started.
	history history
	// crashLoop counts crashes in a row that came within healthyLife
	// requests of the instance's start; lifeStart is that start.
	crashLoop        int
	lifeStart        int64
	minimizedCrashes map[string]int
	// held are transport-error and timeout findings waiting for the next
	// answer: when the target turns out to have died they are the crash's
	// consequences, not findings.
	held []Finding
	// liveness is the operation checkAlive sends (nil: none suits).
	liveness *spec.Operation
	// lost is set when the target died for good; the run ends.
	lost error
}

func newLoop(s *spec.Spec, send Sender, cfg *config) *loop {
	gopts := []gen.Option{gen.WithSeed(cfg.seed), gen.WithExampleBias(0.4)}
	files := inputsel.NewCorrelator(cfg.lister)
	gopts = append(gopts, gen.WithNames(files.Names()))
	gopts = append(gopts, cfg.genOpts...)
	ln := links.Infer(s)
	l := &loop{
		graces:    newGraceBook(),
		cfg:       cfg,
		spec:      s,
		links:     ln,
		gen:       gen.New(s, gopts...),
		producers: producers{},
		queue:     &queue{},
		findings:  newFindingSet(),
		ctl:       newControls(),
		keeper:    upkeep.New(s, ln, cfg.maxLive, cfg.latency, cfg.target != nil),
		instance:  instanceState{minimizedCrashes: map[string]int{}, liveness: livenessOp(s)},
		genOpts:   gopts,
	}
	l.instance.history.produce = func(op string, resp corpus.Response) map[string][]any {
		if o := s.Operation(op); o != nil {
			return links.Produced(s, ln, o, resp)
		}
		return nil
	}
	l.exec = newExecutor(s, ln, l.gen, send)
	l.oracle = oracle.New(s, cfg.checks...).WithLimits(cfg.limits)
	l.mon = newMonitor(l.ctl.pausedFor, cfg.events)
	files.Selectable = func(op, target string) bool {
		o := s.Operation(op)
		return o == nil || param.FreeValued(o, target)
	}
	l.coverage = &coverage{feedback: cfg.feedback, unattributed: l.unattributed, threadCredited: l.threadCredited,
		listings: func(dirs []inputsel.DirListing) { files.Observe("", "", nil, nil, dirs) }}
	l.conc = newConcurrency(cfg)
	l.selection = newSelection(s, l.gen, l.exec.values, files, l.ctl, l.mon)
	l.crawling = newCrawling(l.baseURL(), cfg.crawl, cfg.browser, func(note string) { l.warnings = append(l.warnings, note) })
	l.observers = l.newObservers()
	return l
}

// budgetLeft reports whether another request may be sent; it waits while
// the run is paused.
func (l *loop) budgetLeft(ctx context.Context) bool {
	l.ctl.wait(ctx)
	if l.stopped || l.instance.lost != nil || ctx.Err() != nil || l.ctl.isStopped() {
		return false
	}
	if l.cfg.maxRequests > 0 && l.mon.stats.requests.Load()+l.inflight() >= l.cfg.maxRequests {
		return false
	}
	if l.cfg.duration > 0 && l.mon.stats.elapsed() >= l.cfg.duration {
		return false
	}
	return true
}

// inflight counts the requests of the running batch that are on the wire:
// they are counted once answered, and without them several workers passed
// the budget check at its last request. The caller holds the loop's lock.
func (l *loop) inflight() int64 {
	if l.batch == nil {
		return 0
	}
	return int64(len(l.batch.inflight))
}

// runSequence runs a sequence, one step after the other: generate (bind
// and encode), send, observe (every observer, in order), then what only
// the loop does: queue the tries observers proposed and record findings,
// minimising new ones. It stops early when the budget runs out or the
// target crashes (which is then recorded, and the target restarted).
func (l *loop) runSequence(ctx context.Context, seq []Step) []record {
	results := make([]record, 0, len(seq))
	sent := make([]corpus.Request, 0, len(seq))
	inputs := make([]*gen.Input, len(seq))
	local := make([]int, len(seq))
	for i := range local {
		local[i] = -1
	}
	l.instance.history.startSequence()
	for i, st := range seq {
		if !l.budgetLeft(ctx) {
			break
		}
		if l.ctl.skipped(st.Op) {
			continue
		}
		p, ok := l.exec.prepare(st, inputs)
		if !ok || p.op == nil {
			continue
		}
		if l.gen.OverBudget(p.op.ID) {
			l.ctl.skipOverBudget(p.op.ID) // this request goes without the value, later ones not at all
		}
		resp := l.exec.deliver(ctx, p.req.Request)
		if ctx.Err() != nil && resp.Status == 0 {
			break // cancelled, not the target's fault
		}
		sent = append(sent, p.req.Request)
		inputs[i] = &p.req.Input
		concrete := st
		concrete.Input = p.req.Input
		local[i] = l.instance.history.add(concrete, p.req.Request, resp, local)
		dead, why := l.graces.crashed(ctx, l.cfg.target, p.op.ID, resp, l.cfg.crashGrace)
		rec := record{idx: i, op: p.op, step: concrete, req: p.req, resp: resp, seq: sent, exec: l.exec}
		rec.n = l.mon.stats.request(p.op.ID, resp.Status, int(p.req.Intent.Phase))
		// A request that got no answer because the target died is counted,
		// nothing else.
		if !dead || !resp.NoAnswer() {
			l.observe(ctx, &rec)
			l.queue.push(rec.tries...)
			l.judge(ctx, &rec)
		}
		if dead {
			rec.crash, rec.new = why, nil
			results = append(results, rec)
			l.onCrash(ctx, &rec, why)
			break
		}
		if resp.Status != 0 {
			l.releaseHeld()
		}
		results = append(results, rec)
	}
	return results
}

// baseURL is where curl reproducers send their requests.
func (l *loop) baseURL() string {
	if l.cfg.baseURL != "" {
		return l.cfg.baseURL
	}
	if b, ok := l.exec.send.(interface{ BaseURL() string }); ok {
		return b.BaseURL()
	}
	return "http://127.0.0.1:8080"
}
