package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
)

func TestMinimizeRestartsFollowsStartupCost(t *testing.T) {
	cases := []struct {
		budget, startup time.Duration
		want            int
	}{
		{20 * time.Second, 300 * time.Millisecond, 13},
		{60 * time.Second, 100 * time.Millisecond, 24},
		{20 * time.Second, 1500 * time.Millisecond, 2},
		{60 * time.Second, 1500 * time.Millisecond, 8},
		{10 * time.Minute, 2 * time.Second, 24},
		{time.Minute, 0, 24},
	}
	for _, c := range cases {
		if got := minimizeRestarts(c.budget, c.startup); got != c.want {
			t.Errorf("minimizeRestarts(%s, %s) = %d, want %d", c.budget, c.startup, got, c.want)
		}
	}
}

// A known crash found again must not flood the log: the first restart for
// a reason is logged, later ones only counted.
func TestRepeatedRestartsLoggedOnce(t *testing.T) {
	bus := event.NewBus()
	s := &session{run: New(Config{}, bus)}
	for range 50 {
		s.forward(fuzz.Event{Kind: fuzz.EventRestart, Reasons: []string{"crashed: exited with status 2"}})
	}
	s.forward(fuzz.Event{Kind: fuzz.EventRestart, Reasons: []string{"crashed: exited with status 70"}})
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
	if len(logged) != 2 || !strings.Contains(logged[0], "status 2") || !strings.Contains(logged[1], "status 70") {
		t.Fatalf("logged %q, want one line per restart reason", logged)
	}
}
