package fuzz

import (
	"context"

	"github.com/whittle-dev/whittle/fuzz/gen"
)

// The upkeep stage, between two sequences: the run deletes what it
// created beyond upkeep's bound, and replaces a target whose answers kept
// slowing down (see fuzz/upkeep, which decides; the loop acts).

// betweenSequences deletes what is over the bound and restarts the target
// when its answers kept slowing down.
func (l *loop) betweenSequences(ctx context.Context) {
	if l.instance.lost != nil || ctx.Err() != nil || l.ctl.isStopped() {
		return
	}
	l.collectGarbage(ctx)
	t := l.keeper.Latency
	if t == nil || l.instance.lost != nil || ctx.Err() != nil || len(l.instance.held) > 0 {
		return
	}
	if slow, why := t.Verdict(); slow {
		l.mon.stats.latencyRestart()
		// A restart forgets the ids the old instance handed out, as after
		// a crash: they name nothing on the fresh one.
		if err := l.restart(ctx, why); err != nil {
			l.instance.lost = err
		}
	}
}

// collectGarbage deletes the resources over the bound. It stops at the
// first one whose DELETE got no answer: a target that died is restarted
// (its resources are gone with it), one that merely timed out is left be.
// What was not deleted then, that one included, stays remembered.
func (l *loop) collectGarbage(ctx context.Context) {
	if len(l.instance.held) > 0 {
		return // the last request got no answer: leave the target be until one comes
	}
	items := l.keeper.GC.Due()
	if len(items) == 0 {
		return
	}
	defer l.coverage.drain(ctx)
	for i, g := range items {
		if ctx.Err() != nil || l.ctl.isStopped() {
			l.keeper.GC.PutBack(items[i:])
			return
		}
		in := g.Input()
		req := l.gen.Encode(g.Op(), in, gen.Intent{Phase: gen.Valid, Kind: "cleanup"})
		resp := l.exec.deliver(ctx, req.Request)
		if ctx.Err() != nil && resp.Status == 0 {
			l.keeper.GC.PutBack(items[i:])
			return
		}
		l.mon.stats.cleanupDelete(is2xx(resp.Status) || resp.Status == 404 || resp.Status == 410)
		if is2xx(resp.Status) || resp.Status == 404 || resp.Status == 410 {
			l.exec.values.Forget(g.Op(), in)
			continue
		}
		if resp.Status != 0 {
			continue
		}
		if dead, why := crashed(ctx, l.cfg.target, resp, l.cfg.crashGrace); dead {
			l.mon.stats.crash()
			why = "crashed during cleanup (" + req.Method + " " + req.Path + "): " + why
			if g.Crashed() {
				why += "; what " + g.Producer() + " creates is no longer deleted"
			}
			if err := l.restart(ctx, why); err != nil {
				l.instance.lost = err
			}
			return
		}
		items[i].Unanswered()
		l.keeper.GC.PutBack(items[i:])
		return
	}
}
