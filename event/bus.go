package event

import (
	"context"
	"sync"
)

// Bus is an unbounded queue of events: Publish never blocks (the fuzz loop
// must never wait for a UI), Next blocks until an event is available.
type Bus struct {
	mu     sync.Mutex
	queue  []Event
	notify chan struct{}
	closed bool
}

// NewBus returns an empty, open bus.
func NewBus() *Bus { return &Bus{notify: make(chan struct{}, 1)} }

// Publish queues e. Publishing on a closed or nil bus is a no-op.
func (b *Bus) Publish(e Event) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, e)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// Close ends the stream: Next drains what is queued, then reports false.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// Next returns the oldest queued event, waiting for one if needed. It returns
// false once the bus is closed and drained, or when ctx ends.
func (b *Bus) Next(ctx context.Context) (Event, bool) {
	for {
		b.mu.Lock()
		if len(b.queue) > 0 {
			e := b.queue[0]
			b.queue[0] = nil
			b.queue = b.queue[1:]
			b.mu.Unlock()
			return e, true
		}
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-b.notify:
		}
	}
}
