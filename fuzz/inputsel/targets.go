package inputsel

import (
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/fuzz/param"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// NameTarget is a free-form string parameter or top-level body property:
// a value a name could be.
type NameTarget struct {
	Key    string // "query.codec", "body/codec"
	Name   string
	Schema *openapi3.Schema
	words  nameWords
}

// Matches reports whether t is named like directory d ("codec" ↔ codecs/):
// its names are then worth sweeping at t.
func (t NameTarget) Matches(d *NameDir) bool { return t.words.match(d.base) > 0 }

// NameTargets lists the values of op that a name could be: strings the spec
// does not enumerate.
func NameTargets(op *spec.Operation) []NameTarget {
	var out []NameTarget
	for _, p := range op.Params {
		if p.In == openapi3.ParameterInCookie || !takesStrings(p.Schema) {
			continue
		}
		if k := p.Key(); param.FreeValued(op, k) {
			out = append(out, NameTarget{Key: k, Name: p.Name, Schema: p.Schema, words: newNameWords(p.Name)})
		}
	}
	if op.Body == nil || len(op.Body.Media) == 0 || op.Body.Media[0].Schema == nil {
		return out
	}
	props := op.Body.Media[0].Schema.Properties
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if ref := props[n]; ref != nil && takesStrings(ref.Value) && param.FreeValued(op, "body/"+n) {
			out = append(out, NameTarget{Key: "body/" + n, Name: n, Schema: ref.Value, words: newNameWords(n)})
		}
	}
	return out
}

// takesStrings reports whether s may be a string.
func takesStrings(s *openapi3.Schema) bool {
	if s == nil || s.Type == nil || len(*s.Type) == 0 {
		return s == nil || len(s.Properties) == 0 && s.Items == nil
	}
	return s.Type.Includes(openapi3.TypeString)
}
