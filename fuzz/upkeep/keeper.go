// Package upkeep keeps a stateful target as fast as it was at its start:
// it remembers what the run created so that the loop can delete it
// (Collector), and follows each operation's latency so that the loop can
// replace a target whose answers keep slowing down (Latency). It only
// decides; the fuzz loop sends the DELETEs and restarts the target.
package upkeep

import (
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Keeper is the upkeep of one run: what it created, and how fast the
// target answers.
type Keeper struct {
	GC      *Collector
	Latency *Latency // nil: no latency restarts
}

// New prepares the upkeep of a run that keeps up to maxLive resources of
// one kind alive (0: deletes nothing); latency restarts follow p when the
// run can restart its target and p has a window.
func New(s *spec.Spec, l *links.Links, maxLive int, p LatencyPolicy, canRestart bool) *Keeper {
	k := &Keeper{GC: NewCollector(s, l, maxLive)}
	if p.Window > 0 && canRestart {
		k.Latency = NewLatency(p, time.Now)
	}
	return k
}

// Observe learns from one answer of the loop: its latency, and the
// resources it created or deleted.
func (k *Keeper) Observe(op *spec.Operation, req *gen.Request, resp corpus.Response) {
	if k.Latency != nil {
		k.Latency.Observe(op.ID, resp.Status, resp.Duration)
	}
	k.GC.Created(op, req, resp)
	if op.Method == "DELETE" {
		k.GC.Deleted(op, req.Input, resp.Status)
	}
}

// FreshTarget forgets what belonged to the instance just replaced.
func (k *Keeper) FreshTarget() {
	k.GC.Reset()
	if k.Latency != nil {
		k.Latency.Reset()
	}
}
