package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
)

// The worker count going up and down around the target's capacity is not
// logged; back-offs for trouble and new highs are, and the switch to fresh
// connections is.
func TestWorkerChangesLoggedWhenTheySaySomething(t *testing.T) {
	bus := event.NewBus()
	s := &session{run: New(Config{}, bus)}
	change := func(from, to int, why string) {
		c := fuzz.WorkerChange{From: from, To: to, Reason: why}
		s.forward(fuzz.Event{Kind: fuzz.EventWorkers, Reasons: []string{"x: " + why}, Workers: &c})
	}
	change(1, 2, "rising 1")
	change(2, 3, "rising 2")
	change(3, 2, "executions/s stopped rising (90/s)")
	change(2, 3, "rising again") // not a new high
	change(3, 4, "rising 3")
	change(4, 2, "latency grew: p95 90ms, bound 30ms")
	s.forward(fuzz.Event{Kind: fuzz.EventConnections, Reasons: []string{"keep-alive answers took 43ms"}})
	bus.Close()
	var logged []string
	for {
		e, ok := bus.Next(context.Background())
		if !ok {
			break
		}
		if l, isLog := e.(event.Log); isLog {
			logged = append(logged, l.Msg)
		}
	}
	want := []string{"rising 1", "rising 2", "rising 3", "latency grew", "keep-alive answers took 43ms"}
	if len(logged) != len(want) {
		t.Fatalf("logged %q, want lines with %q", logged, want)
	}
	for i, w := range want {
		if !strings.Contains(logged[i], w) {
			t.Errorf("line %d %q, want %q in it", i, logged[i], w)
		}
	}
}
