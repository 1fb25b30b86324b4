package fuzz

import (
	"context"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// afterAnswer learns from one answer of the loop: its latency, and the
// resources it created or deleted.
func (r *runner) afterAnswer(op *spec.Operation, req *gen.Request, resp corpus.Response) {
	if op == nil {
		return
	}
	r.stats.answerTime(op.ID, resp)
	r.state.Observe(op, req, resp)
}

// betweenSequences deletes what is over the bound and restarts the target
// when its answers kept slowing down.
func (r *runner) betweenSequences(ctx context.Context) {
	if r.lost != nil || ctx.Err() != nil || r.ctl.isStopped() {
		return
	}
	r.collectGarbage(ctx)
	t := r.state.Latency
	if t == nil || r.lost != nil || ctx.Err() != nil || len(r.held) > 0 {
		return
	}
	if slow, why := t.Verdict(); slow {
		r.stats.latencyRestart()
		// A restart forgets the ids the old instance handed out, as after
		// a crash: they name nothing on the fresh one.
		if err := r.restart(ctx, why); err != nil {
			r.lost = err
		}
	}
}
