package gen

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/internal/limits"
)

// valid generates a value meant to conform to s, and the technique used.
// Callers check conformance; the generator aims but does not promise.
func (g *Generator) valid(s *openapi3.Schema, name string, depth int) (any, string) {
	if s == nil {
		return g.plainString(0, 8), "random"
	}
	if !g.spend(1) {
		return nil, "over-budget"
	}
	if depth > 2*g.maxDepth+4 {
		return nil, "too-deep"
	}
	if s.Always != nil {
		return g.plainString(1, 8), "random"
	}
	if s.Const != nil {
		return normalize(s.Const), "const"
	}
	if len(s.Enum) > 0 {
		return normalize(s.Enum[g.rng.IntN(len(s.Enum))]), "enum"
	}
	if g.rng.Float64() < g.exampleBias {
		if v, ok := g.example(s); ok {
			return v, "example"
		}
	}
	if name != "" {
		switch x := g.rng.Float64(); {
		case x < 0.25:
			if v, ok := g.dict.Pick(g.rng, name); ok && g.Validate(s, v) == nil {
				return v, "dictionary"
			}
		case x < 0.28:
			// Values seen anywhere (answers, directory entries) for any name.
			if v, ok := g.dict.PickAny(g.rng); ok && g.Validate(s, v) == nil {
				return v, "dictionary"
			}
		case x < 0.38:
			// Names that exist where the target looks names up.
			if v, ok := g.listedName(s, name); ok {
				return v, "listed-name"
			}
		}
	}
	if len(s.AllOf) > 0 {
		return g.valid(mergeAllOf(s), name, depth)
	}
	if len(s.OneOf) > 0 || len(s.AnyOf) > 0 {
		return g.validXOf(s, name, depth)
	}
	if s.Not != nil && s.Not.Value != nil {
		base := *s
		base.Not = nil
		var v any
		for range 16 {
			v, _ = g.valid(&base, name, depth)
			if g.overBudget() || g.visit(s.Not.Value, v) != nil {
				break
			}
		}
		return v, "random"
	}
	types := schemaTypes(s)
	typ := types[g.rng.IntN(len(types))]
	if (s.Nullable || s.Type.IncludesNull()) && g.rng.Float64() < 0.05 {
		typ = openapi3.TypeNull
	}
	switch typ {
	case openapi3.TypeNull:
		return nil, "null"
	case openapi3.TypeBoolean:
		return g.rng.IntN(2) == 0, "random"
	case openapi3.TypeInteger:
		return g.integer(s), "random"
	case openapi3.TypeNumber:
		return g.number(s), "random"
	case openapi3.TypeArray:
		return g.array(s, name, depth), "random"
	case openapi3.TypeObject:
		return g.object(s, depth), "random"
	}
	return g.str(s, name), "random"
}

// example returns a conforming example, example list entry or default of s.
func (g *Generator) example(s *openapi3.Schema) (any, bool) {
	var cands []any
	if s.Example != nil {
		cands = append(cands, s.Example)
	}
	cands = append(cands, s.Examples...)
	if s.Default != nil {
		cands = append(cands, s.Default)
	}
	if len(cands) == 0 {
		return nil, false
	}
	start := g.rng.IntN(len(cands))
	for i := range cands {
		v := normalize(cands[(start+i)%len(cands)])
		if g.Validate(s, v) == nil {
			return v, true
		}
	}
	return nil, false
}

// schemaTypes lists the types s permits, inferring them from keywords when
// "type" is absent.
func schemaTypes(s *openapi3.Schema) []string {
	if s.Type != nil && len(*s.Type) > 0 {
		var out []string
		for _, t := range *s.Type {
			if t != openapi3.TypeNull {
				out = append(out, t)
			}
		}
		if len(out) == 0 {
			return []string{openapi3.TypeNull}
		}
		return out
	}
	switch {
	case len(s.Properties) > 0 || len(s.Required) > 0 || s.AdditionalProperties.Schema != nil || s.MinProps > 0:
		return []string{openapi3.TypeObject}
	case s.Items != nil || s.MinItems > 0 || s.MaxItems != nil || len(s.PrefixItems) > 0:
		return []string{openapi3.TypeArray}
	case s.Format == "int32" || s.Format == "int64":
		return []string{openapi3.TypeInteger}
	case s.Min != nil || s.Max != nil || s.MultipleOf != nil || s.Format == "float" || s.Format == "double":
		return []string{openapi3.TypeNumber}
	}
	return []string{openapi3.TypeString}
}

