package fuzz

import (
	"context"

	"github.com/whittle-dev/whittle/fuzz/gen"
)

// collectGarbage deletes the resources over the bound. It stops at the
// first one whose DELETE got no answer: a target that died is restarted
// (its resources are gone with it), one that merely timed out is left be.
// What was not deleted then, that one included, stays remembered.
func (r *runner) collectGarbage(ctx context.Context) {
	if len(r.held) > 0 {
		return // the last request got no answer: leave the target be until one comes
	}
	items := r.state.GC.Due()
	if len(items) == 0 {
		return
	}
	defer r.drainFeedback(ctx)
	for i, g := range items {
		if ctx.Err() != nil || r.ctl.isStopped() {
			r.state.GC.PutBack(items[i:])
			return
		}
		in := g.Input()
		req := r.gen.Encode(g.Op(), in, gen.Intent{Phase: gen.Valid, Kind: "cleanup"})
		resp := deliver(ctx, r.send, req.Request)
		if ctx.Err() != nil && resp.Status == 0 {
			r.state.GC.PutBack(items[i:])
			return
		}
		r.stats.cleanupDelete(is2xx(resp.Status) || resp.Status == 404 || resp.Status == 410)
		if is2xx(resp.Status) || resp.Status == 404 || resp.Status == 410 {
			r.store.Forget(g.Op(), in)
			continue
		}
		if resp.Status != 0 {
			continue
		}
		if dead, why := crashed(ctx, r.cfg.target, resp, r.cfg.crashGrace); dead {
			r.stats.crash()
			why = "crashed during cleanup (" + req.Method + " " + req.Path + "): " + why
			if g.Crashed() {
				why += "; what " + g.Producer() + " creates is no longer deleted"
			}
			if err := r.restart(ctx, why); err != nil {
				r.lost = err
			}
			return
		}
		items[i].Unanswered()
		r.state.GC.PutBack(items[i:])
		return
	}
}
