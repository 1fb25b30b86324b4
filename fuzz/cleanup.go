package fuzz

import (
	"context"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
	"github.com/whittle-dev/whittle/internal/panics"
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
		} else if l.conc != nil {
			l.conc.pace.Restarted(time.Now())
		}
	}
}

// collectGarbage deletes the resources over the bound. It stops at the
// first one whose DELETE got no answer: a target that died is restarted
// (its resources are gone with it), one that merely timed out is left be.
// What was not deleted then, that one included, stays remembered.
// A concurrent run deletes as many at once as it has workers: the deletes
// of a busy run are many, and one at a time they took as long as the
// batches between them.
func (l *loop) collectGarbage(ctx context.Context) {
	if len(l.instance.held) > 0 {
		return // the last request got no answer: leave the target be until one comes
	}
	items := l.keeper.GC.Due()
	if len(items) == 0 {
		return
	}
	defer l.coverage.drain(ctx)
	at := max(1, l.cleanupWorkers())
	for start := 0; start < len(items); start += at {
		if ctx.Err() != nil || l.ctl.isStopped() {
			l.keeper.GC.PutBack(items[start:])
			return
		}
		chunk := items[start:min(start+at, len(items))]
		reqs, resps := l.deleteAll(ctx, chunk)
		var back []upkeep.Garbage
		for j, g := range chunk {
			resp := resps[j]
			if ctx.Err() != nil && resp.Status == 0 {
				back = append(back, g)
				continue
			}
			gone := is2xx(resp.Status) || resp.Status == 404 || resp.Status == 410
			l.mon.stats.cleanupDelete(gone)
			if gone {
				l.forgetEverywhere(g.Op(), g.Input())
				continue
			}
			if resp.Status != 0 {
				continue
			}
			if len(back) == 0 {
				if dead, why := crashed(ctx, l.cfg.target, resp, l.cfg.crashGrace); dead {
					l.mon.stats.crash()
					why = "crashed during cleanup (" + reqs[j].Method + " " + reqs[j].Path + "): " + why
					if g.Crashed() {
						why += "; what " + g.Producer() + " creates is no longer deleted"
					}
					if err := l.restart(ctx, why); err != nil {
						l.instance.lost = err
					}
					return
				}
			}
			g.Unanswered()
			back = append(back, g)
		}
		if len(back) > 0 {
			l.keeper.GC.PutBack(append(back, items[start+len(chunk):]...))
			return
		}
	}
}

// cleanupWorkers is how many DELETEs the cleanup sends at once: the
// run's worker count.
func (l *loop) cleanupWorkers() int {
	if l.conc == nil {
		return 1
	}
	return l.conc.pace.Workers()
}

// deleteAll sends the DELETEs of items, at once when there are several,
// and returns them with their answers, in the order of items.
func (l *loop) deleteAll(ctx context.Context, items []upkeep.Garbage) ([]corpus.Request, []corpus.Response) {
	reqs := make([]corpus.Request, len(items))
	resps := make([]corpus.Response, len(items))
	for i, g := range items {
		reqs[i] = l.gen.Encode(g.Op(), g.Input(), gen.Intent{Phase: gen.Valid, Kind: "cleanup"}).Request
	}
	if len(items) == 1 {
		resps[0] = l.exec.deliver(ctx, reqs[0])
		return reqs, resps
	}
	panicked := make([]any, len(items))
	var wg sync.WaitGroup
	for i := range items {
		wg.Go(func() {
			defer func() { panicked[i] = recover() }()
			resps[i] = l.exec.deliver(ctx, reqs[i])
		})
	}
	wg.Wait()
	for _, p := range panicked {
		if p != nil {
			panic(panics.New("fuzz: cleanup", p)) // the loop's goroutine reports it
		}
	}
	return reqs, resps
}

// forgetEverywhere drops a deleted resource's ids from every worker's
// value store (a worker binds the ids its own sequences made).
func (l *loop) forgetEverywhere(op *spec.Operation, in gen.Input) {
	l.exec.values.Forget(op, in)
	if l.conc == nil {
		return
	}
	for _, ln := range l.conc.lanes {
		if ln.exec != l.exec {
			ln.exec.values.Forget(op, in)
		}
	}
}
