package fuzz

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/whittle-dev/whittle/corpus"
)

// Entry is a corpus entry: a sequence whose last step earned something new.
type Entry struct {
	ID int `json:"id"`
	// Steps hold the values sent when the entry joined; Bound and Copies
	// parameters are bound again whenever it runs.
	Steps []Step `json:"steps"`
	// Requests are the requests as sent when it joined.
	Requests []corpus.Request `json:"requests,omitempty"`
	// StoreID is the entry's id in the on-disk corpus, when persisted.
	StoreID string `json:"store_id,omitempty"`
	// Reasons says what was new when it joined.
	Reasons []string `json:"reasons"`
	// AddedAt is the request number it joined at.
	AddedAt int64 `json:"added_at"`
	// Picks counts how often it was mutated; Finds how often that paid off;
	// Crashes how often a mutation of it killed the target (each costs a
	// restart, and the crash is known after the first).
	Picks   int `json:"picks"`
	Finds   int `json:"finds"`
	Crashes int `json:"crashes,omitempty"`
}

// maxPool bounds the in-memory corpus.
const maxPool = 4096

// pool is the in-memory corpus with its scheduling.
type pool struct {
	mu      sync.Mutex
	entries []*Entry
	nextID  int
}

// add puts a copy of e in the pool under a new ID and returns that copy.
func (p *pool) add(e Entry) *Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextID++
	e.ID = p.nextID
	e.Steps = cloneSteps(e.Steps)
	e.Requests = slices.Clone(e.Requests)
	e.Reasons = slices.Clone(e.Reasons)
	ep := &e
	p.entries = append(p.entries, ep)
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
	return ep
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
		c.Requests = slices.Clone(e.Requests)
		c.Reasons = slices.Clone(e.Reasons)
		out[i] = c
	}
	return out
}

// recencyWindow is how many requests an entry counts as a recent find.
const recencyWindow = 500

// pick chooses an entry by energy: recent finds, entries whose mutations
// paid off, and sequences ending in rarely exercised operations get more.
func (p *pool) pick(rng *rand.Rand, now int64, opCount func(op string) int64, skipped func(op string) bool) *Entry {
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
		// A raw last step (a linked asset, a request of a corpus whose
		// steps could not be read) is not mutated: picking it only sends
		// it again.
		if skipped(last) || e.Steps[len(e.Steps)-1].Raw != nil {
			continue
		}
		rarity := 1 / math.Sqrt(1+float64(opCount(last)))
		w := 1 + 4*recency + 8*rarity + 2*float64(e.Finds) - 0.01*math.Min(float64(e.Picks), 50)
		w /= 1 + 4*float64(e.Crashes)
		weights[i] = w
		total += w
	}
	if total == 0 {
		return nil
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if w > 0 && x < w {
			p.entries[i].Picks++
			return p.entries[i]
		}
		x -= w
	}
	for i := len(weights) - 1; i >= 0; i-- {
		if weights[i] > 0 {
			p.entries[i].Picks++
			return p.entries[i]
		}
	}
	return nil
}

// blame notes that a mutation of e crashed the target.
func (p *pool) blame(e *Entry) {
	p.mu.Lock()
	e.Crashes++
	p.mu.Unlock()
}

func (p *pool) credit(e *Entry) {
	p.mu.Lock()
	e.Finds++
	p.mu.Unlock()
}
