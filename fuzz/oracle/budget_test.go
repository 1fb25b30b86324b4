package oracle

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/internal/loopback"
)

// deepOneOf is the hostile bench's deep-oneof case: a tree is an integer or
// one of two array shapes of trees, so the validator tries both array
// branches at every level of an answer.
const deepOneOf = `openapi: 3.0.3
info: {title: trees, version: "1"}
paths:
  /trees:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Tree"}
  /list:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: array
                items: {$ref: "#/components/schemas/Item"}
components:
  schemas:
    Tree:
      oneOf:
        - {type: integer}
        - {type: array, items: {$ref: "#/components/schemas/Tree"}}
        - {type: array, items: {$ref: "#/components/schemas/Tree"}, minItems: 1}
    Item:
      type: object
      properties:
        id: {type: integer}
        tag:
          oneOf:
            - {type: string}
            - {type: integer}
`

var jsonHeader = map[string][]string{"Content-Type": {"application/json"}}

func nested(depth int, leaf string) []byte {
	return []byte(strings.Repeat("[", depth) + leaf + strings.Repeat("]", depth))
}

// An answer that would cost the validator exponential work is not checked
// against its schema: the limit is recorded, and the status still is.
func TestDeepOneOfAnswerIsNotValidated(t *testing.T) {
	s := testspecs.Load(t, "trees.yaml", deepOneOf)
	rec := limits.NewRecorder(nil)
	o := New(s).WithLimits(rec)
	req := corpus.Request{Operation: "GET /trees", Method: "GET", Path: "/trees"}
	vs := o.Check(context.Background(), req, gen.Intent{}, corpus.Response{Status: 200, Header: jsonHeader, Body: nested(40, "1")})
	if len(vs) != 0 {
		t.Errorf("violations %+v for an answer that was not checked", vs)
	}
	if !rec.Reached(limits.ValidationSteps) {
		t.Fatalf("hits %+v, want %s", rec.Hits(), limits.ValidationSteps.Name)
	}
	if h := rec.Hits()[0]; h.First != "GET /trees, answer 200" {
		t.Errorf("first hit at %q", h.First)
	}
	vs = o.Check(context.Background(), req, gen.Intent{}, corpus.Response{Status: 418, Header: jsonHeader, Body: nested(40, "1")})
	if len(vs) != 1 || vs[0].Check != CheckStatus {
		t.Errorf("an undocumented status over budget: %+v, want a %s violation", vs, CheckStatus)
	}
}

// Shallow answers of the same schema are still checked, and so are long
// lists of small items: the budget is not a size cap.
func TestAnswersWithinBudgetAreValidated(t *testing.T) {
	s := testspecs.Load(t, "trees.yaml", deepOneOf)
	rec := limits.NewRecorder(nil)
	o := New(s).WithLimits(rec)
	trees := corpus.Request{Operation: "GET /trees", Method: "GET", Path: "/trees"}
	if vs := o.Check(context.Background(), trees, gen.Intent{}, corpus.Response{Status: 200, Header: jsonHeader, Body: nested(4, `"x"`)}); len(vs) != 1 || vs[0].Check != CheckSchema {
		t.Errorf("a shallow tree with a string leaf: %+v, want a schema violation", vs)
	}
	var items []string
	for i := range 2000 {
		items = append(items, fmt.Sprintf(`{"id":%d,"tag":"t%d"}`, i, i))
	}
	list := corpus.Request{Operation: "GET /list", Method: "GET", Path: "/list"}
	good := []byte("[" + strings.Join(items, ",") + "]")
	if vs := o.Check(context.Background(), list, gen.Intent{}, corpus.Response{Status: 200, Header: jsonHeader, Body: good}); len(vs) != 0 {
		t.Errorf("2000 good items: %+v", vs)
	}
	items[1999] = `{"id":"x","tag":"t"}`
	bad := []byte("[" + strings.Join(items, ",") + "]")
	if vs := o.Check(context.Background(), list, gen.Intent{}, corpus.Response{Status: 200, Header: jsonHeader, Body: bad}); len(vs) != 1 || vs[0].Check != CheckSchema {
		t.Errorf("2000 items, the last one bad: %+v, want a schema violation", vs)
	}
	if hits := rec.Hits(); len(hits) != 0 {
		t.Errorf("limits hit within budget: %+v", hits)
	}
}