func (g *Generator) validXOf(s *openapi3.Schema, name string, depth int) (any, string) {
	base := *s
	branches := s.OneOf
	exclusive := true
	if len(branches) == 0 {
		branches, exclusive = s.AnyOf, false
	}
	base.OneOf, base.AnyOf = nil, nil
	if len(s.OneOf) > 0 && len(s.AnyOf) > 0 {
		base.AnyOf = s.AnyOf // both: keep anyOf for the post-check only
	}
	order := g.rng.Perm(len(branches))
	var last any
	for _, i := range order {
		br := branches[i]
		if br == nil || br.Value == nil {
			continue
		}
		key := branchKey{s, i}
		m, ok := g.branches[key]
		if !ok {
			m = mergePair(&openapi3.SchemaRef{Value: &base}, br, newMergeCtx())
			g.branches[key] = m
		}
		for range 3 {
			if g.overBudget() {
				return nil, "over-budget"
			}
			v, _ := g.valid(m, name, depth+1)
			if obj, ok := v.(map[string]any); ok && s.Discriminator != nil && s.Discriminator.PropertyName != "" {
				obj[s.Discriminator.PropertyName] = discriminatorValue(s.Discriminator, br)
			}
			last = v
			if !exclusive {
				return v, "random"
			}
			n := 0
			for _, other := range branches {
				if other != nil && other.Value != nil && g.visit(other.Value, v) == nil {
					n++
				}
			}
			if n == 1 {
				return v, "random"
			}
		}
	}
	return last, "random"
}

// branchKey is one branch of a oneOf or anyOf, merged with the rest of
// its schema once (Generator.branches).
type branchKey struct {
	s *openapi3.Schema
	i int
}

func discriminatorValue(d *openapi3.Discriminator, br *openapi3.SchemaRef) string {
	keys := make([]string, 0, len(d.Mapping))
	for k := range d.Mapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d.Mapping[k].Ref == br.Ref || (br.Ref != "" && refName(d.Mapping[k].Ref) == refName(br.Ref)) {
			return k
		}
	}
	return refName(br.Ref)
}

func refName(ref string) string {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == '/' {
			return ref[i+1:]
		}
	}
	return ref
}

// integerBounds returns inclusive integer bounds (±Inf when open).
func integerBounds(s *openapi3.Schema) (lo, hi float64) {
	lo, hi = numberBounds(s)
	if s.Min != nil && s.ExclusiveMin.IsTrue() && lo == math.Ceil(lo) {
		lo++
	}
	if s.Max != nil && s.ExclusiveMax.IsTrue() && hi == math.Floor(hi) {
		hi--
	}
	if v := s.ExclusiveMin.Value; v != nil && math.Floor(*v)+1 > lo {
		lo = math.Floor(*v) + 1
	}
	if v := s.ExclusiveMax.Value; v != nil && math.Ceil(*v)-1 < hi {
		hi = math.Ceil(*v) - 1
	}
	return math.Ceil(lo), math.Floor(hi)
}

// formatClamp narrows integer bounds to what the format (and float64) holds.
func formatClamp(format string, lo, hi float64) (float64, float64) {
	if format == "int32" {
		return math.Max(lo, math.MinInt32), math.Min(hi, math.MaxInt32)
	}
	return math.Max(lo, -(1 << 53)), math.Min(hi, 1<<53)
}

// numberBounds returns the inclusive minimum and maximum keywords.
func numberBounds(s *openapi3.Schema) (lo, hi float64) {
	lo, hi = math.Inf(-1), math.Inf(1)
	if s.Min != nil {
		lo = *s.Min
	}
	if s.Max != nil {
		hi = *s.Max
	}
	return lo, hi
}

// window narrows open bounds to a small, likely range.
func (g *Generator) window(lo, hi float64) (float64, float64) {
	switch {
	case math.IsInf(lo, -1) && math.IsInf(hi, 1):
		if g.rng.IntN(4) == 0 {
			return -1000, 1000
		}
		return 0, 100
	case math.IsInf(lo, -1):
		return hi - 100, hi
	case math.IsInf(hi, 1):
		return lo, lo + 100
	}
	return lo, hi
}

func (g *Generator) integer(s *openapi3.Schema) float64 {
	lo, hi := integerBounds(s)
	lo, hi = g.window(lo, hi)
	lo, hi = formatClamp(s.Format, lo, hi)
	if m := s.MultipleOf; m != nil && *m > 0 {
		klo, khi := math.Ceil(lo / *m), math.Floor(hi / *m)
		if klo <= khi {
			return (klo + math.Floor(g.rng.Float64()*(khi-klo+1))) * *m
		}
	}
	if hi < lo {
		return lo
	}
	return lo + math.Floor(g.rng.Float64()*(hi-lo+1))
}

func (g *Generator) number(s *openapi3.Schema) float64 {
	lo, hi := numberBounds(s)
	exLo := s.ExclusiveMin.IsTrue()
	exHi := s.ExclusiveMax.IsTrue()
	if v := s.ExclusiveMin.Value; v != nil && *v >= lo {
		lo, exLo = *v, true
	}
	if v := s.ExclusiveMax.Value; v != nil && *v <= hi {
		hi, exHi = *v, true
	}
	lo, hi = g.window(lo, hi)
	if m := s.MultipleOf; m != nil && *m > 0 {
		klo, khi := math.Ceil(lo / *m), math.Floor(hi / *m)
		if exLo && klo**m <= lo {
			klo++
		}
		if exHi && khi**m >= hi {
			khi--
		}
		if klo <= khi {
			return (klo + math.Floor(g.rng.Float64()*(khi-klo+1))) * *m
		}
	}
	for range 8 {
		v := lo + g.rng.Float64()*(hi-lo)
		if r := math.Round(v*100) / 100; r >= lo && r <= hi {
			v = r
		}
		if (!exLo || v > lo) && (!exHi || v < hi) && v >= lo && v <= hi {
			return v
		}
	}
	return (lo + hi) / 2
}

