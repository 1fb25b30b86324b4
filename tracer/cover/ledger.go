package cover

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Ledger is the first-hit bookkeeping every Source shares: the units hit in
// first-hit order, when, and which are background, with the cursors of
// NewSince and MarkBackground. Runtime packages embed one. Its methods are
// safe for concurrent use.
type Ledger struct {
	mu    sync.Mutex
	hits  []FirstHit
	index map[string]int // Function.Unit → position in hits
}

// Add records f's first hit at at; it returns false when f was hit before.
func (l *Ledger) Add(f Function, at time.Time) bool {
	return l.add(FirstHit{Function: f, At: at})
}

func (l *Ledger) add(h FirstHit) bool {
	key := h.Unit()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.index[key]; ok {
		return false
	}
	if l.index == nil {
		l.index = map[string]int{}
	}
	l.index[key] = len(l.hits)
	l.hits = append(l.hits, h)
	return true
}

// AddStamped records f's first hit at at by thread at mono (FirstHit),
// as a start-up one when startup; it returns false when f was hit before.
func (l *Ledger) AddStamped(f Function, at time.Time, thread uint32, mono uint64, startup bool) bool {
	return l.add(FirstHit{Function: f, At: at, Thread: thread, Mono: mono, Startup: startup, Background: startup})
}

// AddStartup records f's first hit at at as a start-up one (background):
// what a process that was already running did before coverage could see
// it, e.g. a later container's start-up. It returns false when f was hit
// before.
func (l *Ledger) AddStartup(f Function, at time.Time) bool {
	return l.add(FirstHit{Function: f, At: at, Startup: true, Background: true})
}

// Len is the number of units hit.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.hits)
}

// Hits returns every unit hit, in first-hit order.
func (l *Ledger) Hits() []FirstHit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.hits)
}

// Has reports whether the unit (Function.Unit) was hit.
func (l *Ledger) Has(unit string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.index[unit]
	return ok
}

// NewSince returns the units first hit at or after cursor, background ones
// excluded, and the next cursor.
func (l *Ledger) NewSince(cursor int) (units []string, next int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cursor >= len(l.hits) {
		return nil, len(l.hits)
	}
	for _, h := range l.hits[max(cursor, 0):] {
		if !h.Background {
			units = append(units, h.Unit())
		}
	}
	return units, len(l.hits)
}

// NewHitsSince is NewSince with the first hits.
func (l *Ledger) NewHitsSince(cursor int) (hits []FirstHit, next int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.hits[min(max(cursor, 0), len(l.hits)):] {
		if !h.Background {
			hits = append(hits, h)
		}
	}
	return hits, len(l.hits)
}

// MarkBackground marks the units first hit at or after cursor as background
// and returns them with the next cursor.
func (l *Ledger) MarkBackground(cursor int) (units []string, next int) {
	return l.mark(cursor, false)
}

func (l *Ledger) mark(cursor int, startup bool) (units []string, next int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := min(max(cursor, 0), len(l.hits)); i < len(l.hits); i++ {
		h := &l.hits[i]
		if !h.Background {
			h.Background, h.Startup = true, startup
			units = append(units, h.Unit())
		}
	}
	return units, len(l.hits)
}

// Background returns the units marked as background, in first-hit order.
func (l *Ledger) Background() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, h := range l.hits {
		if h.Background {
			out = append(out, h.Unit())
		}
	}
	return out
}

// Baseline waits idle for d, calls sync, and marks every unit hit so far as
// background, hit at start-up; see Source.Baseline.
func (l *Ledger) Baseline(ctx context.Context, d time.Duration, sync func(context.Context) error) (cursor int, background []string, err error) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	if err := sync(ctx); err != nil {
		return 0, nil, err
	}
	background, cursor = l.mark(0, true)
	return cursor, background, nil
}
