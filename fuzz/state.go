package fuzz

import (
	"context"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// stateKeeper keeps a stateful target as fast as it was at its start: it
// deletes what the run created (collector) and restarts a target whose
// answers keep slowing down (latencyTracker).
type stateKeeper struct {
	gc      *collector
	latency *latencyTracker // nil: no latency restarts
}

func newStateKeeper(s *spec.Spec, links *Links, cfg *config) stateKeeper {
	k := stateKeeper{gc: newCollector(s, links, cfg.maxLive)}
	if cfg.latency.Window > 0 && cfg.target != nil {
		k.latency = newLatencyTracker(cfg.latency, time.Now)
	}
	return k
}

// afterAnswer learns from one answer of the loop: its latency, and the
// resources it created or deleted.
func (r *runner) afterAnswer(op *spec.Operation, req *gen.Request, resp corpus.Response) {
	if op == nil {
		return
	}
	r.stats.answerTime(op.ID, resp)
	if r.state.latency != nil {
		r.state.latency.observe(op.ID, resp.Status, resp.Duration)
	}
	r.state.gc.created(op, req, resp)
	if op.Method == "DELETE" {
		r.state.gc.deleted(op, req.Input, resp.Status)
	}
}

// betweenSequences deletes what is over the bound and restarts the target
// when its answers kept slowing down.
func (r *runner) betweenSequences(ctx context.Context) {
	if r.lost != nil || ctx.Err() != nil || r.ctl.isStopped() {
		return
	}
	r.collectGarbage(ctx)
	t := r.state.latency
	if t == nil || r.lost != nil || ctx.Err() != nil || len(r.held) > 0 {
		return
	}
	if slow, why := t.verdict(); slow {
		r.stats.latencyRestart()
		// A restart forgets the ids the old instance handed out, as after
		// a crash: they name nothing on the fresh one.
		if err := r.restart(ctx, why); err != nil {
			r.lost = err
		}
	}
}

// freshTarget forgets what belonged to the instance just replaced.
func (k stateKeeper) freshTarget() {
	k.gc.reset()
	if k.latency != nil {
		k.latency.reset()
	}
}
