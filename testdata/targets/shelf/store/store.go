// Package store keeps shelf's items in memory, the simple way: one slice,
// scanned for lookups and sorted for every listing. Every item created
// makes lists and lookups slower, as in many small services.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/kestrel-labs/slug"
)

// Item is one thing on the shelf.
type Item struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Slug     string   `json:"slug"`
	Price    int64    `json:"price"` // in the currency's smallest unit
	Currency string   `json:"currency"`
	Tags     []string `json:"tags"`
	Version  int      `json:"version"`
}

// Errors the API maps to statuses.
var (
	ErrNotFound  = errors.New("no such item")
	ErrDuplicate = errors.New("an item of that name exists")
)

// Store holds the items.
type Store struct {
	items []Item
	next  int64
}

// New returns an empty store.
func New() *Store { return &Store{} }

// Add stores a new item; names are unique (case-insensitively).
func (s *Store) Add(name string, price int64, currency string, tags []string) (Item, error) {
	for _, it := range s.items {
		if strings.EqualFold(it.Name, name) {
			return Item{}, ErrDuplicate
		}
	}
	s.next++
	it := Item{ID: s.next, Name: name, Slug: slug.Make(name), Price: price, Currency: currency, Tags: normTags(tags), Version: 1}
	s.items = append(s.items, it)
	return it, nil
}

// Get finds an item by id.
func (s *Store) Get(id int64) (Item, error) {
	i := s.index(id)
	if i < 0 {
		return Item{}, ErrNotFound
	}
	return s.items[i], nil
}

// Update replaces an item's fields.
func (s *Store) Update(id int64, name string, price int64, currency string, tags []string) (Item, error) {
	i := s.index(id)
	if i < 0 {
		return Item{}, ErrNotFound
	}
	for j, it := range s.items {
		if j != i && strings.EqualFold(it.Name, name) {
			return Item{}, ErrDuplicate
		}
	}
	it := &s.items[i]
	it.Name, it.Slug, it.Price, it.Currency, it.Tags = name, slug.Make(name), price, currency, normTags(tags)
	it.Version++
	return *it, nil
}

// Delete removes an item.
func (s *Store) Delete(id int64) error {
	i := s.index(id)
	if i < 0 {
		return ErrNotFound
	}
	s.items = append(s.items[:i], s.items[i+1:]...)
	return nil
}

func (s *Store) index(id int64) int {
	for i, it := range s.items {
		if it.ID == id {
			return i
		}
	}
	return -1
}

// Query selects and orders a page of items.
type Query struct {
	Tag           string
	Sort          string // "name", "price" or "id"
	Desc          bool
	Offset, Limit int
}

// List returns a page of the items matching q, how many match, and an
// entity tag of the whole matching list.
func (s *Store) List(q Query) (page []Item, total int, etag string) {
	all := make([]Item, 0, len(s.items))
	for _, it := range s.items {
		if q.Tag == "" || hasTag(it, q.Tag) {
			all = append(all, it)
		}
	}
	sort.SliceStable(all, less(all, q.Sort, q.Desc))
	etag = digest(all)
	total = len(all)
	if q.Offset >= total {
		return []Item{}, total, etag
	}
	end := min(total, q.Offset+q.Limit)
	return all[q.Offset:end], total, etag
}

// Search returns the items whose name or tags contain text, by id.
func (s *Store) Search(text string, limit int) []Item {
	text = strings.ToLower(text)
	out := []Item{}
	for _, it := range s.items {
		if strings.Contains(strings.ToLower(it.Name), text) || strings.Contains(strings.Join(it.Tags, " "), text) {
			out = append(out, it)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}

// Facets counts the items by tag and sums their prices by currency.
func (s *Store) Facets() (tags map[string]int, value map[string]int64) {
	tags, value = map[string]int{}, map[string]int64{}
	for _, it := range s.items {
		for _, t := range it.Tags {
			tags[t]++
		}
		value[it.Currency] += it.Price
	}
	return tags, value
}

// Len counts the items.
func (s *Store) Len() int { return len(s.items) }

func less(all []Item, key string, desc bool) func(i, j int) bool {
	var f func(a, b Item) bool
	switch key {
	case "price":
		f = func(a, b Item) bool { return a.Price < b.Price || a.Price == b.Price && a.ID < b.ID }
	case "id":
		f = func(a, b Item) bool { return a.ID < b.ID }
	default:
		f = func(a, b Item) bool {
			x, y := collate(a.Name), collate(b.Name)
			return x < y || x == y && a.ID < b.ID
		}
	}
	if desc {
		return func(i, j int) bool { return f(all[j], all[i]) }
	}
	return func(i, j int) bool { return f(all[i], all[j]) }
}

// collate is the sort key of a name: case and accents folded.
func collate(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'à', 'á', 'â', 'ä':
			return 'a'
		case 'è', 'é', 'ê', 'ë':
			return 'e'
		case 'ö', 'ó', 'ô':
			return 'o'
		case 'ü', 'ú':
			return 'u'
		}
		return r
	}, strings.ToLower(name))
}

func hasTag(it Item, tag string) bool {
	for _, t := range it.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

func normTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		dup := false
		for _, o := range out {
			dup = dup || o == t
		}
		if !dup {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// digest is an entity tag of a list of items: a hash of their JSON.
func digest(items []Item) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, it := range items {
		_ = enc.Encode(it)
	}
	return `"` + hex.EncodeToString(h.Sum(nil)[:8]) + `"`
}
