package gen

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
)

// schemaFrom builds a schema from fuzz bytes: a type, constraints and nested
// schemas, within what the generator promises to satisfy.
type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *byteReader) flag() bool { return r.next()&1 == 1 }

func ptrF(v float64) *float64 { return &v }
func ptrU(v uint64) *uint64   { return &v }

var fuzzPatterns = []string{"", "^[a-z]{2,5}$", "[0-9]+", `^\d{3}-[A-Z]{2}$`, "^(foo|bar)+$", "^(?!x)[a-z]{3}$", "^.{4,}$"}
var fuzzFormats = []string{"", "date", "date-time", "uuid", "email", "ipv4", "ipv6", "byte", "binary", "hostname", "uri"}

func schemaFrom(r *byteReader, depth int) *openapi3.Schema {
	s := &openapi3.Schema{}
	kind := r.next() % 8
	if depth > 3 {
		kind %= 4
	}
	switch kind {
	case 0:
		s.Type = &openapi3.Types{"string"}
		if r.flag() {
			s.MinLength = uint64(r.next() % 8)
		}
		if r.flag() {
			s.MaxLength = ptrU(s.MinLength + uint64(r.next()%16))
		}
		if r.flag() {
			s.Pattern = fuzzPatterns[int(r.next())%len(fuzzPatterns)]
			s.MinLength, s.MaxLength = 0, nil
		} else if r.flag() {
			s.Format = fuzzFormats[int(r.next())%len(fuzzFormats)]
			s.MinLength, s.MaxLength = 0, nil
		}
	case 1:
		s.Type = &openapi3.Types{"integer"}
		lo := float64(int8(r.next()))
		if r.flag() {
			s.Min = ptrF(lo)
			s.ExclusiveMin = openapi3.ExclusiveBound{Bool: openapi3.Ptr(r.flag())}
		}
		if r.flag() {
			s.Max = ptrF(lo + 8 + float64(r.next())) // wide enough for multipleOf and exclusive bounds
			s.ExclusiveMax = openapi3.ExclusiveBound{Bool: openapi3.Ptr(r.flag())}
		}
		if r.flag() {
			s.MultipleOf = ptrF(float64(1 + r.next()%3))
		}
	case 2:
		s.Type = &openapi3.Types{"number"}
		if r.flag() {
			s.Min = ptrF(float64(int8(r.next())) / 4)
		}
		if r.flag() {
			base := 0.0
			if s.Min != nil {
				base = *s.Min
			}
			s.Max = ptrF(base + 1 + float64(r.next())/8)
		}
	case 3:
		if r.flag() {
			s.Enum = []any{"a", 1.0, true}
		} else {
			s.Type = &openapi3.Types{"boolean"}
		}
	case 4, 5:
		s.Type = &openapi3.Types{"array"}
		s.Items = &openapi3.SchemaRef{Value: schemaFrom(r, depth+1)}
		s.MinItems = uint64(r.next() % 3)
		if r.flag() {
			s.MaxItems = ptrU(s.MinItems + uint64(r.next()%3))
		}
	default:
		s.Type = &openapi3.Types{"object"}
		s.Properties = openapi3.Schemas{}
		n := int(r.next() % 4)
		for i := 0; i < n; i++ {
			name := string(rune('a' + i))
			s.Properties[name] = &openapi3.SchemaRef{Value: schemaFrom(r, depth+1)}
			if r.flag() {
				s.Required = append(s.Required, name)
			}
		}
		if r.flag() {
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		}
		if r.flag() && depth < 2 {
			s.AllOf = openapi3.SchemaRefs{{Value: &openapi3.Schema{Required: []string{"z"}, Properties: openapi3.Schemas{"z": {Value: schemaFrom(r, depth+1)}}}}}
			s.AdditionalProperties = openapi3.AdditionalProperties{}
		}
	}
	if r.flag() && r.flag() {
		s.Nullable = true
	}
	return s
}

