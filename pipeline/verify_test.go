package pipeline

import (
	"testing"
	"time"
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
