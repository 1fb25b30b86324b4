package fuzz

import (
	"context"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
)

// record is one step as the observers see it: what the loop sent and got,
// then what the observers make of it. Each observer reads what its comment
// says and fills at most the fields marked as its own; it never sends a
// request, restarts the target or records a finding: the loop does, from
// the record, once every observer has seen it.
type record struct {
	idx  int   // the step's index in its sequence
	n    int64 // the request's number in the run, from 1
	op   *spec.Operation
	step Step // as sent: Input holds the values sent
	req  *gen.Request
	resp corpus.Response
	seq  []corpus.Request // the requests of the sequence so far, this one last
	// doc is the answer's JSON body, decoded once for every observer
	// (isJSON: it was JSON).
	doc    any
	isJSON bool

	sig        Signal             // coverage: what the target newly did
	new        []string           // novelty: what was new (corpus admission)
	tries      [][]Step           // selection: sequences to run before any other
	violations []oracle.Violation // objectives: what the answer breaks

	// crash is set when the target died during or right after this step.
	crash string

	// exec is the executor that sent it (a worker's, or the loop's).
	exec *executor
	// In a concurrent batch (workers.go): batch, the request's number in
	// it (flight), whether it saw new coverage (novel), whether that was in
	// a shared window and credited to nobody (shared), and the steps its
	// sequence sent so far (sofar, for a finding's steps).
	batch  *batch
	flight int
	novel  bool
	shared bool
	sofar  []sentStep
}

// maxDecoded bounds the bodies decoded for the observers.
const maxDecoded = 256 << 10

// observer learns from one answer (LibAFL's observers and feedbacks).
type observer interface {
	observe(ctx context.Context, rec *record)
}

// newObservers lists the observers of a run in the order they see each
// step: each comes after those that fill what it reads.
func (l *loop) newObservers() []observer {
	list := []observer{
		bindings{exec: l.exec, links: l.links, producers: l.producers},
		dictionary{dict: l.gen.Dictionary()},
		l.coverage,
		newNovelty(),
		l.selection,
		l.mon,
		objectives{oracle: l.oracle},
		l.crawling,
	}
	if l.cfg.onExchange != nil {
		list = append(list, exchanges(l.cfg.onExchange))
	}
	return append(list, upkeeping{keeper: l.keeper, stats: l.mon.stats})
}

// observe shows rec to every observer, in order.
func (l *loop) observe(ctx context.Context, rec *record) {
	if !rec.resp.Truncated && len(rec.resp.Body) > 0 && len(rec.resp.Body) < maxDecoded {
		rec.doc, rec.isJSON = decodeJSON(rec.resp)
	}
	for _, o := range l.observers {
		o.observe(ctx, rec)
	}
}

// bindings takes from a 2xx answer the values later requests bind (the ids
// it hands out) and, for an operation that feeds links, the step itself, to
// put before the consumers of what it made.
// Reads: op, step, req, resp. Changes: the executor's value store, producers.
type bindings struct {
	exec      *executor
	links     *links.Links
	producers producers
}

func (o bindings) observe(_ context.Context, rec *record) {
	if !is2xx(rec.resp.Status) {
		return
	}
	x := o.exec
	if rec.exec != nil {
		x = rec.exec // a worker's value store
	}
	x.learn(rec.op, rec.req, rec.resp)
	if rec.op.Method != "DELETE" && len(o.links.From(rec.op.ID)) > 0 {
		o.producers[rec.op.ID] = sentStep{step: cloneStep(rec.step), req: rec.req.Request, resp: rec.resp}
	}
}

// dictionary files the values of 2xx JSON answers for later inputs.
// Reads: resp, doc. Changes: the generator's dictionary.
type dictionary struct{ dict *gen.Dictionary }

func (o dictionary) observe(_ context.Context, rec *record) {
	if is2xx(rec.resp.Status) && rec.isJSON {
		o.dict.AddValue(rec.doc)
	}
}

