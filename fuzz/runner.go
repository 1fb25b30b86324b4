package fuzz

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Step is one request of a sequence, before encoding.
type Step struct {
	Op     string     `json:"op"`
	Input  gen.Input  `json:"input"`
	Intent gen.Intent `json:"intent"`
	// Bound lists parameters that take, at each run, the latest value an
	// earlier answer produced for them (ids of resources created before).
	Bound []string `json:"bound,omitempty"`
}

func cloneSteps(steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		s.Input = s.Input.Clone()
		s.Bound = slices.Clone(s.Bound)
		out[i] = s
	}
	return out
}

// runner sends steps and observes answers; shared by the plan and the loop.
type runner struct {
	cfg      *config
	spec     *spec.Spec
	gen      *gen.Generator
	send     Sender
	oracle   *Oracle
	links    *Links
	store    *valueStore
	findings *findingSet
	stats    *statsCollector
	novelty  *novelty
	files    *FileCorrelator
	rng      *rand.Rand
	// producerStep keeps the last step of each operation that got a 2xx, to
	// prefix consumers with when they join the corpus.
	producerStep map[string]Step
	pending      [][]Step
	stopped      bool
}

func newRunner(s *spec.Spec, send Sender, cfg *config) *runner {
	gopts := []gen.Option{gen.WithSeed(cfg.seed), gen.WithExampleBias(0.4)}
	if cfg.mix != (gen.Mix{}) {
		gopts = append(gopts, gen.WithMix(cfg.mix))
	}
	gopts = append(gopts, cfg.genOpts...)
	links := InferLinks(s)
	return &runner{
		cfg:          cfg,
		spec:         s,
		gen:          gen.New(s, gopts...),
		send:         send,
		oracle:       NewOracle(s, cfg.checks...),
		links:        links,
		store:        newValueStore(s, links),
		findings:     newFindingSet(),
		stats:        newStats(),
		novelty:      newNovelty(),
		files:        NewFileCorrelator(cfg.lister),
		rng:          rand.New(rand.NewPCG(cfg.seed+1, cfg.seed^0x5851f42d4c957f2d)),
		producerStep: map[string]Step{},
	}
}

// stepResult is what running one step gave.
type stepResult struct {
	req  *gen.Request
	resp corpus.Response
	sig  Signal
	new  []string
}

// budgetLeft reports whether another request may be sent.
func (r *runner) budgetLeft(ctx context.Context) bool {
	if r.stopped || ctx.Err() != nil {
		return false
	}
	if r.cfg.maxRequests > 0 && r.stats.requests.Load() >= r.cfg.maxRequests {
		return false
	}
	if r.cfg.duration > 0 && time.Since(r.stats.start) >= r.cfg.duration {
		return false
	}
	return true
}

// execute runs a sequence; it stops early when the budget runs out.
func (r *runner) execute(ctx context.Context, seq []Step) []stepResult {
	results := make([]stepResult, 0, len(seq))
	sent := make([]corpus.Request, 0, len(seq))
	for _, st := range seq {
		if !r.budgetLeft(ctx) {
			break
		}
		op := r.spec.Operation(st.Op)
		if op == nil {
			continue
		}
		in := st.Input.Clone()
		if len(st.Bound) > 0 {
			r.store.bindOnly(op, &in, st.Bound)
		}
		req := r.gen.Encode(op, in, st.Intent)
		resp := r.send.Send(ctx, req.Request)
		if ctx.Err() != nil && resp.Status == 0 {
			break // cancelled, not the target's fault
		}
		sent = append(sent, req.Request)
		res := r.observe(ctx, op, st, req, resp, sent)
		results = append(results, res)
	}
	return results
}

// observe learns from one answer: statistics, values for later requests,
// coverage and novelty, oracles.
func (r *runner) observe(ctx context.Context, op *spec.Operation, st Step, req *gen.Request, resp corpus.Response, seq []corpus.Request) stepResult {
	n := r.stats.request(op.ID, resp.Status, int(req.Intent.Phase))
	res := stepResult{req: req, resp: resp}
	var doc any
	isJSON := false
	if !resp.Truncated && len(resp.Body) > 0 && len(resp.Body) < 256<<10 {
		doc, isJSON = decodeJSON(resp)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		r.store.record(op, resp)
		if op.Method == "DELETE" {
			r.store.forget(op, req.Input)
		} else if len(r.links.From(op.ID)) > 0 {
			r.producerStep[op.ID] = st
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
	res.new = r.novelty.observe(op.ID, resp, doc, isJSON)
	if res.sig.New() {
		res.new = append(res.new, res.sig.String())
	}
	if len(res.sig.NewFiles) > 0 || len(res.sig.Dirs) > 0 {
		for _, sel := range r.files.Observe(op.ID, req.Intent.Target, req.Values, res.sig) {
			sel := sel
			r.emit(Event{Kind: EventSelection, Request: n, Operation: op.ID, Selection: &sel})
			r.queueSelection(ctx, op, st, sel)
		}
		for _, d := range res.sig.Dirs {
			for _, e := range d.Entries {
				r.gen.Dictionary().Add("", e)
			}
		}
	}
	r.stats.signal(res.sig, len(res.new) > 0)
	if len(res.new) > 0 {
		r.emit(Event{Kind: EventCoverage, Request: n, Operation: op.ID, Reasons: res.new})
	}
	for _, v := range r.oracle.Check(ctx, req.Request, req.Intent, resp) {
		f := Finding{
			Operation: op.ID, Check: v.Check, Signature: v.Signature, Message: v.Message,
			Requests: slices.Clone(seq), Response: resp, Intent: req.Intent, FirstRequest: n,
		}
		f.Curl = CurlSequence(r.baseURL(), f.Requests)
		if got, isNew := r.findings.add(f); isNew {
			r.emit(Event{Kind: EventFinding, Request: n, Operation: op.ID, Finding: &got})
		}
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
	e.At = time.Since(r.stats.start)
	select {
	case r.cfg.events <- e:
	default:
		r.stats.dropped.Add(1)
	}
}

// pending holds sequences to run before anything else (names of existing
// files for input-selected parameters).
func (r *runner) queueSelection(ctx context.Context, op *spec.Operation, st Step, sel Selection) {
	names := r.files.Candidates(ctx, sel)
	if len(names) > maxSelectionTries {
		names = names[:maxSelectionTries]
	}
	param, ok := st.Input.Param(sel.Target)
	for _, name := range names {
		r.gen.Dictionary().Add(dictName(sel.Target), name)
		if !ok {
			continue
		}
		s := Step{Op: op.ID, Input: st.Input.Clone(), Intent: gen.Intent{Phase: gen.Valid, Kind: "input-selected-file", Target: sel.Target}, Bound: slices.Clone(st.Bound)}
		p, _ := s.Input.Param(param.Key())
		p.Value, p.Set = name, true
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
