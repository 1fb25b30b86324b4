package gen

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

const (
	perNameCap = 32
	generalCap = 256
	// nameCap bounds the names values are remembered under: answers may
	// carry keys chosen by the fuzzer's own inputs.
	nameCap = 4096
)

// Dictionary holds values worth reusing: from the spec's examples, enums and
// defaults, and from the target's answers. Values are remembered by the
// (normalised) name they appeared under and in a general pool. Safe for
// concurrent use; insertion order is kept so picks are deterministic.
type Dictionary struct {
	mu      sync.Mutex
	byName  map[string][]any
	general []any
	seen    map[string]bool
}

// NewDictionary returns an empty dictionary.
func NewDictionary() *Dictionary {
	return &Dictionary{byName: map[string][]any{}, seen: map[string]bool{}}
}

// NormalizeName lowercases and drops separators: "pet_id", "petId" and
// "Pet-ID" all become "petid".
func NormalizeName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Add remembers a scalar value under name ("" for the general pool only).
func (d *Dictionary) Add(name string, v any) {
	switch x := v.(type) {
	case string:
		if len(x) == 0 || len(x) > 256 {
			return
		}
	case float64, bool:
	case int:
		v = float64(x)
	case int64:
		v = float64(x)
	default:
		return
	}
	key := NormalizeName(name)
	id := key + "\x00" + jsonKey(v)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[id] {
		return
	}
	if key != "" {
		if _, known := d.byName[key]; known || len(d.byName) < nameCap {
			d.seen[id] = true
			d.byName[key] = d.pushCapped(key, d.byName[key], v, perNameCap)
		}
	}
	gid := "\x00" + jsonKey(v)
	if !d.seen[gid] {
		d.seen[gid] = true
		d.general = d.pushCapped("", d.general, v, generalCap)
	}
}

// pushCapped appends v to the list of key. Past twice limit it keeps the
// newest limit values and forgets the others were seen, so that seen stays
// as small as the lists (dropping in batches keeps the copying cheap).
func (d *Dictionary) pushCapped(key string, list []any, v any, limit int) []any {
	list = append(list, v)
	if len(list) > 2*limit {
		for _, old := range list[:len(list)-limit] {
			delete(d.seen, key+"\x00"+jsonKey(old))
		}
		list = slices.Clone(list[len(list)-limit:])
	}
	return list
}

// Pick returns a value remembered under name, most often a recent one.
func (d *Dictionary) Pick(rng *rand.Rand, name string) (any, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	list := d.byName[NormalizeName(name)]
	if len(list) == 0 {
		return nil, false
	}
	if rng.IntN(2) == 0 {
		return list[len(list)-1], true
	}
	return list[rng.IntN(len(list))], true
}

// PickAny returns a value from the general pool.
func (d *Dictionary) PickAny(rng *rand.Rand) (any, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.general) == 0 {
		return nil, false
	}
	return d.general[rng.IntN(len(d.general))], true
}

// Values returns the values remembered under name, oldest first.
func (d *Dictionary) Values(name string) []any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]any(nil), d.byName[NormalizeName(name)]...)
}

// Len counts the values in the general pool.
func (d *Dictionary) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.general)
}

// AddJSON remembers the scalars of a JSON document under their keys.
func (d *Dictionary) AddJSON(body []byte) {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	d.addTree("", v, 0)
}

// AddValue remembers the scalars of a decoded JSON value under their keys.
func (d *Dictionary) AddValue(v any) { d.addTree("", v, 0) }

func (d *Dictionary) addTree(name string, v any, depth int) {
	if depth > 8 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			d.addTree(k, x[k], depth+1)
		}
	case []any:
		for i, e := range x {
			if i >= 16 {
				break
			}
			d.addTree(name, e, depth+1)
		}
	default:
		d.Add(name, v)
	}
}

// AddSpec remembers the examples, enum values and defaults of every parameter
// and body schema of s.
func (d *Dictionary) AddSpec(s *spec.Spec) {
	seen := map[*openapi3.Schema]bool{}
	for _, op := range s.Operations {
		for _, p := range op.Params {
			for _, ex := range p.Examples {
				d.addTree(p.Name, normalize(ex), 0)
			}
			d.addSchema(p.Name, p.Schema, seen, 0)
		}
		if op.Body != nil {
			for _, m := range op.Body.Media {
				for _, ex := range m.Examples {
					d.addTree("", normalize(ex), 0)
				}
				d.addSchema("", m.Schema, seen, 0)
			}
		}
	}
}

func (d *Dictionary) addSchema(name string, s *openapi3.Schema, seen map[*openapi3.Schema]bool, depth int) {
	if s == nil || seen[s] || depth > 8 {
		return
	}
	seen[s] = true
	for _, v := range s.Enum {
		d.Add(name, normalize(v))
	}
	for _, v := range []any{s.Example, s.Default, s.Const} {
		if v != nil {
			d.addTree(name, normalize(v), 0)
		}
	}
	for _, v := range s.Examples {
		d.addTree(name, normalize(v), 0)
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if r := s.Properties[n]; r != nil {
			d.addSchema(n, r.Value, seen, depth+1)
		}
	}
	if s.Items != nil {
		d.addSchema(name, s.Items.Value, seen, depth+1)
	}
	for _, list := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, r := range list {
			if r != nil {
				d.addSchema(name, r.Value, seen, depth+1)
			}
		}
	}
}