// coverage asks the tracer (Feedback) what the target newly did since it
// last asked: the signal of the request just answered.
// Reads: nothing of the step. Fills: sig.
// In a concurrent batch, coverage seen while other requests were in flight
// is credited to nobody (workers.go); unattributed counts it.
type coverage struct {
	feedback     Feedback
	unattributed func(*Signal)
	// threadCredited counts functions of shared windows that Flights
	// credited to one request.
	threadCredited func(n int)
	// listings gives the name book the directories of a drained signal.
	listings func([]inputsel.DirListing)
}

func (o *coverage) observe(ctx context.Context, rec *record) {
	if o.feedback == nil {
		return
	}
	if sig, err := o.feedback.After(ctx); err == nil {
		rec.sig = sig
	}
	if rec.batch == nil {
		return
	}
	b := rec.batch
	alone, others := b.solo(rec.flight)
	rec.sig.NewFiles = b.offer(rec.flight, others, rec.sig.NewFiles)
	rec.novel = rec.sig.New()
	owed := b.owed[rec.flight]
	delete(b.owed, rec.flight)
	if !alone && rec.novel {
		// The functions a thread made while serving one request alone are
		// that request's (Flights); what is left is nobody's.
		var owners map[int]int
		if fl, ok := o.feedback.(Flights); ok {
			owners = fl.Owners()
		}
		mine, told := 0, 0
		for id, n := range owners {
			switch {
			case id == rec.flight:
				mine = n
			case b.inflight[id]:
				b.owed[id] += n // credited when its answer comes
			default:
				continue // answered before: its signal is gone
			}
			told += n
		}
		if told > rec.sig.Functions {
			mine, told = 0, 0 // a feedback that miscounts is not believed
		}
		rec.sig.Functions -= told
		if rec.sig.New() {
			rec.shared = true
			o.unattributed(&rec.sig)
		}
		rec.sig.Functions = mine
		if told > 0 && o.threadCredited != nil {
			o.threadCredited(told)
		}
	}
	rec.sig.Functions += owed
	rec.novel = rec.novel || owed > 0
}

// drain takes, and drops, what a request outside the loop (a minimisation
// attempt, a liveness check, a cleanup DELETE) newly covered, so that it is
// not credited to the loop's next request. That coverage counts for the
// image all the same: the tracer saw it.
func (o *coverage) drain(ctx context.Context) {
	if o.feedback == nil {
		return
	}
	// The directories the target listed still join the name book: the
	// first drain (connections.go) holds the start-up listings, which
	// value sweeps need (an interpreter's encodings/).
	if sig, err := o.feedback.After(ctx); err == nil && len(sig.Dirs) > 0 && o.listings != nil {
		o.listings(sig.Dirs)
	}
}

// objectives judges the answer with the oracles (LibAFL's objectives).
// Reads: req, resp. Fills: violations; the loop turns them into findings.
type objectives struct{ oracle *oracle.Oracle }

func (o objectives) observe(ctx context.Context, rec *record) {
	rec.violations = o.oracle.Check(ctx, rec.req.Request, rec.req.Intent, rec.resp)
}

// exchanges hands every answer to WithExchangeHook's function.
// Reads: n, req, resp, sig, new.
type exchanges func(Exchange)

func (o exchanges) observe(_ context.Context, rec *record) {
	o(Exchange{Seq: rec.n, Request: rec.req.Request, Intent: rec.req.Intent, Response: rec.resp, Signal: rec.sig, New: rec.new})
}

// upkeeping follows the answer's latency and the resources it created or
// deleted (upkeep.Keeper), for the cleanup and latency restarts the loop
// does between sequences.
// Reads: op, req, resp. Changes: the keeper, the operation's latency stats.
type upkeeping struct {
	keeper *upkeep.Keeper
	stats  *statsCollector
}

func (o upkeeping) observe(_ context.Context, rec *record) {
	o.stats.answerTime(rec.op.ID, rec.resp)
	o.keeper.Observe(rec.op, rec.req, rec.resp)
}
