package fuzz

import (
	"context"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestInferLinksLeavesEnumsAlone(t *testing.T) {
	doc := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /items:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: array
                items: {type: object, properties: {name: {type: string}, kind: {type: string}}}
  /assets/{name}:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string, enum: [app.js, style.css]}}
      responses:
        "200": {description: ok}
  /kinds/{kind}:
    get:
      parameters:
        - {name: kind, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}
`
	s, err := spec.LoadSpecData(context.Background(), "t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	l := InferLinks(s)
	if bs := l.For("GET /assets/{name}"); len(bs) != 0 {
		t.Errorf("an enum parameter is bound to other answers: %+v", bs)
	}
	if bs := l.For("GET /kinds/{kind}"); len(bs) != 1 || bs[0].Producer != "GET /items" {
		t.Errorf("a free parameter of the same name is not bound: %+v", bs)
	}
}
