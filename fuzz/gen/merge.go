package gen

import (
	"maps"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// mergeAllOf folds s's allOf branches into one schema that generation can
// follow: tightest bounds, union of properties and required names, the first
// pattern and format. The result is checked against the original afterwards.
func mergeAllOf(s *openapi3.Schema) *openapi3.Schema {
	return mergeDepth(s, 0)
}

func mergeDepth(s *openapi3.Schema, depth int) *openapi3.Schema {
	if len(s.AllOf) == 0 || depth > 8 {
		return s
	}
	m := *s
	m.AllOf = nil
	m.Properties = maps.Clone(s.Properties)
	m.Required = slices.Clone(s.Required)
	for _, ref := range s.AllOf {
		if ref == nil || ref.Value == nil {
			continue
		}
		mergeInto(&m, mergeDepth(ref.Value, depth+1), depth)
	}
	return &m
}

func mergeInto(m, o *openapi3.Schema, depth int) {
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
			m.Properties[n] = &openapi3.SchemaRef{Value: mergeDepth(&openapi3.Schema{AllOf: openapi3.SchemaRefs{cur, p}}, depth+1)}
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
		m.Items = &openapi3.SchemaRef{Value: mergeDepth(&openapi3.Schema{AllOf: openapi3.SchemaRefs{m.Items, o.Items}}, depth+1)}
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
