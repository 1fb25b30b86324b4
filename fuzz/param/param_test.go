package param

import (
	"context"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/spec"
)

// enumSpec holds parameters of every kind FreeValued tells apart.
const enumSpec = `openapi: 3.0.3
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

func TestEnumValuesAreNotFree(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "t.yaml", []byte(enumSpec))
	if err != nil {
		t.Fatal(err)
	}
	op := s.Operation("GET /export")
	if FreeValued(op, "query.format") {
		t.Error("an enum parameter was taken as free-valued")
	}
	if !FreeValued(op, "query.name") {
		t.Error("a free string parameter was taken as enumerated")
	}
	if FreeValued(op, "query.kind") {
		t.Error("an enum behind allOf (as FastAPI writes them) was taken as free-valued")
	}
	if !FreeValued(op, "query.either") {
		t.Error("anyOf with a free alternative was taken as enumerated")
	}
}
