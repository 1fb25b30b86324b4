package gen

import (
	"math"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/internal/limits"
)

type candidate struct {
	kind string
	make func() any
}

// boundary returns a conforming value at an edge of s: a bound, an exact
// length, the fewest or most items, only the required properties.
func (g *Generator) boundary(s *openapi3.Schema, name string) (v any, kind string, ok bool) {
	if s == nil {
		return nil, "", false
	}
	g.begin()
	defer func() {
		if g.end(g.where(name)) {
			v, kind, ok = nil, "", false
		}
	}()
	cands := g.boundaryCandidates(mergeAllOf(s), name)
	for _, i := range g.rng.Perm(len(cands)) {
		if g.overBudget() {
			break
		}
		v := cands[i].make()
		if g.Validate(s, v) == nil {
			return v, cands[i].kind, true
		}
	}
	return nil, "", false
}

func fixed(kind string, v any) candidate { return candidate{kind, func() any { return v }} }

func (g *Generator) boundaryCandidates(s *openapi3.Schema, name string) []candidate {
	var cands []candidate
	if len(s.Enum) > 0 {
		cands = append(cands, fixed("enum-first", normalize(s.Enum[0])), fixed("enum-last", normalize(s.Enum[len(s.Enum)-1])))
		return cands
	}
	for _, typ := range schemaTypes(s) {
		switch typ {
		case openapi3.TypeInteger:
			lo, hi := integerBounds(s)
			if s.Format == "int32" {
				lo, hi = formatClamp(s.Format, lo, hi)
			}
			cands = append(cands, numericEdges(s, lo, hi, true)...)
		case openapi3.TypeNumber:
			lo, hi := numberBounds(s)
			if s.ExclusiveMin.IsTrue() && !math.IsInf(lo, 0) {
				lo = math.Nextafter(lo, math.Inf(1))
			}
			if s.ExclusiveMax.IsTrue() && !math.IsInf(hi, 0) {
				hi = math.Nextafter(hi, math.Inf(-1))
			}
			if v := s.ExclusiveMin.Value; v != nil && *v >= lo {
				lo = math.Nextafter(*v, math.Inf(1))
			}
			if v := s.ExclusiveMax.Value; v != nil && *v <= hi {
				hi = math.Nextafter(*v, math.Inf(-1))
			}
			cands = append(cands, numericEdges(s, lo, hi, false)...)
		case openapi3.TypeBoolean:
			cands = append(cands, fixed("true", true), fixed("false", false))
		case openapi3.TypeNull:
			cands = append(cands, fixed("null", nil))
		case openapi3.TypeString:
			lo, hi := lengthBounds(s)
			if lo <= limits.GenLength.Int() && (lo > 0 || (s.Format == "" && s.Pattern == "")) {
				cands = append(cands, candidate{"min-length", func() any { return g.strLen(s, name, lo) }})
			}
			if hi != math.MaxInt && hi <= 4096 {
				cands = append(cands, candidate{"max-length", func() any { return g.strLen(s, name, hi) }})
			} else if s.Pattern == "" && s.Format == "" {
				cands = append(cands, fixed("long", strings.Repeat("w", 1024)))
			}
		case openapi3.TypeArray:
			cands = append(cands, candidate{"min-items", func() any {
				c := *s
				c.MaxItems = &c.MinItems
				return g.array(&c, name, 0)
			}})
			if s.MaxItems != nil && *s.MaxItems <= 64 {
				cands = append(cands, candidate{"max-items", func() any {
					c := *s
					c.MinItems = *s.MaxItems
					return g.array(&c, name, 0)
				}})
			}
		case openapi3.TypeObject:
			cands = append(cands, candidate{"required-only", func() any {
				c := *s
				c.Properties = openapi3.Schemas{}
				for _, r := range s.Required {
					if p, ok := s.Properties[r]; ok {
						c.Properties[r] = p
					}
				}
				f := false
				c.AdditionalProperties = openapi3.AdditionalProperties{Has: &f}
				return g.object(&c, 0)
			}}, candidate{"all-properties", func() any {
				c := *s
				c.Required = nil
				for n := range s.Properties {
					c.Required = append(c.Required, n)
				}
				return g.object(&c, 0)
			}})
		}
	}
	return cands
}

func numericEdges(s *openapi3.Schema, lo, hi float64, integer bool) []candidate {
	var cands []candidate
	snap := func(v float64, up bool) float64 {
		if m := s.MultipleOf; m != nil && *m > 0 {
			if up {
				return math.Ceil(v / *m) * *m
			}
			return math.Floor(v / *m) * *m
		}
		return v
	}
	if !math.IsInf(lo, 0) {
		cands = append(cands, fixed("min", snap(lo, true)))
	}
	if !math.IsInf(hi, 0) {
		cands = append(cands, fixed("max", snap(hi, false)))
	}
	if 0 >= lo && 0 <= hi {
		cands = append(cands, fixed("zero", 0.0))
	}
	if -1 >= lo && -1 <= hi {
		cands = append(cands, fixed("negative", -1.0))
	}
	if math.IsInf(hi, 1) {
		if integer {
			cands = append(cands, fixed("int32-max", float64(math.MaxInt32)), fixed("int53-max", float64(1<<53-1)))
		} else {
			cands = append(cands, fixed("huge", 1e300))
		}
	}
	if math.IsInf(lo, -1) {
		if integer {
			cands = append(cands, fixed("int32-min", float64(math.MinInt32)))
		} else {
			cands = append(cands, fixed("tiny-negative", -1e300))
		}
	}
	if !integer && 1e-9 >= lo && 1e-9 <= hi {
		cands = append(cands, fixed("epsilon", 1e-9))
	}
	return cands
}

// strLen generates a string of exactly n characters for s.
func (g *Generator) strLen(s *openapi3.Schema, name string, n int) string {
	if n > limits.GenLength.Int() {
		g.exceed(limits.GenLength)
		return ""
	}
	if s.Pattern != "" {
		if v, ok := g.matching(s.Pattern, n, n); ok {
			return v
		}
	}
	if v, ok := g.format(s.Format); ok && len(v) == n {
		return v
	}
	return g.plainString(n, n)
}
