package gen

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func schemaOf(t testing.TB, js string) *openapi3.Schema {
	t.Helper()
	var s openapi3.Schema
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatalf("schema %s: %v", js, err)
	}
	return &s
}

// strictOpts validate formats too, with the checks kin-openapi leaves off.
var strictOpts = []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation(), openapi3.SetSchemaRegexCompiler(spec.CompileRegex)}

func init() {
	openapi3.DefineIPv4Format()
	openapi3.DefineIPv6Format()
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	openapi3.DefineStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail))
}

func TestValidValuesConform(t *testing.T) {
	tests := []struct{ name, schema string }{
		{"date", `{"type":"string","format":"date"}`},
		{"date-time", `{"type":"string","format":"date-time"}`},
		{"uuid", `{"type":"string","format":"uuid"}`},
		{"email", `{"type":"string","format":"email"}`},
		{"ipv4", `{"type":"string","format":"ipv4"}`},
		{"ipv6", `{"type":"string","format":"ipv6"}`},
		{"byte", `{"type":"string","format":"byte"}`},
		{"uri hostname binary", `{"type":"object","required":["u","h","b"],"properties":{"u":{"type":"string","format":"uri"},"h":{"type":"string","format":"hostname"},"b":{"type":"string","format":"binary"}}}`},
		{"pattern", `{"type":"string","pattern":"^[A-Z]{2}-\\d{3,5}(x|yz)?$"}`},
		{"pattern unanchored with lengths", `{"type":"string","pattern":"[0-9]+","minLength":10,"maxLength":12}`},
		{"pattern lookahead", `{"type":"string","pattern":"^(?=.*[0-9])[a-z0-9]{6,8}$"}`},
		{"lengths", `{"type":"string","minLength":30,"maxLength":31}`},
		{"integer bounds", `{"type":"integer","minimum":-5,"maximum":5,"exclusiveMaximum":true}`},
		{"integer multipleOf", `{"type":"integer","minimum":10,"maximum":100,"multipleOf":7}`},
		{"number exclusive 3.0", `{"type":"number","minimum":0,"maximum":1,"exclusiveMinimum":true,"exclusiveMaximum":true}`},
		{"number multipleOf", `{"type":"number","multipleOf":0.25,"minimum":1,"maximum":2}`},
		{"int32 open", `{"type":"integer","format":"int32"}`},
		{"enum", `{"enum":["a","b",3]}`},
		{"nullable", `{"type":"string","nullable":true,"maxLength":2}`},
		{"array unique", `{"type":"array","minItems":3,"maxItems":4,"uniqueItems":true,"items":{"type":"integer","minimum":0,"maximum":9}}`},
		{"nested object", `{"type":"object","required":["a"],"properties":{"a":{"type":"object","required":["b"],"properties":{"b":{"type":"array","minItems":1,"items":{"type":"boolean"}}}}},"additionalProperties":false}`},
		{"additionalProperties schema", `{"type":"object","minProperties":2,"additionalProperties":{"type":"integer"}}`},
		{"allOf", `{"allOf":[{"type":"object","required":["a"],"properties":{"a":{"type":"integer","minimum":3}}},{"required":["b"],"properties":{"b":{"type":"string","maxLength":3},"a":{"maximum":4}}}]}`},
		{"oneOf", `{"oneOf":[{"type":"integer"},{"type":"string","minLength":2}]}`},
		{"oneOf objects", `{"oneOf":[{"type":"object","required":["kind","x"],"properties":{"kind":{"enum":["x"]},"x":{"type":"integer"}},"additionalProperties":false},{"type":"object","required":["kind","y"],"properties":{"kind":{"enum":["y"]},"y":{"type":"string"}},"additionalProperties":false}]}`},
		{"anyOf", `{"anyOf":[{"type":"string","format":"date"},{"type":"integer","minimum":100}]}`},
		{"not", `{"type":"integer","minimum":0,"maximum":3,"not":{"enum":[0,1,2]}}`},
		{"readOnly skipped", `{"type":"object","required":["id","n"],"properties":{"id":{"type":"integer","readOnly":true},"n":{"type":"string"}}}`},
		{"example", `{"type":"string","example":"hello","pattern":"^h"}`},
		{"default", `{"type":"integer","default":42,"minimum":40,"maximum":50}`},
		{"empty", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schemaOf(t, tt.schema)
			g := New(nil, WithSeed(42))
			for i := 0; i < 200; i++ {
				v, intent, ok := g.Value(s, Valid)
				if !ok {
					t.Fatalf("no valid value (intent %s)", intent)
				}
				if err := s.VisitJSON(v, append(strictOpts, openapi3.VisitAsRequest())...); err != nil {
					t.Fatalf("value %#v does not conform: %v", v, err)
				}
			}
		})
	}
}

