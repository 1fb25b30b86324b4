package event

import (
	"context"
	"testing"
	"time"
)

func TestBusKeepsOrderAndDrainsAfterClose(t *testing.T) {
	b := NewBus()
	for i := 0; i < 1000; i++ {
		b.Publish(Log{Stamp: Now(), Msg: string(rune('a' + i%26))})
	}
	b.Close()
	b.Publish(Log{Msg: "after close"})
	ctx := context.Background()
	n := 0
	for {
		e, ok := b.Next(ctx)
		if !ok {
			break
		}
		if got, want := e.(Log).Msg, string(rune('a'+n%26)); got != want {
			t.Fatalf("event %d: got %q, want %q", n, got, want)
		}
		n++
	}
	if n != 1000 {
		t.Fatalf("drained %d events, want 1000", n)
	}
}

func TestBusNextWaitsForPublish(t *testing.T) {
	b := NewBus()
	got := make(chan Event, 1)
	go func() {
		e, _ := b.Next(context.Background())
		got <- e
	}()
	time.Sleep(10 * time.Millisecond)
	b.Publish(PhaseStarted{Phase: PhaseFuzz})
	select {
	case e := <-got:
		if e.(PhaseStarted).Phase != PhaseFuzz {
			t.Fatalf("got %#v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after Publish")
	}
}

func TestBusNextHonoursContext(t *testing.T) {
	b := NewBus()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := b.Next(ctx); ok {
		t.Fatal("Next returned an event on an empty bus with a cancelled context")
	}
}
