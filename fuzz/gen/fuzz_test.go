package gen

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
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
