package fuzz

import (
	"context"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// Some servers close the connection on inputs they reject (the JDK's
// HttpServer on an over-long request line): no answer, and no crash.
// Waiting the whole crash grace for each such answer cost a worker half a
// second every time the fuzzer mutated that input again. An operation
// whose unanswered requests left the target alive trustedSurvivals times
// in a row waits only shortGrace; a crash of it brings the full grace back.
const (
	trustedSurvivals = 3
	shortGrace       = 50 * time.Millisecond
)

// graceBook remembers, per operation, the unanswered requests in a row the
// target survived. Workers use it outside the loop's lock.
type graceBook struct {
	mu       sync.Mutex
	survived map[string]int
}

func newGraceBook() *graceBook { return &graceBook{survived: map[string]int{}} }

// crashed is crashed() for a request of operation op, with op's grace.
func (g *graceBook) crashed(ctx context.Context, t TargetHealth, op string, resp corpus.Response, full time.Duration) (bool, string) {
	if t == nil || !resp.NoAnswer() {
		return crashed(ctx, t, resp, full)
	}
	grace := full
	g.mu.Lock()
	if g.survived[op] >= trustedSurvivals {
		grace = min(full, shortGrace)
	}
	g.mu.Unlock()
	dead, why := crashed(ctx, t, resp, grace)
	if ctx.Err() == nil {
		g.mu.Lock()
		if dead {
			g.survived[op] = 0
		} else {
			g.survived[op]++
		}
		g.mu.Unlock()
	}
	return dead, why
}