func TestBoundaryAndInvalidValues(t *testing.T) {
	tests := []struct {
		name, schema string
		boundary     []any
		invalidKinds []string
	}{
		{"int range", `{"type":"integer","minimum":1,"maximum":100}`, []any{1.0, 100.0}, []string{"below-minimum", "above-maximum", "wrong-type", "not-integer"}},
		{"string lengths", `{"type":"string","minLength":2,"maxLength":4}`, nil, []string{"too-short", "overlong"}},
		{"pattern", `{"type":"string","pattern":"^[a-z]+$"}`, nil, []string{"pattern-mismatch"}},
		{"enum", `{"type":"string","enum":["a","b"]}`, []any{"a", "b"}, []string{"not-in-enum"}},
		{"array", `{"type":"array","minItems":1,"maxItems":2,"uniqueItems":true,"items":{"type":"integer"}}`, nil, []string{"too-few-items", "too-many-items", "duplicate-items"}},
		{"object", `{"type":"object","required":["a"],"properties":{"a":{"type":"integer"}},"additionalProperties":false}`, nil, []string{"missing-required", "extra-property", "property-wrong-type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schemaOf(t, tt.schema)
			g := New(nil, WithSeed(1))
			seenB := map[string]bool{}
			seenK := map[string]bool{}
			for i := 0; i < 300; i++ {
				v, in, ok := g.Value(s, Boundary)
				if !ok || s.VisitJSON(v) != nil {
					t.Fatalf("boundary value %#v (%s) does not conform", v, in)
				}
				seenB[Scalar(v)] = true
				v, in, ok = g.Value(s, Invalid)
				if !ok || !in.SchemaInvalid {
					t.Fatalf("no invalid value: %s", in)
				}
				if s.VisitJSON(v) == nil {
					t.Fatalf("invalid value %#v (%s) conforms", v, in)
				}
				seenK[in.Kind] = true
			}
			for _, b := range tt.boundary {
				if !seenB[Scalar(b)] {
					t.Errorf("boundary %v never produced (got %v)", b, seenB)
				}
			}
			for _, k := range tt.invalidKinds {
				if !seenK[k] {
					t.Errorf("invalid kind %q never produced (got %v)", k, seenK)
				}
			}
		})
	}
	if v, in, ok := New(nil).Value(&openapi3.Schema{Nullable: true}, Invalid); ok {
		t.Errorf("an invalid value %#v (%s) for a schema accepting everything", v, in)
	}
}

func TestPatternFallback(t *testing.T) {
	tests := []struct {
		pattern string
		exact   bool
		check   string
	}{
		{`^[a-z]{3}$`, true, `^[a-z]{3}$`},
		{`^(?!admin)[a-z]{4,6}$`, false, `^[a-z]{4,6}$`},
		{`^(a+)\1$`, false, `^a+$`},
		{`^\d++x$`, false, `^\d+x$`},
		{`\u0041+`, true, `A+`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			r := spec.ParseRegex(tt.pattern)
			if r.Re == nil || r.Exact != tt.exact {
				t.Fatalf("ParseRegex: %+v", r)
			}
			g := New(nil, WithSeed(5))
			re := regexp.MustCompile(tt.check)
			for i := 0; i < 50; i++ {
				v, ok := g.matching(tt.pattern, 0, 64)
				if !ok || !re.MatchString(v) {
					t.Fatalf("%q (ok=%v) does not match %s", v, ok, tt.check)
				}
			}
		})
	}
}

