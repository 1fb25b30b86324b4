package gen

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
)

// allOfDAG is N_0_0 of an allOf DAG wide × deep: N_d_i is allOf every
// N_(d+1)_j, each with a property of its own (wide^(deep-1) paths).
func allOfDAG(wide, deep int) *openapi3.Schema {
	var next []*openapi3.Schema
	for d := deep - 1; d >= 0; d-- {
		level := make([]*openapi3.Schema, wide)
		for i := range level {
			s := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{
				fmt.Sprintf("p%d_%d", d, i): {Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, MaxLength: ptrU(8)}},
			}}
			for _, n := range next {
				s.AllOf = append(s.AllOf, &openapi3.SchemaRef{Value: n})
			}
			level[i] = s
		}
		next = level
	}
	return next[0]
}

// tree is a recursive oneOf: an integer, or one of two array shapes of
// trees (both array branches match a non-empty array, so every level tries
// every branch).
func tree() *openapi3.Schema {
	t := &openapi3.Schema{}
	// With its name, as loaded: kin-openapi's errors print a schema, and
	// print a named one by its name.
	ref := &openapi3.SchemaRef{Ref: "#/components/schemas/Tree", Value: t}
	t.OneOf = openapi3.SchemaRefs{
		{Value: &openapi3.Schema{Type: &openapi3.Types{"integer"}}},
		{Value: &openapi3.Schema{Type: &openapi3.Types{"array"}, Items: ref}},
		{Value: &openapi3.Schema{Type: &openapi3.Types{"array"}, Items: ref, MinItems: 1}},
	}
	return t
}

// An allOf DAG 6 wide and 9 deep (49 schemas: the root, then 6 a level)
// is merged once per schema, and values are checked against the merged
// schema: a value costs a few hundred steps, not the DAG's 1.7 million
// paths.
func TestAllOfDAGCostsStepsNotPaths(t *testing.T) {
	dag := allOfDAG(6, 9)
	before := mergesDone.Load()
	rec := limits.NewRecorder(nil)
	g := New(nil, WithSeed(1), WithLimits(rec), WithValueBudget(2000, time.Hour))
	for _, phase := range []Phase{Valid, Boundary, Invalid} {
		for range 20 {
			v, in, ok := g.Value(dag, phase)
			if !ok {
				t.Fatalf("%s: no value (%s); limits %v", phase, in, rec.Hits())
			}
			if phase == Valid && len(v.(map[string]any)) == 0 {
				t.Fatalf("empty object")
			}
		}
	}
	const schemas = 1 + 6*8
	if merges := mergesDone.Load() - before; merges > schemas {
		t.Errorf("%d merges for a DAG of %d schemas: merges are not remembered", merges, schemas)
	}
	if c := g.checkSchema(dag); len(c.AllOf) != 0 || len(c.Properties) != schemas {
		t.Errorf("values are checked against a schema with %d allOf branches and %d properties, want the merged one (0, %d)", len(c.AllOf), len(c.Properties), schemas)
	}
	if hits := rec.Hits(); len(hits) > 0 {
		t.Errorf("limits reached: %v", hits)
	}
	// A small DAG is checked against itself, as written.
	small := allOfDAG(2, 3)
	if g.checkSchema(small) != small {
		t.Error("a DAG of 7 paths is not checked as written")
	}
}

// A recursive oneOf generates within its steps; with too few steps the
// value is not generated, the limit recorded, and the same on every run.
func TestRecursiveOneOfStaysWithinSteps(t *testing.T) {
	tr := tree()
	g := New(nil, WithSeed(1), WithValueBudget(limits.GenSteps.Int(), time.Hour))
	for range 50 {
		v, in, ok := g.Value(tr, Valid)
		if ok && tr.VisitJSON(v) != nil {
			t.Fatalf("value %s (%s) does not conform", jsonKey(v), in)
		}
	}
	run := func() []string {
		rec := limits.NewRecorder(nil)
		g := New(nil, WithSeed(7), WithLimits(rec), WithValueBudget(40, time.Hour))
		var got []string
		for range 20 {
			v, in, ok := g.Value(tr, Valid)
			got = append(got, fmt.Sprintf("%v %s %s", ok, in, jsonKey(v)))
		}
		if !rec.Reached(limits.GenSteps) {
			t.Errorf("40 steps a value: gen.steps never reached (%v)", got)
		}
		return got
	}
	first, second := run(), run()
	if strings.Join(first, "\n") != strings.Join(second, "\n") {
		t.Errorf("the step budget made two runs with one seed differ:\n%s\n---\n%s", first, second)
	}
	if !strings.Contains(strings.Join(first, "\n"), "false valid:over-budget null") {
		t.Errorf("no value reported over budget: %v", first)
	}
}

