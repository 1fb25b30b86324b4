package main

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/whittle-dev/gopets/internal/adopt"
)

const maxLimit = 100 // the documented maximum page size of GET /pets

var (
	errNotFound = errors.New("pet not found")
	errFull     = errors.New("shelter is full")
	errTaken    = errors.New("pet is already adopted or in foster care")
)

// Pet is the stored and answered representation of a pet.
type Pet struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Species   string     `json:"species"`
	Age       int        `json:"age"`
	Tags      []string   `json:"tags"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`

	foster *adopt.Placement // set while the pet is in foster care
}

// store keeps pets in memory; IDs are sequential from 1 so the same request order gives
// the same answers.
type store struct {
	mu     sync.Mutex
	max    int
	nextID int64
	pets   map[int64]*Pet
}

func newStore(max int) *store {
	return &store{max: max, nextID: 1, pets: make(map[int64]*Pet)}
}

func (s *store) create(p Pet) (Pet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pets) >= s.max {
		return Pet{}, errFull
	}
	p.ID = s.nextID
	s.nextID++
	p.Status = "available"
	p.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	s.pets[p.ID] = &p
	return p, nil
}

func (s *store) get(id int64) (Pet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pets[id]
	if !ok {
		return Pet{}, errNotFound
	}
	return *p, nil
}

func (s *store) update(id int64, in Pet) (Pet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pets[id]
	if !ok {
		return Pet{}, errNotFound
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	p.Name, p.Species, p.Age, p.Tags, p.UpdatedAt = in.Name, in.Species, in.Age, in.Tags, &now
	return *p, nil
}

// remove deletes a pet and returns its record, wiped so that no personal data outlives the
// deletion.
func (s *store) remove(id int64) (*Pet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pets[id]
	if !ok {
		return nil, errNotFound
	}
	delete(s.pets, id)
	*p = Pet{ID: id, Status: "deleted"} // BUG (c): drops p.foster too, which releaseFoster reads.
	return p, nil
}

// markAdopted records an adoption outcome; it fails when the pet is not available.
func (s *store) markAdopted(id int64, status string, placement *adopt.Placement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pets[id]
	if !ok {
		return errNotFound
	}
	if p.Status != "available" {
		return errTaken
	}
	p.Status, p.foster = status, placement
	return nil
}

type listQuery struct {
	species, tag  string
	limit, offset int
}

// pagePools holds one pool of page buffers per page size, so listing does not allocate.
var pagePools [maxLimit]sync.Pool // BUG (a): indexed by limit (1..100): needs maxLimit+1.

func (s *store) list(q listQuery) (page []Pet, total int) {
	buf, _ := pagePools[q.limit].Get().(*[]Pet)
	if buf == nil {
		b := make([]Pet, 0, q.limit)
		buf = &b
	}
	defer func() { *buf = (*buf)[:0]; pagePools[q.limit].Put(buf) }()

	s.mu.Lock()
	ids := make([]int64, 0, len(s.pets))
	for id, p := range s.pets {
		if q.species != "" && p.Species != q.species {
			continue
		}
		if q.tag != "" && !slices.Contains(p.Tags, q.tag) {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	total = len(ids)
	for i := q.offset; i < len(ids) && len(*buf) < q.limit; i++ {
		*buf = append(*buf, *s.pets[ids[i]])
	}
	s.mu.Unlock()
	return slices.Clone(*buf), total
}

// compactStore renumbers nothing and drops adopted pets. Only a config the image does not
// have (compactOnStart) reaches it: coverage exports must show it as never hit.
//
//go:noinline
func (s *server) compactStore() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	dropped := 0
	for id, p := range s.store.pets {
		if p.Status == "adopted" {
			delete(s.store.pets, id)
			dropped++
		}
	}
	s.log.Printf("compacted the store: %d adopted pets dropped", dropped)
	return dropped
}