func (g *Generator) array(s *openapi3.Schema, name string, depth int) []any {
	minItems := g.sizeLimit(s.MinItems, limits.GenItems)
	if g.overBudget() {
		return nil
	}
	maxItems := minItems + 3
	if s.MaxItems != nil && *s.MaxItems < uint64(maxItems) {
		maxItems = int(*s.MaxItems)
	}
	if depth >= g.maxDepth {
		maxItems = minItems
	}
	if maxItems < minItems {
		maxItems = minItems
	}
	n := minItems + g.rng.IntN(maxItems-minItems+1)
	if n == 0 && minItems == 0 && depth == 0 && maxItems > 0 && g.rng.IntN(3) > 0 {
		n = 1 // prefer non-empty top-level arrays
	}
	out := make([]any, 0, n)
	seen := map[string]bool{}
	for i, attempts := 0, 0; len(out) < n && attempts < n*8+8 && !g.overBudget(); attempts++ {
		var item any
		if i < len(s.PrefixItems) && s.PrefixItems[i] != nil {
			item, _ = g.valid(s.PrefixItems[i].Value, name, depth+1)
		} else if s.Items != nil {
			item, _ = g.valid(s.Items.Value, name, depth+1)
		} else {
			item = g.plainString(1, 8)
		}
		if s.UniqueItems {
			k := jsonKey(item)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, item)
		i++
	}
	if c := s.Contains; c != nil && c.Value != nil {
		found := slices.ContainsFunc(out, func(v any) bool { return g.visit(c.Value, v) == nil })
		if !found {
			v, _ := g.valid(c.Value, name, depth+1)
			if len(out) > 0 && (s.MaxItems == nil || len(out) >= int(*s.MaxItems)) {
				out[len(out)-1] = v
			} else {
				out = append(out, v)
			}
		}
	}
	return out
}

func (g *Generator) object(s *openapi3.Schema, depth int) map[string]any {
	out := map[string]any{}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	maxProps := math.MaxInt
	if s.MaxProps != nil && *s.MaxProps < math.MaxInt32 {
		maxProps = int(*s.MaxProps)
	}
	minProps := uint64(g.sizeLimit(s.MinProps, limits.GenItems))
	optional := 0.6
	if depth >= g.maxDepth {
		optional = 0
	}
	add := func(n string, ps *openapi3.Schema) {
		v, _ := g.valid(ps, n, depth+1)
		out[n] = v
	}
	for _, n := range names {
		ref := s.Properties[n]
		if ref == nil || ref.Value == nil || ref.Value.ReadOnly {
			continue
		}
		if required[n] || (len(out) < maxProps-len(s.Required) && g.rng.Float64() < optional) {
			add(n, ref.Value)
		}
	}
	extra := s.AdditionalProperties.Schema
	allowExtra := s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has
	for _, r := range s.Required {
		if _, ok := out[r]; ok {
			continue
		}
		if ref := s.Properties[r]; ref != nil && ref.Value != nil && ref.Value.ReadOnly {
			continue
		}
		if extra != nil && extra.Value != nil {
			add(r, extra.Value)
		} else {
			out[r] = g.plainString(1, 8)
		}
	}
	for k, deps := range s.DependentRequired {
		if _, ok := out[k]; ok {
			for _, d := range deps {
				if _, ok := out[d]; !ok {
					if ref := s.Properties[d]; ref != nil && ref.Value != nil {
						add(d, ref.Value)
					} else {
						out[d] = g.plainString(1, 8)
					}
				}
			}
		}
	}
	// Fill up to minProperties with optional then additional properties.
	for _, n := range names {
		if uint64(len(out)) >= minProps || g.overBudget() {
			break
		}
		if _, ok := out[n]; !ok && s.Properties[n] != nil && s.Properties[n].Value != nil {
			add(n, s.Properties[n].Value)
		}
	}
	addExtra := allowExtra && (extra != nil || s.AdditionalProperties.Has != nil) && depth < g.maxDepth && g.rng.IntN(5) == 0
	for i := 0; allowExtra && (uint64(len(out)) < minProps || addExtra) && i < 16 && !g.overBudget(); i++ {
		n := fmt.Sprintf("extra%d", i)
		if _, ok := out[n]; ok {
			continue
		}
		if extra != nil && extra.Value != nil {
			add(n, extra.Value)
		} else {
			out[n] = g.plainString(1, 8)
		}
		addExtra = false
	}
	return out
}

func jsonKey(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