// FuzzGeneratorValues: valid and boundary values conform to their schema;
// invalid ones reported as such do not.
func FuzzGeneratorValues(f *testing.F) {
	f.Add([]byte{0, 1, 3, 1, 5}, uint64(1))
	f.Add([]byte{1, 1, 200, 1, 1, 1, 7, 1, 1}, uint64(2))
	f.Add([]byte{6, 3, 0, 1, 1, 1, 1, 4, 0, 2, 1, 0}, uint64(3))
	f.Add([]byte{4, 0, 1, 2, 1, 1}, uint64(4))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		s := schemaFrom(&byteReader{b: data}, 0)
		g := New(nil, WithSeed(seed))
		for _, phase := range []Phase{Valid, Boundary} {
			v, in, ok := g.Value(s, phase)
			if !ok {
				t.Fatalf("%s: no value for %s", phase, jsonKey(s))
			}
			if err := s.VisitJSON(v, strictOpts...); err != nil {
				t.Fatalf("%s value %s (%s) does not conform to %s: %v", phase, jsonKey(v), in, jsonKey(s), err)
			}
		}
		v, in, ok := g.Value(s, Invalid)
		if ok && s.VisitJSON(v, strictOpts...) == nil {
			t.Fatalf("invalid value %s (%s) conforms to %s", jsonKey(v), in, jsonKey(s))
		}
	})
}

// hostileSchema builds, from fuzz bytes, the shapes a hostile spec uses
// against a generator: minimums far beyond any budget, allOf DAGs (shared
// schemas), recursion through oneOf, items and properties (cycles), huge
// maxLength with a pattern. Schemas are drawn from a pool so that later ones
// refer to earlier ones and to themselves.
type hostileSchema struct {
	r    *byteReader
	pool []*openapi3.SchemaRef
}

var hugeSizes = []uint64{0, 1, 3, 1 << 16, 1 << 32, 4_000_000_000, 1 << 62}

func (h *hostileSchema) ref(depth int) *openapi3.SchemaRef {
	if len(h.pool) > 0 && (depth > 3 || h.r.next()%3 == 0) {
		return h.pool[int(h.r.next())%len(h.pool)]
	}
	return h.schema(depth + 1)
}

func (h *hostileSchema) schema(depth int) *openapi3.SchemaRef {
	s := &openapi3.Schema{}
	// Named, as a loaded schema is: kin-openapi prints a named schema by
	// its name in errors, a cycle would otherwise print for ever.
	ref := &openapi3.SchemaRef{Ref: fmt.Sprintf("#/components/schemas/S%d", len(h.pool)), Value: s}
	h.pool = append(h.pool, ref)
	switch h.r.next() % 7 {
	case 0:
		s.Type = &openapi3.Types{"string"}
		s.MinLength = hugeSizes[int(h.r.next())%len(hugeSizes)]
		if h.r.flag() {
			s.MaxLength = ptrU(max(s.MinLength, hugeSizes[int(h.r.next())%len(hugeSizes)]))
		}
		if h.r.flag() {
			s.Pattern = fuzzPatterns[int(h.r.next())%len(fuzzPatterns)]
		}
	case 1:
		s.Type = &openapi3.Types{"array"}
		s.MinItems = hugeSizes[int(h.r.next())%len(hugeSizes)]
		s.Items = h.ref(depth)
	case 2:
		s.Type = &openapi3.Types{"object"}
		s.MinProps = hugeSizes[int(h.r.next())%len(hugeSizes)]
		s.Properties = openapi3.Schemas{}
		for i := range int(h.r.next() % 4) {
			name := string(rune('a' + i))
			s.Properties[name] = h.ref(depth)
			if h.r.flag() {
				s.Required = append(s.Required, name)
			}
		}
	case 3, 4:
		// allOf of several schemas, often shared: a DAG.
		s.Type = &openapi3.Types{"object"}
		s.Properties = openapi3.Schemas{fmt.Sprintf("p%d", len(h.pool)): {Value: openapi3.NewStringSchema()}}
		for range 1 + int(h.r.next()%4) {
			s.AllOf = append(s.AllOf, h.ref(depth))
		}
	case 5:
		for range 1 + int(h.r.next()%3) {
			s.OneOf = append(s.OneOf, h.ref(depth))
		}
	default:
		s.Type = &openapi3.Types{"integer"}
	}
	return ref
}

