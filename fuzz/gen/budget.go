package gen

import (
	"maps"
	"slices"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/internal/limits"
)

// A spec is the target's to write, and some schemas cost more to satisfy
// than a value is worth: a minLength of four billion, an allOf DAG whose
// paths grow exponentially with its depth, a recursive oneOf where every
// level tries every branch. Each value is generated within a budget of
// steps (schema nodes visited, the same on every machine, so a seed still
// gives the same requests) and of time (a safety net); sizes that cannot
// be met within limits.GenLength and limits.GenItems are not attempted.
// A value over budget is not generated: the request goes without it, the
// limit is recorded, and an operation that needs it is marked OverBudget.

// bytesPerStep is what a generated string may hold per step it costs.
const bytesPerStep = 64

// valueBudget is the budget of the value being generated.
type valueBudget struct {
	depth    int // nested begin calls
	steps    int
	deadline time.Time
	ticks    int
	over     *limits.Limit // the limit reached, nil while within budget
}

// begin starts the budget of a value, unless one is running.
func (g *Generator) begin() {
	if g.b.depth == 0 {
		g.b = valueBudget{steps: g.maxSteps, deadline: time.Now().Add(g.maxTime)}
	}
	g.b.depth++
}

// end closes a begin; at the outermost one it records the limit reached at
// where, and reports whether the value went over budget.
func (g *Generator) end(where string) bool {
	g.b.depth--
	over := g.b.over
	if g.b.depth == 0 && over != nil {
		g.rec.Hit(*over, where)
	}
	return over != nil
}

// spend takes n steps of the running budget; false once it is spent (or
// its time is up). Without a running budget it always succeeds.
func (g *Generator) spend(n int) bool {
	if g.b.depth == 0 {
		return true
	}
	if g.b.over != nil {
		return false
	}
	g.b.steps -= n
	if g.b.steps < 0 {
		g.exceed(limits.GenSteps)
		return false
	}
	if g.b.ticks++; g.b.ticks%32 == 0 {
		return g.inTime()
	}
	return true
}

func (g *Generator) inTime() bool {
	if g.b.depth > 0 && g.b.over == nil && time.Now().After(g.b.deadline) {
		g.exceed(limits.GenTime)
	}
	return g.b.over == nil
}

// exceed marks the running value over budget (the first limit reached is
// the one recorded).
func (g *Generator) exceed(l limits.Limit) {
	if g.b.depth > 0 && g.b.over == nil {
		g.b.over = &l
	}
}

// overBudget reports whether the running value is over budget.
func (g *Generator) overBudget() bool { return g.b.over != nil }

// sizeLimit clamps a minimum size (minLength, minItems, minProperties) to
// what a value may hold; a minimum above it marks the value over budget.
func (g *Generator) sizeLimit(min uint64, l limits.Limit) int {
	if min > uint64(l.Value) {
		g.exceed(l)
		return l.Int()
	}
	return int(min)
}

// OverBudget reports whether a required value of the operation opID could
// not be generated within budget: its requests go without it, and the
// fuzzer may skip the operation.
func (g *Generator) OverBudget(opID string) bool { return g.overOps[opID] }

// maxAllOfSpan is how many schemas a validation may visit through allOf
// branches before the generator checks values against the merged schema
// instead: kin-openapi visits every path through an allOf DAG.
const maxAllOfSpan = 64

// checkSchema is what generated values are checked against: s itself, or a
// copy of it where each allOf that spans more than maxAllOfSpan schemas is
// merged (mergeAllOf), which validates the same values in all but the rare
// keywords mergeAllOf keeps only once (pattern, format). Copies are made
// once per schema.
func (g *Generator) checkSchema(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if t, ok := g.twins[s]; ok {
		return t
	}
	g.twins[s] = s // provisional: a schema that refers to itself sees the original
	src := s
	if len(s.AllOf) > 0 && g.allOfSpan(s, map[*openapi3.Schema]bool{}) > maxAllOfSpan {
		src = mergeAllOf(s)
	}
	c := *src
	changed := src != s
	twin := func(r *openapi3.SchemaRef) *openapi3.SchemaRef {
		if r == nil || r.Value == nil {
			return r
		}
		if t := g.checkSchema(r.Value); t != r.Value {
			changed = true
			return &openapi3.SchemaRef{Ref: r.Ref, Value: t}
		}
		return r
	}
	twins := func(rs openapi3.SchemaRefs) openapi3.SchemaRefs {
		out := rs
		for i, r := range rs {
			if t := twin(r); t != r {
				if len(out) > 0 && &out[0] == &rs[0] {
					out = slices.Clone(rs)
				}
				out[i] = t
			}
		}
		return out
	}
	c.AllOf, c.OneOf, c.AnyOf, c.PrefixItems = twins(c.AllOf), twins(c.OneOf), twins(c.AnyOf), twins(c.PrefixItems)
	c.Not, c.Items, c.Contains = twin(c.Not), twin(c.Items), twin(c.Contains)
	c.AdditionalProperties.Schema = twin(c.AdditionalProperties.Schema)
	cloned := false
	for n, p := range src.Properties {
		if t := twin(p); t != p {
			if !cloned {
				c.Properties, cloned = maps.Clone(src.Properties), true
			}
			c.Properties[n] = t
		}
	}
	if !changed {
		return s
	}
	g.twins[s] = &c
	return &c
}

// allOfSpan counts the schemas validating against s visits through allOf
// branches (every path through a DAG), stopping past maxAllOfSpan.
func (g *Generator) allOfSpan(s *openapi3.Schema, onPath map[*openapi3.Schema]bool) int {
	if s == nil || onPath[s] {
		return 1
	}
	onPath[s] = true
	defer delete(onPath, s)
	n := 1
	for _, r := range s.AllOf {
		if r != nil {
			n += g.allOfSpan(r.Value, onPath)
		}
		if n > maxAllOfSpan {
			break
		}
	}
	return n
}
