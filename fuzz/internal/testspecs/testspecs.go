// Package testspecs holds the specs that the tests of several fuzz
// packages share: the pets API (fuzz/testdata/pets.yaml) and a greeting
// that negotiates its representation.
package testspecs

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/spec"
)

// PetsKey is the API key the pets spec's apiKey scheme is given.
const PetsKey = "secret"

// Pets loads the pets spec with the API key set.
func Pets(t testing.TB, opts ...spec.SpecOption) *spec.Spec {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	opts = append([]spec.SpecOption{spec.WithSchemeValue("apiKey", PetsKey)}, opts...)
	s, err := spec.LoadSpec(context.Background(), filepath.Join(filepath.Dir(here), "..", "..", "testdata", "pets.yaml"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Greeting is one operation that answers in the language and the
// representation asked for (Accept-Language, Accept).
const Greeting = `openapi: 3.0.3
info: {title: greeting, version: "1"}
paths:
  /greeting:
    get:
      responses:
        "200":
          description: a greeting in the negotiated language and representation
          content:
            application/json: {schema: {type: object, properties: {text: {type: string}}}}
            text/html: {schema: {type: string}}
            text/plain: {schema: {type: string}}
`

// Enums has query parameters of every kind param.FreeValued tells apart:
// an enum, a free string, an enum behind allOf, and anyOf an enum or a
// free string.
const Enums = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /export:
    get:
      parameters:
        - {name: format, in: query, schema: {type: string, enum: [csv, xml]}}
        - {name: name, in: query, schema: {type: string}}
        - {name: kind, in: query, schema: {allOf: [{$ref: "#/components/schemas/Kind"}], default: a}}
        - {name: either, in: query, schema: {anyOf: [{$ref: "#/components/schemas/Kind"}, {type: string}]}}
      responses:
        "200": {description: ok}
components:
  schemas:
    Kind: {type: string, enum: [a, b]}
`

// Load loads a spec given as text.
func Load(t testing.TB, name, doc string) *spec.Spec {
	t.Helper()
	s, err := spec.LoadSpecData(context.Background(), name, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