func loadSpec(t testing.TB, name string, opts ...spec.SpecOption) *spec.Spec {
	t.Helper()
	s, err := spec.LoadSpec(context.Background(), "../testdata/"+name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSameSeedSameRequests(t *testing.T) {
	s := loadSpec(t, "pets.yaml")
	gen := func(seed uint64) []string {
		g := New(s, WithSeed(seed))
		var out []string
		for i := 0; i < 30; i++ {
			for _, op := range s.Operations {
				r := g.Request(op, g.PickPhase())
				out = append(out, r.Key()+" "+r.Intent.String())
			}
		}
		return out
	}
	a, b, c := gen(9), gen(9), gen(10)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatal("same seed, different requests")
	}
	if strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Fatal("different seeds, same requests")
	}
}

func TestRequestsCarryTheirIntent(t *testing.T) {
	s := loadSpec(t, "pets.yaml", spec.WithSchemeValue("apiKey", "k"))
	g := New(s, WithSeed(3))
	op := s.Operation("POST /pets")
	body := op.Body.Media[0].Schema
	for i := 0; i < 200; i++ {
		r := g.Request(op, Valid)
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil || g.Validate(body, v) != nil {
			t.Fatalf("valid request body %s: %v", r.Body, err)
		}
		if r.Header["X-Api-Key"][0] != "k" || r.Intent.Phase != Valid || r.Operation != "POST /pets" || r.Path != "/v1/pets" {
			t.Fatalf("request %+v", r.Request)
		}
		r = g.Request(op, Invalid)
		if r.Intent.Phase != Invalid || r.Intent.Target == "" || r.Intent.Kind == "" {
			t.Fatalf("invalid intent %+v", r.Intent)
		}
		if r.Intent.SchemaInvalid && r.Intent.Kind != "malformed-body" && r.Intent.Kind != "missing-body" {
			var v any
			if json.Unmarshal(r.Body, &v) == nil && g.Validate(body, v) == nil {
				t.Fatalf("%s: body %s conforms", r.Intent, r.Body)
			}
		}
	}
}

const spec31 = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "paths": {
    "/things/{id}": {
      "put": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": ["integer", "null"], "exclusiveMinimum": 0, "maximum": 9}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["kind", "n"],
          "properties": {"kind": {"const": "thing"}, "n": {"type": ["number", "null"], "exclusiveMaximum": 1, "minimum": 0}},
          "examples": [{"kind": "thing", "n": 0.5}]
        }}}},
        "responses": {"200": {"description": "ok"}}
      }
    }
  }
}`

func TestOpenAPI31Values(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "t.json", []byte(spec31))
	if err != nil {
		t.Fatal(err)
	}
	op := s.Operation("PUT /things/{id}")
	g := New(s, WithSeed(2))
	for i := 0; i < 200; i++ {
		r := g.Request(op, Valid)
		id := strings.TrimPrefix(r.Path, "/things/")
		if len(id) != 1 || id < "1" || id > "9" {
			t.Fatalf("path %q", r.Path)
		}
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil || body["kind"] != "thing" {
			t.Fatalf("body %s", r.Body)
		}
		if n, ok := body["n"].(float64); ok && (n < 0 || n >= 1) {
			t.Fatalf("n = %v", n)
		}
	}
}

const cyclicSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /tree:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Node'}
      responses: {"200": {description: ok}}
  /chain:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Link'}
      responses: {"200": {description: ok}}
components:
  schemas:
    Node:
      type: object
      required: [name, children]
      properties:
        name: {type: string}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
        parent: {$ref: '#/components/schemas/Node'}
    Link:
      type: object
      required: [next]
      properties:
        next: {$ref: '#/components/schemas/Link'}
`

func TestCyclicSchemasTerminate(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "c.yaml", []byte(cyclicSpec))
	if err != nil {
		t.Fatal(err)
	}
	g := New(s, WithSeed(1))
	node := s.Operation("POST /tree").Body.Media[0].Schema
	for i := 0; i < 50; i++ {
		v, _, ok := g.Value(node, Valid)
		if !ok || g.Validate(node, v) != nil {
			t.Fatalf("node value %v", v)
		}
		g.Request(s.Operation("POST /tree"), g.PickPhase())
	}
	// A schema whose required chain never ends has no finite instance: the
	// generator gives up instead of recursing forever.
	link := s.Operation("POST /chain").Body.Media[0].Schema
	if _, _, ok := g.Value(link, Valid); ok {
		t.Error("finite value for an infinite required chain")
	}
	g.Request(s.Operation("POST /chain"), Invalid)
}
