package fuzz

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// Entry is a corpus entry: a sequence whose last step earned something new.
type Entry struct {
	ID    int    `json:"id"`
	Steps []Step `json:"steps"`
	// Reasons says what was new when it joined.
	Reasons []string `json:"reasons"`
	// AddedAt is the request number it joined at.
	AddedAt int64 `json:"added_at"`
	// Picks counts how often it was mutated; Finds how often that paid off.
	Picks int `json:"picks"`
	Finds int `json:"finds"`
}

// maxPool bounds the in-memory corpus.
const maxPool = 4096

// pool is the in-memory corpus with its scheduling.
type pool struct {
	mu      sync.Mutex
	entries []*Entry
	nextID  int
}

func (p *pool) add(steps []Step, reasons []string, at int64) *Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextID++
	e := &Entry{ID: p.nextID, Steps: cloneSteps(steps), Reasons: slices.Clone(reasons), AddedAt: at}
	p.entries = append(p.entries, e)
	if len(p.entries) > maxPool {
		// Evict the oldest entry that never paid off.
		for i, old := range p.entries {
			if old.Finds == 0 {
				p.entries = append(p.entries[:i], p.entries[i+1:]...)
				break
			}
		}
		if len(p.entries) > maxPool {
			p.entries = p.entries[1:]
		}
	}
	return e
}

func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

func (p *pool) snapshot() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Entry, len(p.entries))
	for i, e := range p.entries {
		c := *e
		c.Steps = cloneSteps(e.Steps)
		out[i] = c
	}
	return out
}

// recencyWindow is how many requests an entry counts as a recent find.
const recencyWindow = 500

// pick chooses an entry by energy: recent finds, entries whose mutations
// paid off, and sequences ending in rarely exercised operations get more.
func (p *pool) pick(rng *rand.Rand, now int64, opCount func(op string) int64) *Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.entries) == 0 {
		return nil
	}
	weights := make([]float64, len(p.entries))
	total := 0.0
	for i, e := range p.entries {
		age := float64(now - e.AddedAt)
		recency := math.Exp(-age / recencyWindow)
		last := e.Steps[len(e.Steps)-1].Op
		rarity := 1 / math.Sqrt(1+float64(opCount(last)))
		w := 1 + 4*recency + 8*rarity + 2*float64(e.Finds) - 0.01*math.Min(float64(e.Picks), 50)
		weights[i] = w
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			p.entries[i].Picks++
			return p.entries[i]
		}
		x -= w
	}
	e := p.entries[len(p.entries)-1]
	e.Picks++
	return e
}

func (p *pool) credit(e *Entry) {
	p.mu.Lock()
	e.Finds++
	p.mu.Unlock()
}