// An answer nesting deeper than the depth budget is not checked either,
// whatever its schema.
func TestDeeplyNestedAnswerIsNotValidated(t *testing.T) {
	s := testspecs.Pets(t)
	rec := limits.NewRecorder(nil)
	o := New(s).WithLimits(rec)
	get := corpus.Request{Operation: "GET /pets/{petId}", Method: "GET", Path: "/v1/pets/1"}
	body := []byte(`{"id":1,"name":"rex","x":` + string(nested(limits.ValidationDepth.Int()+1, "1")) + `}`)
	if vs := o.Check(context.Background(), get, gen.Intent{}, corpus.Response{Status: 200, Header: jsonHeader, Body: body}); len(vs) != 0 {
		t.Errorf("violations %+v for an answer that was not checked", vs)
	}
	if !rec.Reached(limits.ValidationDepth) {
		t.Fatalf("hits %+v, want %s", rec.Hits(), limits.ValidationDepth.Name)
	}
}

// The allOf DAG, 6 wide and 9 deep, in an answer's schema: 6^9
// paths through it, each a visit of the validator.
func TestAllOfDAGAnswerIsNotValidated(t *testing.T) {
	var b strings.Builder
	b.WriteString(`openapi: 3.0.3
info: {title: dag, version: "1"}
paths:
  /dag:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/N_0_0"}
components:
  schemas:
`)
	const wide, deep = 6, 9
	for d := range deep {
		for i := range wide {
			fmt.Fprintf(&b, "    N_%d_%d:\n      type: object\n      properties: {p%d_%d: {type: string}}\n", d, i, d, i)
			if d+1 < deep {
				b.WriteString("      allOf:\n")
				for j := range wide {
					fmt.Fprintf(&b, "        - {$ref: \"#/components/schemas/N_%d_%d\"}\n", d+1, j)
				}
			}
		}
	}
	s := testspecs.Load(t, "dag.yaml", b.String())
	rec := limits.NewRecorder(nil)
	o := New(s).WithLimits(rec)
	req := corpus.Request{Operation: "GET /dag", Method: "GET", Path: "/dag"}
	o.Check(context.Background(), req, gen.Intent{}, corpus.Response{Status: 200, Header: jsonHeader, Body: []byte(`{"p0_0":"a"}`)})
	if !rec.Reached(limits.ValidationSteps) {
		t.Fatalf("hits %+v, want %s", rec.Hits(), limits.ValidationSteps.Name)
	}
}

// An answer cut at the header cap has lost its media type and its body:
// only its status is judged, and both answer caps are recorded.
func TestCutAnswersAreRecorded(t *testing.T) {
	s := testspecs.Pets(t)
	rec := limits.NewRecorder(nil)
	o := New(s).WithLimits(rec)
	get := corpus.Request{Operation: "GET /pets/{petId}", Method: "GET", Path: "/v1/pets/1"}
	cut := map[string][]string{loopback.LimitHeader: {limits.AnswerHeaderBytes.Name}}
	if vs := o.Check(context.Background(), get, gen.Intent{}, corpus.Response{Status: 200, Header: cut}); len(vs) != 0 {
		t.Errorf("a 200 cut at the header cap: %+v", vs)
	}
	if vs := o.Check(context.Background(), get, gen.Intent{}, corpus.Response{Status: 418, Header: cut}); len(vs) != 1 || vs[0].Check != CheckStatus {
		t.Errorf("a 418 cut at the header cap: %+v, want a %s violation", vs, CheckStatus)
	}
	o.Check(context.Background(), get, gen.Intent{}, corpus.Response{Status: 200, Header: jsonHeader, Body: []byte(`{"id":1,`), Truncated: true})
	hits := rec.Hits()
	if len(hits) != 2 || hits[0].Limit != limits.AnswerHeaderBytes.Name || hits[0].Count != 2 || hits[1].Limit != limits.AnswerBodyBytes.Name {
		t.Errorf("hits %+v", hits)
	}
}
