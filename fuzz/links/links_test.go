package links

import (
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
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
	s := testspecs.Load(t, "t.yaml", doc)
	l := Infer(s)
	if bs := l.For("GET /assets/{name}"); len(bs) != 0 {
		t.Errorf("an enum parameter is bound to other answers: %+v", bs)
	}
	if bs := l.For("GET /kinds/{kind}"); len(bs) != 1 || bs[0].Producer != "GET /items" {
		t.Errorf("a free parameter of the same name is not bound: %+v", bs)
	}
}

func TestInferLinks(t *testing.T) {
	s := testspecs.Pets(t)
	l := Infer(s)
	want := []struct{ consumer, param, producer, source, reason string }{
		{"GET /pets/{petId}", "path.petId", "POST /pets", "body:/id", "openapi-link"},
		{"PUT /pets/{petId}", "path.petId", "POST /pets", "body:/id", "nested-path"},
		{"DELETE /pets/{petId}", "path.petId", "POST /pets", "location", "nested-path"},
		{"POST /pets/{petId}/photo", "path.petId", "GET /pets", "body:/*/id", "nested-path"},
	}
	for _, w := range want {
		found := false
		for _, b := range l.For(w.consumer) {
			if b.Param == w.param && b.Producer == w.producer && b.Source == w.source && b.Reason == w.reason {
				found = true
			}
		}
		if !found {
			t.Errorf("no binding %+v; have %+v", w, l.For(w.consumer))
		}
	}
	if got := l.For("GET /pets/{petId}")[0]; got.Reason != "openapi-link" {
		t.Errorf("best binding %+v", got)
	}
	if p := l.Producers("GET /stats"); len(p) != 0 {
		t.Errorf("GET /stats has producers %v", p)
	}
}

func TestStore(t *testing.T) {
	s := testspecs.Pets(t)
	l := Infer(s)
	st := NewStore(s, l)
	st.Record(s.Operation("POST /pets"), corpus.Response{Status: 201, Header: map[string][]string{"Location": {"/v1/pets/41"}}, Body: []byte(`{"id":41,"name":"a"}`)})
	st.Record(s.Operation("GET /pets"), corpus.Response{Status: 200, Body: []byte(`[{"id":5},{"id":6}]`)})
	in := gen.Input{Params: []gen.ParamValue{{In: "path", Name: "petId", Value: 999.0, Set: true}}}
	bound := st.Bind(s.Operation("GET /pets/{petId}"), &in, true, nil)
	if len(bound) != 1 || gen.Scalar(in.Params[0].Value) != "41" {
		t.Fatalf("bound %v → %v", bound, in.Params[0].Value)
	}
	st.Forget(s.Operation("DELETE /pets/{petId}"), in)
	in.Params[0].Value = 999.0
	st.Bind(s.Operation("GET /pets/{petId}"), &in, true, nil)
	if gen.Scalar(in.Params[0].Value) == "41" {
		t.Error("deleted id still bound")
	}
	if v := pointerValues(map[string]any{"a": []any{map[string]any{"id": 1.0}, map[string]any{"id": 2.0}}}, "/a/*/id"); len(v) != 2 {
		t.Errorf("pointer values %v", v)
	}
	if v, ok := matchPrefix("/v1/pets/{petId}", "/v1/pets/7/photo", "petId"); !ok || v != "7" {
		t.Errorf("matchPrefix %q %v", v, ok)
	}
}
