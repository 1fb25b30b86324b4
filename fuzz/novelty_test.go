package fuzz

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/corpus"
)

// A map keyed by data (counts by tag) grows new keys with the service's
// state: with its schema known, a new key is not a new response shape,
// while a new declared field, or a new kind of value in the map, still is.
func TestNoveltyFoldsMapsKeyedByData(t *testing.T) {
	counts := openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewIntegerSchema())
	stats := openapi3.NewObjectSchema().
		WithProperty("items", openapi3.NewIntegerSchema()).
		WithProperty("note", openapi3.NewStringSchema()).
		WithPropertyRef("tags", &openapi3.SchemaRef{Value: counts})
	answer := func(body string) (corpus.Response, any) {
		resp := corpus.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(body)}
		doc, ok := decodeJSON(resp)
		if !ok {
			t.Fatalf("%s does not decode", body)
		}
		return resp, doc
	}
	for _, c := range []struct {
		schema *openapi3.Schema
		bodies []string
		want   []bool // whether each answer is new
	}{
		{stats, []string{
			`{"items":1,"tags":{"book":1}}`,
			`{"items":2,"tags":{"book":1,"toy":1}}`,      // a new key of the map: data
			`{"items":3,"tags":{"game":2}}`,              // other keys: data
			`{"items":3,"tags":{"game":"x"}}`,            // a new kind of value in the map
			`{"items":3,"note":"n","tags":{"book":1}}`,   // a declared field appears
			`{"items":3,"extra":true,"tags":{"book":1}}`, // an undeclared field of a closed object
		}, []bool{true, false, false, true, true, true}},
		// Without the schema every new key is a new shape, as before.
		{nil, []string{`{"items":1,"tags":{"book":1}}`, `{"items":2,"tags":{"toy":1}}`}, []bool{true, true}},
	} {
		n := newNovelty()
		for i, body := range c.bodies {
			resp, doc := answer(body)
			got := len(n.news("GET /stats", resp, doc, true, c.schema)) > 0
			if got != c.want[i] {
				t.Errorf("schema %v, answer %d %s: new = %v, want %v", c.schema != nil, i, body, got, c.want[i])
			}
		}
	}
}

// A map keyed by data is shaped from its first keys, as other objects
// are: a large one costs no more than 64 of its values.
func TestShapeOfCapsDataKeys(t *testing.T) {
	counts := openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewIntegerSchema())
	shape := func(m map[string]any) string {
		var b strings.Builder
		shapeOf(&b, m, counts, 0)
		return b.String()
	}
	first := map[string]any{}
	for i := range maxShapeKeys {
		first[fmt.Sprintf("k%03d", i)] = float64(i)
	}
	large := maps.Clone(first)
	for i := maxShapeKeys; i < 1000; i++ {
		large[fmt.Sprintf("k%03d", i)] = "text" // beyond the first keys
	}
	if a, b := shape(first), shape(large); a != b {
		t.Errorf("shape of the first %d keys %q, of 1000 keys %q", maxShapeKeys, a, b)
	}
}
