package gen

import (
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// field is a value inside a body, with the schema that describes it.
type field struct {
	path   []string
	schema *openapi3.Schema
}

func (f field) target() string {
	if len(f.path) == 0 {
		return "body"
	}
	return "body/" + strings.Join(f.path, "/")
}

// bodyFields lists the values of a body with their schemas, root first.
func (g *Generator) bodyFields(s *openapi3.Schema, v any) []field {
	var out []field
	var walk func(s *openapi3.Schema, v any, path []string, depth int)
	walk = func(s *openapi3.Schema, v any, path []string, depth int) {
		if s == nil || len(out) >= 64 {
			return
		}
		out = append(out, field{path: path, schema: s})
		if depth >= 4 {
			return
		}
		m := mergeAllOf(s)
		if branches := append(append(openapi3.SchemaRefs{}, m.OneOf...), m.AnyOf...); len(branches) > 0 {
			for _, br := range branches {
				if br != nil && br.Value != nil && g.visit(br.Value, v) == nil {
					m = mergePair(&openapi3.SchemaRef{Value: m}, br, newMergeCtx())
					break
				}
			}
		}
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				var ps *openapi3.Schema
				if r := m.Properties[k]; r != nil {
					ps = r.Value
				} else if r := m.AdditionalProperties.Schema; r != nil {
					ps = r.Value
				}
				if ps != nil {
					walk(ps, x[k], append(append([]string(nil), path...), k), depth+1)
				}
			}
		case []any:
			if len(x) > 0 && m.Items != nil {
				walk(m.Items.Value, x[0], append(append([]string(nil), path...), "0"), depth+1)
			}
		}
	}
	walk(s, v, nil, 0)
	return out
}

// setAt returns root with the value at path replaced by nv (copying on the way).
func setAt(root any, path []string, nv any) any {
	if len(path) == 0 {
		return nv
	}
	switch x := root.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, v := range x {
			c[k] = v
		}
		c[path[0]] = setAt(x[path[0]], path[1:], nv)
		return c
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil || i >= len(x) {
			return root
		}
		c := append([]any(nil), x...)
		c[i] = setAt(x[i], path[1:], nv)
		return c
	}
	return root
}

// target is a parameter index or a body field.
type target struct {
	param int
	field *field
}

func (g *Generator) targets(op *spec.Operation, in *Input, onlySet bool) []target {
	var out []target
	for i, pv := range in.Params {
		if !onlySet || pv.Set {
			out = append(out, target{param: i})
		}
	}
	if in.Media != "" && in.RawBody == nil {
		if m := media(op, in.Media); m != nil {
			for _, f := range g.bodyFields(m.Schema, in.Body) {
				f := f
				out = append(out, target{param: -1, field: &f})
			}
		}
	}
	return out
}

func (g *Generator) applyBoundary(op *spec.Operation, in *Input) (Intent, bool) {
	g.at = op.ID
	ts := g.targets(op, in, false)
	for _, i := range g.rng.Perm(len(ts)) {
		t := ts[i]
		if t.field == nil {
			pv := &in.Params[t.param]
			p := paramByKey(op, pv.Key())
			if p == nil {
				continue
			}
			if v, kind, ok := g.boundary(p.Schema, p.Name); ok {
				pv.Value, pv.Set = v, true
				return Intent{Phase: Boundary, Kind: kind, Target: pv.Key()}, true
			}
			continue
		}
		if v, kind, ok := g.boundary(t.field.schema, lastName(t.field.path)); ok {
			in.Body = setAt(in.Body, t.field.path, v)
			return Intent{Phase: Boundary, Kind: kind, Target: t.field.target()}, true
		}
	}
	return Intent{}, false
}

func lastName(path []string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if _, err := strconv.Atoi(path[i]); err != nil {
			return path[i]
		}
	}
	return ""
}

