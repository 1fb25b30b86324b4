package fuzz

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// aliveTarget never dies (until dead is set) and counts how often it was asked.
type aliveTarget struct {
	asked atomic.Int64
	dead  atomic.Bool
}

func (a *aliveTarget) Crashed() (bool, string) {
	a.asked.Add(1)
	if a.dead.Load() {
		return true, "exited with status 1"
	}
	return false, ""
}

func (a *aliveTarget) Restart(context.Context) error { return nil }

// An operation whose unanswered requests the target survived waits only a
// short grace once trusted; its crash brings the full grace back.
func TestUnansweredRequestsOfASurvivingOperationWaitLess(t *testing.T) {
	const full = time.Second
	g := newGraceBook()
	tgt := &aliveTarget{}
	closed := corpus.Response{Err: "connection failed: EOF"}
	asked := func(op string) int64 {
		before := tgt.asked.Load()
		g.crashed(context.Background(), tgt, op, closed, full)
		return tgt.asked.Load() - before
	}
	for i := range trustedSurvivals {
		if n := asked("GET /render/{template}"); n < 20 {
			t.Fatalf("survival %d: the target was asked %d times, want the full grace's polling (≥ 20)", i+1, n)
		}
	}
	if n := asked("GET /render/{template}"); n > 10 {
		t.Fatalf("after %d survivals the target was asked %d times, want the short grace's (≤ 10)", trustedSurvivals, n)
	}
	if n := asked("GET /other"); n < 20 {
		t.Fatalf("another operation was asked %d times: trust is per operation", n)
	}
	tgt.dead.Store(true)
	if dead, _ := g.crashed(context.Background(), tgt, "GET /render/{template}", closed, full); !dead {
		t.Fatal("a dead target was not seen dead")
	}
	tgt.dead.Store(false)
	if n := asked("GET /render/{template}"); n < 20 {
		t.Fatalf("after a crash the target was asked %d times, want the full grace back", n)
	}
}
