package gen

import (
	"maps"
	"slices"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// mergeAllOf folds s's allOf branches into one schema that generation can
// follow: tightest bounds, union of properties and required names, the first
// pattern and format. The result is checked against the original afterwards.
//
// Merges are remembered by schema: an allOf DAG (N_d_i allOf every
// N_(d+1)_j) has a number of paths exponential in its depth, but each of
// its schemas is merged once. The memory is shared by every generator and
// encoder, and forgotten when it grows past mergeCacheSize.
func mergeAllOf(s *openapi3.Schema) *openapi3.Schema {
	if s == nil || len(s.AllOf) == 0 {
		return s
	}
	return mergeMemo(s, newMergeCtx())
}

// mergeCtx is what one merge is in the middle of: schemas and pairs being
// merged, so that a merge that meets itself again (an allOf cycle, items or
// properties that refer back) ends there, leaving the schema as it is.
type mergeCtx struct {
	onPath map[*openapi3.Schema]bool
	pairs  map[[2]*openapi3.Schema]bool
}

func newMergeCtx() *mergeCtx {
	return &mergeCtx{onPath: map[*openapi3.Schema]bool{}, pairs: map[[2]*openapi3.Schema]bool{}}
}

const mergeCacheSize = 8192

var mergeCache = struct {
	sync.Mutex
	m map[*openapi3.Schema]*openapi3.Schema
}{m: map[*openapi3.Schema]*openapi3.Schema{}}

// mergeMemo merges s, remembering the result.
func mergeMemo(s *openapi3.Schema, mc *mergeCtx) *openapi3.Schema {
	if len(s.AllOf) == 0 || mc.onPath[s] {
		return s
	}
	mergeCache.Lock()
	m, ok := mergeCache.m[s]
	mergeCache.Unlock()
	if ok {
		return m
	}
	mc.onPath[s] = true
	m = mergeOnce(s, mc)
	delete(mc.onPath, s)
	mergeCache.Lock()
	if len(mergeCache.m) >= mergeCacheSize {
		clear(mergeCache.m)
	}
	mergeCache.m[s] = m
	mergeCache.Unlock()
	return m
}

// mergeHook, when set (by tests), is called at every merge.
var mergeHook func()

func mergeOnce(s *openapi3.Schema, mc *mergeCtx) *openapi3.Schema {
	if mergeHook != nil {
		mergeHook()
	}
	m := *s
	m.AllOf = nil
	m.Properties = maps.Clone(s.Properties)
	m.Required = slices.Clone(s.Required)
	for _, ref := range s.AllOf {
		if ref == nil || ref.Value == nil {
			continue
		}
		mergeInto(&m, mergeMemo(ref.Value, mc), mc)
	}
	return &m
}

// mergePair merges two schemas as allOf [a, b] would, without remembering
// the pair (its parts are remembered).
func mergePair(a, b *openapi3.SchemaRef, mc *mergeCtx) *openapi3.Schema {
	key := [2]*openapi3.Schema{a.Value, b.Value}
	if mc.pairs[key] {
		return a.Value
	}
	mc.pairs[key] = true
	defer delete(mc.pairs, key)
	return mergeOnce(&openapi3.Schema{AllOf: openapi3.SchemaRefs{a, b}}, mc)
}

func mergeInto(m, o *openapi3.Schema, mc *mergeCtx) {
	switch {
	case m.Type == nil || len(*m.Type) == 0:
		m.Type = o.Type
	case o.Type != nil && len(*o.Type) > 0:
		var both openapi3.Types
		for _, t := range *m.Type {
			if o.Type.Includes(t) || (t == openapi3.TypeNumber && o.Type.Includes(openapi3.TypeInteger)) {
				if t == openapi3.TypeNumber && o.Type.Includes(openapi3.TypeInteger) {
					t = openapi3.TypeInteger
				}
				both = append(both, t)
			}
		}
		if len(both) > 0 {
			m.Type = &both
		}
	}
	if len(o.Properties) > 0 && m.Properties == nil {
		m.Properties = openapi3.Schemas{}
	}
	for n, p := range o.Properties {
		if cur, ok := m.Properties[n]; ok && cur != nil && cur.Value != nil && p != nil && p.Value != nil && cur.Value != p.Value {
			m.Properties[n] = &openapi3.SchemaRef{Value: mergePair(cur, p, mc)}
		} else {
			m.Properties[n] = p
		}
	}
	for _, r := range o.Required {
		if !slices.Contains(m.Required, r) {
			m.Required = append(m.Required, r)
		}
	}
	if o.Min != nil && (m.Min == nil || *o.Min > *m.Min) {
		m.Min, m.ExclusiveMin = o.Min, o.ExclusiveMin
	}
	if o.Max != nil && (m.Max == nil || *o.Max < *m.Max) {
		m.Max, m.ExclusiveMax = o.Max, o.ExclusiveMax
	}
	if o.ExclusiveMin.Value != nil && (m.ExclusiveMin.Value == nil || *o.ExclusiveMin.Value > *m.ExclusiveMin.Value) {
		m.ExclusiveMin.Value = o.ExclusiveMin.Value
	}
	if o.ExclusiveMax.Value != nil && (m.ExclusiveMax.Value == nil || *o.ExclusiveMax.Value < *m.ExclusiveMax.Value) {
		m.ExclusiveMax.Value = o.ExclusiveMax.Value
	}
	if o.MultipleOf != nil && m.MultipleOf == nil {
		m.MultipleOf = o.MultipleOf
	}
	if o.MinLength > m.MinLength {
		m.MinLength = o.MinLength
	}
	if o.MaxLength != nil && (m.MaxLength == nil || *o.MaxLength < *m.MaxLength) {
		m.MaxLength = o.MaxLength
	}
	if o.MinItems > m.MinItems {
		m.MinItems = o.MinItems
	}
	if o.MaxItems != nil && (m.MaxItems == nil || *o.MaxItems < *m.MaxItems) {
		m.MaxItems = o.MaxItems
	}
	if o.MinProps > m.MinProps {
		m.MinProps = o.MinProps
	}
	if o.MaxProps != nil && (m.MaxProps == nil || *o.MaxProps < *m.MaxProps) {
		m.MaxProps = o.MaxProps
	}
	m.UniqueItems = m.UniqueItems || o.UniqueItems
	if m.Pattern == "" {
		m.Pattern = o.Pattern
	}
	if m.Format == "" {
		m.Format = o.Format
	}
	if m.Items == nil {
		m.Items = o.Items
	} else if o.Items != nil && o.Items.Value != nil && m.Items.Value != nil && o.Items.Value != m.Items.Value {
		m.Items = &openapi3.SchemaRef{Value: mergePair(m.Items, o.Items, mc)}
	}
	switch {
	case len(m.Enum) == 0:
		m.Enum = o.Enum
	case len(o.Enum) > 0:
		var both []any
		for _, a := range m.Enum {
			for _, b := range o.Enum {
				if jsonKey(normalize(a)) == jsonKey(normalize(b)) {
					both = append(both, a)
					break
				}
			}
		}
		if len(both) > 0 {
			m.Enum = both
		}
	}
	if m.Const == nil {
		m.Const = o.Const
	}
	if o.AdditionalProperties.Has != nil && !*o.AdditionalProperties.Has {
		m.AdditionalProperties = o.AdditionalProperties
	} else if m.AdditionalProperties.Has == nil && m.AdditionalProperties.Schema == nil {
		m.AdditionalProperties = o.AdditionalProperties
	}
	m.Nullable = m.Nullable && o.Nullable
	if len(m.OneOf) == 0 {
		m.OneOf = o.OneOf
	}
	if len(m.AnyOf) == 0 {
		m.AnyOf = o.AnyOf
	}
	if m.Not == nil {
		m.Not = o.Not
	}
	if m.Discriminator == nil {
		m.Discriminator = o.Discriminator
	}
	if m.Example == nil {
		m.Example = o.Example
	}
	if m.Default == nil {
		m.Default = o.Default
	}
	m.ReadOnly = m.ReadOnly || o.ReadOnly
	m.WriteOnly = m.WriteOnly || o.WriteOnly
}