// applyInvalid breaks one thing in the input.
func (g *Generator) applyInvalid(op *spec.Operation, in *Input) (Intent, bool) {
	g.at = op.ID
	type technique struct {
		weight int
		apply  func() (Intent, bool)
	}
	var techs []technique
	if len(in.Params) > 0 {
		techs = append(techs, technique{3, func() (Intent, bool) {
			for _, i := range g.rng.Perm(len(in.Params)) {
				pv := &in.Params[i]
				p := paramByKey(op, pv.Key())
				if v, kind, ok := g.invalid(p.Schema, p.Name, true); ok {
					pv.Value, pv.Set = v, true
					return Intent{Phase: Invalid, Kind: kind, Target: pv.Key(), SchemaInvalid: true}, true
				}
			}
			return Intent{}, false
		}})
		techs = append(techs, technique{1, func() (Intent, bool) {
			for _, i := range g.rng.Perm(len(in.Params)) {
				pv := &in.Params[i]
				p := paramByKey(op, pv.Key())
				if p.Required && p.In != openapi3.ParameterInPath && pv.Set {
					pv.Set = false
					return Intent{Phase: Invalid, Kind: "missing-required", Target: pv.Key(), SchemaInvalid: true}, true
				}
			}
			return Intent{}, false
		}})
		techs = append(techs, technique{2, func() (Intent, bool) {
			i := g.rng.IntN(len(in.Params))
			pv := &in.Params[i]
			p := paramByKey(op, pv.Key())
			v := hostileStrings[g.rng.IntN(len(hostileStrings))]
			pv.Value, pv.Set = v, true
			return Intent{Phase: Invalid, Kind: "special-chars", Target: pv.Key(), SchemaInvalid: g.Validate(p.Schema, Textualize(p.Schema, v)) != nil}, true
		}})
	}
	if m := media(op, in.Media); m != nil && in.RawBody == nil {
		techs = append(techs, technique{3, func() (Intent, bool) {
			fields := g.bodyFields(m.Schema, in.Body)
			for _, i := range g.rng.Perm(len(fields)) {
				f := fields[i]
				if v, kind, ok := g.invalid(f.schema, lastName(f.path), false); ok {
					body := setAt(in.Body, f.path, v)
					if g.Validate(m.Schema, body) != nil {
						in.Body = body
						return Intent{Phase: Invalid, Kind: kind, Target: f.target(), SchemaInvalid: true}, true
					}
				}
			}
			return Intent{}, false
		}})
		techs = append(techs, technique{1, func() (Intent, bool) {
			var strs []field
			for _, f := range g.bodyFields(m.Schema, in.Body) {
				if schemaTypes(mergeAllOf(f.schema))[0] == openapi3.TypeString {
					strs = append(strs, f)
				}
			}
			if len(strs) == 0 {
				return Intent{}, false
			}
			f := strs[g.rng.IntN(len(strs))]
			in.Body = setAt(in.Body, f.path, hostileStrings[g.rng.IntN(len(hostileStrings))])
			return Intent{Phase: Invalid, Kind: "special-chars", Target: f.target(), SchemaInvalid: g.Validate(m.Schema, in.Body) != nil}, true
		}})
		if strings.Contains(strings.ToLower(m.Type), "json") {
			techs = append(techs, technique{1, func() (Intent, bool) {
				in.RawBody = []byte(`{"whittle": [1, 2,`)
				return Intent{Phase: Invalid, Kind: "malformed-body", Target: "body", SchemaInvalid: true}, true
			}})
		}
	}
	if op.Body != nil && op.Body.Required && in.Media != "" {
		techs = append(techs, technique{1, func() (Intent, bool) {
			in.Media, in.Body, in.RawBody = "", nil, nil
			return Intent{Phase: Invalid, Kind: "missing-body", Target: "body", SchemaInvalid: true}, true
		}})
	}
	total := 0
	for _, t := range techs {
		total += t.weight
	}
	for len(techs) > 0 && total > 0 {
		x := g.rng.IntN(total)
		i := 0
		for ; x >= techs[i].weight; i++ {
			x -= techs[i].weight
		}
		if intent, ok := techs[i].apply(); ok {
			return intent, true
		}
		total -= techs[i].weight
		techs = append(techs[:i], techs[i+1:]...)
	}
	return Intent{}, false
}

// Mutate changes one thing in a copy of in, in a phase drawn from the mix.
func (g *Generator) Mutate(op *spec.Operation, in Input) (Input, Intent) {
	g.at = op.ID
	out := in.Clone()
	switch g.PickPhase() {
	case Boundary:
		if intent, ok := g.applyBoundary(op, &out); ok {
			return out, intent
		}
	case Invalid:
		if intent, ok := g.applyInvalid(op, &out); ok {
			return out, intent
		}
	}
	out.RawBody = nil
	switch x := g.rng.IntN(10); {
	case x < 4 && len(out.Params) > 0:
		i := g.rng.IntN(len(out.Params))
		pv := &out.Params[i]
		p := paramByKey(op, pv.Key())
		pv.Value, pv.Set = g.paramValue(p), true
		return out, Intent{Phase: Valid, Kind: "regenerate", Target: pv.Key()}
	case x < 6 && len(out.Params) > 0:
		var optional []int
		for i, pv := range out.Params {
			if p := paramByKey(op, pv.Key()); p != nil && !p.Required {
				optional = append(optional, i)
			}
		}
		if len(optional) > 0 {
			pv := &out.Params[optional[g.rng.IntN(len(optional))]]
			if pv.Set {
				pv.Set = false
				return out, Intent{Phase: Valid, Kind: "drop-optional", Target: pv.Key()}
			}
			pv.Value, pv.Set = g.paramValue(paramByKey(op, pv.Key())), true
			return out, Intent{Phase: Valid, Kind: "add-optional", Target: pv.Key()}
		}
	case x < 9 && out.Media != "":
		if m := media(op, out.Media); m != nil {
			fields := g.bodyFields(m.Schema, out.Body)
			if len(fields) > 0 {
				f := fields[g.rng.IntN(len(fields))]
				g.begin()
				for range 3 {
					v, _ := g.valid(f.schema, lastName(f.path), len(f.path))
					body := setAt(out.Body, f.path, v)
					if !g.overBudget() && g.Validate(m.Schema, body) == nil {
						g.end(g.where(f.target()))
						out.Body = body
						return out, Intent{Phase: Valid, Kind: "regenerate", Target: f.target()}
					}
				}
				g.end(g.where(f.target()))
			}
		}
	}
	fresh, _ := g.Input(op, Valid)
	return fresh, Intent{Phase: Valid, Kind: "fresh"}
}

// SortedParamKeys lists an input's set parameters, for stable output.
func SortedParamKeys(in Input) []string {
	var keys []string
	for _, p := range in.Params {
		if p.Set {
			keys = append(keys, p.Key())
		}
	}
	sort.Strings(keys)
	return keys
}