// The time budget is a safety net: once it is up the value is abandoned.
func TestTimeBudget(t *testing.T) {
	rec := limits.NewRecorder(nil)
	g := New(nil, WithSeed(1), WithLimits(rec), WithValueBudget(1<<30, time.Nanosecond))
	v, in, ok := g.Value(allOfDAG(3, 3), Valid)
	if ok || in.Kind != "over-budget" || v != nil {
		t.Fatalf("Value = %v, %s, %v; want over budget", v, in, ok)
	}
	if !rec.Reached(limits.GenTime) {
		t.Errorf("gen.time not recorded: %v", rec.Hits())
	}
}

// Minimum sizes beyond what a value may hold are not attempted in any
// phase: nothing the size of the minimum is allocated.
func TestHugeMinimumsAreNotGenerated(t *testing.T) {
	huge := uint64(4_000_000_000)
	for _, c := range []struct {
		name   string
		schema *openapi3.Schema
		limit  limits.Limit
	}{
		{"minLength", &openapi3.Schema{Type: &openapi3.Types{"string"}, MinLength: huge}, limits.GenLength},
		{"minLength and pattern", &openapi3.Schema{Type: &openapi3.Types{"string"}, MinLength: huge, Pattern: "^[a-z]+$"}, limits.GenLength},
		{"minItems", &openapi3.Schema{Type: &openapi3.Types{"array"}, MinItems: huge, Items: &openapi3.SchemaRef{Value: openapi3.NewStringSchema()}}, limits.GenItems},
		{"minProperties", &openapi3.Schema{Type: &openapi3.Types{"object"}, MinProps: huge}, limits.GenItems},
		{"nested", &openapi3.Schema{Type: &openapi3.Types{"object"}, Required: []string{"a"}, Properties: openapi3.Schemas{
			"a": {Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, MinLength: huge}}}}, limits.GenLength},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := limits.NewRecorder(nil)
			g := New(nil, WithSeed(1), WithLimits(rec))
			for _, phase := range []Phase{Valid, Boundary} {
				v, in, ok := g.Value(c.schema, phase)
				if ok || in.Kind != "over-budget" {
					t.Errorf("%s: Value = %.40s, %s, %v; want over budget", phase, jsonKey(v), in, ok)
				}
			}
			if v, _, ok := g.Value(c.schema, Invalid); ok && len(jsonKey(v)) > 8<<10 {
				t.Errorf("an invalid value of %d bytes", len(jsonKey(v)))
			}
			if !rec.Reached(c.limit) {
				t.Errorf("%s not recorded: %v", c.limit.Name, rec.Hits())
			}
		})
	}
	t.Run("maxLength with a pattern", func(t *testing.T) {
		s := &openapi3.Schema{Type: &openapi3.Types{"string"}, MaxLength: ptrU(2_000_000_000), Pattern: "^[a-z]+$"}
		g := New(nil, WithSeed(1))
		for range 50 {
			v, _, ok := g.Value(s, Valid)
			if !ok || len(v.(string)) > limits.GenLength.Int() {
				t.Fatalf("value of %d bytes, ok %v", len(jsonKey(v)), ok)
			}
		}
	})
}

const overBudgetSpec = `openapi: 3.0.3
info: {title: over, version: '1'}
paths:
  /search:
    get:
      parameters:
        - {name: q, in: query, required: true, schema: {type: string, minLength: 4000000000}}
        - {name: page, in: query, schema: {type: integer}}
      responses: {'200': {description: ok}}
  /items:
    get:
      responses: {'200': {description: ok}}
`

// A request whose required value is over budget goes without it; the
// operation is marked for the fuzzer, the limit recorded with where.
func TestRequestWithoutTheValueOverBudget(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "over.yaml", []byte(overBudgetSpec))
	if err != nil {
		t.Fatal(err)
	}
	rec := limits.NewRecorder(nil)
	g := New(s, WithSeed(1), WithLimits(rec))
	op := s.Operation("GET /search")
	for _, phase := range []Phase{Valid, Boundary, Invalid} {
		r := g.Request(op, phase)
		if strings.Contains(r.Path, "q=") && len(r.Path) > 8<<10 {
			t.Fatalf("%s: a request of %d bytes", phase, len(r.Path))
		}
		if pv, _ := r.Input.Param("query.q"); phase == Valid && pv.Set {
			t.Errorf("%s: q sent (%.40v)", phase, pv.Value)
		}
	}
	if !g.OverBudget("GET /search") || g.OverBudget("GET /items") {
		t.Errorf("OverBudget: /search %v, /items %v", g.OverBudget("GET /search"), g.OverBudget("GET /items"))
	}
	hits := rec.Hits()
	if len(hits) != 1 || hits[0].Limit != limits.GenLength.Name || hits[0].First != "GET /search q" {
		t.Errorf("hits %+v, want gen.length first at GET /search q", hits)
	}
}

// mergesDone counts merges (mergeOnce), for the test above.
var mergesDone atomic.Int64

func init() { mergeHook = func() { mergesDone.Add(1) } }
