package fuzz

import (
	"context"
	"math/rand/v2"
	"slices"

	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/upkeep"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/param"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// runner sends steps and observes answers; shared by the plan and the loop.
type runner struct {
	cfg      *config
	spec     *spec.Spec
	gen      *gen.Generator
	send     Sender
	oracle   *oracle.Oracle
	links    *links.Links
	store    *links.Store
	bind     *binder
	findings *findingSet
	stats    *statsCollector
	novelty  *novelty
	files    *inputsel.Correlator
	rng      *rand.Rand
	ctl      *controls
	// producerStep keeps the last step of each operation that got a 2xx
	// (with its request and answer), to prefix consumers with when they
	// join the corpus.
	producerStep map[string]sentStep
	pending      [][]Step
	stopped      bool
	// swept, queued and selectedEntries belong to the name sweeps
	// (namesweep.go): sweeps done, names queued, corpus entries per
	// input-selected directory.
	swept           map[string]bool
	queued          map[string]bool
	selectedEntries map[string]int

	// history is what the target was sent since it last (re)started.
	history history
	// crashLoop counts crashes in a row that came within healthyLife
	// requests of the instance's start; lifeStart is that start.
	crashLoop        int
	lifeStart        int64
	minimizedCrashes map[string]int
	// lost is set when the target died for good; the run ends.
	lost     error
	warnings []string
	// liveness is the operation checkAlive sends (nil: none suits).
	liveness *spec.Operation
	// held are transport-error and timeout findings waiting for the next
	// answer: when the target turns out to have died they are the crash's
	// consequences, not findings.
	held []Finding
	// state deletes what the run created and restarts a slowing target.
	state *upkeep.Keeper
}

func newRunner(s *spec.Spec, send Sender, cfg *config) *runner {
	gopts := []gen.Option{gen.WithSeed(cfg.seed), gen.WithExampleBias(0.4)}
	if cfg.mix != (gen.Mix{}) {
		gopts = append(gopts, gen.WithMix(cfg.mix))
	}
	files := inputsel.NewCorrelator(cfg.lister)
	gopts = append(gopts, gen.WithNames(files.Names()))
	gopts = append(gopts, cfg.genOpts...)
	l := links.Infer(s)
	r := &runner{
		cfg:              cfg,
		spec:             s,
		gen:              gen.New(s, gopts...),
		send:             send,
		oracle:           oracle.New(s, cfg.checks...),
		links:            l,
		store:            links.NewStore(s, l),
		findings:         newFindingSet(),
		novelty:          newNovelty(),
		files:            files,
		rng:              rand.New(rand.NewPCG(cfg.seed+1, cfg.seed^0x5851f42d4c957f2d)),
		ctl:              newControls(),
		producerStep:     map[string]sentStep{},
		minimizedCrashes: map[string]int{},
		swept:            map[string]bool{},
		queued:           map[string]bool{},
		selectedEntries:  map[string]int{},
	}
	r.stats = newStats(r.ctl.pausedFor)
	r.bind = &binder{spec: s, gen: r.gen, store: r.store}
	r.files.Selectable = func(op, target string) bool {
		o := s.Operation(op)
		return o == nil || param.FreeValued(o, target)
	}
	r.liveness = livenessOp(s)
	r.state = upkeep.New(s, l, cfg.maxLive, cfg.latency, cfg.target != nil)
	return r
}

// releaseHeld records the held transport findings: the target answered
// since, so it did not die of them.
func (r *runner) releaseHeld() {
	for _, f := range r.held {
		f.Steps = nil
		r.recordFinding(f)
	}
	r.held = nil
}

// sentStep is a step with what it sent and got.
type sentStep struct {
	step Step
	req  corpus.Request
	resp corpus.Response
}

// stepResult is what running one step gave.
type stepResult struct {
	idx  int // the step's index in its sequence
	req  *gen.Request
	resp corpus.Response
	sig  Signal
	new  []string
	// crash is set when the target died during or right after this step.
	crash string
}

// budgetLeft reports whether another request may be sent; it waits while
// the run is paused.
func (r *runner) budgetLeft(ctx context.Context) bool {
	r.ctl.wait(ctx)
	if r.stopped || r.lost != nil || ctx.Err() != nil || r.ctl.isStopped() {
		return false
	}
	if r.cfg.maxRequests > 0 && r.stats.requests.Load() >= r.cfg.maxRequests {
		return false
	}
	if r.cfg.duration > 0 && r.stats.elapsed() >= r.cfg.duration {
		return false
	}
	return true
}

// execute runs a sequence; it stops early when the budget runs out or the
// target crashes (which is then recorded, and the target restarted).
func (r *runner) execute(ctx context.Context, seq []Step) []stepResult {
	results := make([]stepResult, 0, len(seq))
	sent := make([]corpus.Request, 0, len(seq))
	inputs := make([]*gen.Input, len(seq))
	local := make([]int, len(seq))
	for i := range local {
		local[i] = -1
	}
	r.history.startSequence()
	for i, st := range seq {
		if !r.budgetLeft(ctx) {
			break
		}
		if r.ctl.skipped(st.Op) {
			continue
		}
		p, ok := r.bind.prepare(st, inputs)
		if !ok || p.op == nil {
			continue
		}
		resp := deliver(ctx, r.send, p.req.Request)
		if ctx.Err() != nil && resp.Status == 0 {
			break // cancelled, not the target's fault
		}
		sent = append(sent, p.req.Request)
		inputs[i] = &p.req.Input
		concrete := st
		concrete.Input = p.req.Input
		local[i] = r.history.add(concrete, p.req.Request, resp, local)
		dead, why := crashed(ctx, r.cfg.target, resp, r.cfg.crashGrace)
		res := r.observe(ctx, p.op, concrete, p.req, resp, sent, dead && resp.NoAnswer())
		r.afterAnswer(p.op, p.req, resp)
		res.idx = i
		if dead {
			res.crash, res.new = why, nil
			results = append(results, res)
			r.onCrash(ctx, p.op, res, why)
			break
		}
		if resp.Status != 0 {
			r.releaseHeld()
		}
		results = append(results, res)
	}
	return results
}

// observe learns from one answer: statistics, values for later requests,
// coverage and novelty, oracles. deadTarget is set for a request that got
// no answer because the target died: it is counted, nothing else.
func (r *runner) observe(ctx context.Context, op *spec.Operation, st Step, req *gen.Request, resp corpus.Response, seq []corpus.Request, deadTarget bool) stepResult {
	n := r.stats.request(op.ID, resp.Status, int(req.Intent.Phase))
	res := stepResult{req: req, resp: resp}
	if deadTarget {
		return res
	}
	var doc any
	isJSON := false
	if !resp.Truncated && len(resp.Body) > 0 && len(resp.Body) < 256<<10 {
		doc, isJSON = decodeJSON(resp)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		r.bind.learn(op, req, resp)
		if op.Method != "DELETE" && len(r.links.From(op.ID)) > 0 {
			r.producerStep[op.ID] = sentStep{step: cloneStep(st), req: req.Request, resp: resp}
		}
		if isJSON {
			r.gen.Dictionary().AddValue(doc)
		}
	}
	if r.cfg.feedback != nil {
		if sig, err := r.cfg.feedback.After(ctx); err == nil {
			res.sig = sig
		}
	}
	res.new = r.novelty.observe(op.ID, resp, doc, isJSON, responseSchema(op, resp))
	if res.sig.New() {
		res.new = append(res.new, res.sig.String())
	}
	if len(res.sig.NewFiles) > 0 || len(res.sig.Dirs) > 0 {
		for _, sel := range r.files.Observe(op.ID, req.Intent.Target, req.Values, res.sig.NewFiles, res.sig.Dirs) {
			sel := sel
			r.emit(Event{Kind: EventSelection, Request: n, Operation: op.ID, Selection: &sel})
			r.queueSelection(ctx, op, st, sel)
		}
		r.observeNegotiation(ctx, op, st, req, res.sig, n)
	}
	r.queueNameSweeps(r.files.Names().Load(ctx))
	r.stats.signal(op.ID, res.sig, len(res.new) > 0)
	if len(res.new) > 0 {
		r.emit(Event{Kind: EventCoverage, Request: n, Operation: op.ID, Reasons: res.new})
	}
	for _, v := range r.oracle.Check(ctx, req.Request, req.Intent, resp) {
		f := Finding{
			Operation: op.ID, Check: v.Check, Signature: v.Signature, Message: v.Message,
			Requests: slices.Clone(seq), Response: resp, Intent: req.Intent, FirstRequest: n,
		}
		if r.cfg.target != nil && (v.Check == oracle.CheckTransport || v.Check == oracle.CheckTimeout) {
			r.held = append(r.held, f)
			continue
		}
		if r.findings.has(op.ID, v.Check, v.Signature) {
			r.findings.add(f)
			continue
		}
		f.Steps = r.history.tail(1)
		r.minimizeFinding(ctx, &f, f.Steps)
		r.recordFinding(f)
	}
	if r.cfg.onExchange != nil {
		r.cfg.onExchange(Exchange{Seq: n, Request: req.Request, Intent: req.Intent, Response: resp, Signal: res.sig, New: res.new})
	}
	return res
}

func (r *runner) baseURL() string {
	if r.cfg.baseURL != "" {
		return r.cfg.baseURL
	}
	if h, ok := r.send.(*HTTPSender); ok {
		return h.Base
	}
	return "http://127.0.0.1:8080"
}

// emit sends an event without blocking the loop.
func (r *runner) emit(e Event) {
	if r.cfg.events == nil {
		return
	}
	e.At = r.stats.elapsed()
	select {
	case r.cfg.events <- e:
	default:
		r.stats.dropped.Add(1)
	}
}

// queueSelection queues the names of existing files of sel's directory for
// the value that selected one (and files them in the dictionary).
func (r *runner) queueSelection(ctx context.Context, op *spec.Operation, st Step, sel inputsel.Selection) {
	names := r.files.Candidates(ctx, sel)
	if len(names) > maxSelectionTries {
		names = names[:maxSelectionTries]
	}
	for _, name := range names {
		r.gen.Dictionary().Add(dictName(sel.Target), name)
	}
	r.queueSelectedTries(op, st, sel.Target, names)
}

// queueSelectedTries queues st once for each of values (up to
// maxSelectionTries) at target, a parameter, body property or negotiation
// header, each value once per operation and target: they come before
// anything else (pending).
func (r *runner) queueSelectedTries(op *spec.Operation, st Step, target string, values []string) {
	if len(values) > maxSelectionTries {
		values = values[:maxSelectionTries]
	}
	for _, v := range values {
		in := st.Input.Clone()
		if !param.Set(&in, target, v) || !r.firstTry(op.ID, target, v) {
			continue
		}
		// No copies: the sequence it came from is not replayed.
		s := Step{Op: op.ID, Input: in, Intent: gen.Intent{Phase: gen.Valid, Kind: "input-selected-file", Target: target}, Bound: slices.Clone(st.Bound)}
		r.pending = append(r.pending, []Step{s})
	}
}

const maxSelectionTries = 32

// dictName is the name a target's values are filed under ("query.module" → "module").
func dictName(target string) string {
	for i := len(target) - 1; i >= 0; i-- {
		if target[i] == '.' || target[i] == '/' {
			return target[i+1:]
		}
	}
	return target
}