// FuzzGeneratorBudgets: whatever the schema, a value is generated (or
// given up) within its budget: no panic, no value larger than its steps
// allow, and a value said to be valid conforms to the schema.
func FuzzGeneratorBudgets(f *testing.F) {
	f.Add([]byte{0, 5, 0}, uint64(1))                      // minLength 4e9
	f.Add([]byte{1, 4, 0, 2}, uint64(2))                   // minItems 1<<32
	f.Add([]byte{3, 2, 3, 0, 3, 0, 0, 0, 0}, uint64(3))    // allOf DAG
	f.Add([]byte{5, 2, 1, 0, 0, 0, 1, 0}, uint64(4))       // oneOf recursion
	f.Add([]byte{0, 0, 1, 6, 1, 1}, uint64(5))             // huge maxLength and a pattern
	f.Add([]byte{2, 6, 3, 0, 1, 0, 2, 1, 0, 0}, uint64(6)) // minProperties 1<<62
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		h := &hostileSchema{r: &byteReader{b: data}}
		s := h.schema(0).Value
		const steps = 2000
		rec := limits.NewRecorder(nil)
		g := New(nil, WithSeed(seed), WithLimits(rec), WithValueBudget(steps, 2*time.Second))
		for _, phase := range []Phase{Valid, Boundary, Invalid} {
			v, in, ok := g.Value(s, phase)
			// Each step makes at most a value's punctuation and 64 bytes
			// of string; fixed candidates (a 4 KiB hostile string) aside.
			if n := len(jsonKey(v)); n > steps*256+8<<10 {
				t.Fatalf("%s: a value of %d bytes from %d steps", phase, n, steps)
			}
			if in.Kind == "over-budget" && (ok || len(rec.Hits()) == 0) {
				t.Fatalf("%s: over budget but ok %v, limits %v", phase, ok, rec.Hits())
			}
			if ok && phase != Invalid {
				if err := s.VisitJSON(v); err != nil {
					t.Fatalf("%s value %.200s (%s) does not conform: %v", phase, jsonKey(v), in, err)
				}
			}
		}
	})
}

// Hostile specs as seeds: an allOf DAG, a recursive oneOf, a huge
// minLength (the shapes of testdata/hostile/server).
const (
	seedDAG = `{"openapi": "3.0.3", "info": {"title": "dag", "version": "1"},
  "paths": {"/dag": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A0"}}}},
    "responses": {"200": {"description": "ok"}}}}},
  "components": {"schemas": {
    "A0": {"type": "object", "properties": {"a0": {"type": "string"}}, "allOf": [{"$ref": "#/components/schemas/B0"}, {"$ref": "#/components/schemas/B1"}]},
    "B0": {"type": "object", "properties": {"b0": {"type": "string"}}, "allOf": [{"$ref": "#/components/schemas/C0"}, {"$ref": "#/components/schemas/C1"}]},
    "B1": {"type": "object", "properties": {"b1": {"type": "string"}}, "allOf": [{"$ref": "#/components/schemas/C0"}, {"$ref": "#/components/schemas/C1"}]},
    "C0": {"type": "object", "properties": {"c0": {"type": "string", "maxLength": 4}}},
    "C1": {"type": "object", "properties": {"c1": {"type": "integer"}}}}}}`
	seedTree = `{"openapi": "3.0.3", "info": {"title": "tree", "version": "1"},
  "paths": {"/trees": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tree"}}}},
    "responses": {"200": {"description": "ok"}}}}},
  "components": {"schemas": {"Tree": {"oneOf": [{"type": "integer"},
    {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
    {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}, "minItems": 1}]}}}}`
	seedMinLength = `openapi: 3.0.3
info: {title: min, version: '1'}
paths:
  /search:
    get:
      parameters:
        - {name: q, in: query, required: true, schema: {type: string, minLength: 4000000000}}
        - {name: tags, in: query, schema: {type: array, minItems: 4000000000, items: {type: string}}}
      responses: {'200': {description: ok}}
`
)

// FuzzLoadAndGenerate: a fuzzed spec that loads gives requests for every
// operation within the budgets, whatever its schemas (a fuzz test of the
// loader alone would not reach the generator's costs).
func FuzzLoadAndGenerate(f *testing.F) {
	for _, seed := range []string{seedDAG, seedTree, seedMinLength} {
		f.Add([]byte(seed), uint64(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := spec.LoadSpecData(ctx, "fuzz.json", data, spec.WithoutExternalRefs())
		if err != nil {
			return
		}
		const steps = 2000
		g := New(s, WithSeed(seed), WithValueBudget(steps, 2*time.Second))
		for i, op := range s.Operations {
			if i == 16 {
				break
			}
			for _, phase := range []Phase{Valid, Boundary, Invalid} {
				r := g.Request(op, phase)
				in, _ := g.Mutate(op, r.Input)
				// A request holds a few values, each bounded by its steps.
				limit := (len(op.Params) + 2) * (steps*256 + 8<<10)
				if n := len(r.Path) + len(r.Body); n > limit {
					t.Fatalf("%s %s: a request of %d bytes", op.ID, phase, n)
				}
				if n := len(jsonKey(in)); n > 2*limit {
					t.Fatalf("%s: a mutated input of %d bytes", op.ID, n)
				}
			}
		}
	})
}
