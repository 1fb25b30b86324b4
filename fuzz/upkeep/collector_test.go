package upkeep

import (
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/fuzz/links"
)

func TestCollectorKinds(t *testing.T) {
	s := testspecs.Pets(t)
	c := NewCollector(s, links.Infer(s), 4)
	kinds := c.byProducer["POST /pets"]
	if len(kinds) != 1 || kinds[0].del.ID != "DELETE /pets/{petId}" {
		t.Fatalf("kinds of POST /pets: %+v", kinds)
	}
	for prod := range c.byProducer {
		if prod != "POST /pets" {
			t.Errorf("%s is taken for a create of something a DELETE removes", prod)
		}
	}
	// The id comes from the answer; a second answer naming the same pet is
	// not a second pet; the fuzzer's own DELETE (or a 404) forgets it.
	op := s.Operation("POST /pets")
	del := s.Operation("DELETE /pets/{petId}")
	for id := 1; id <= 6; id++ {
		body := []byte(`{"id":` + string(rune('0'+id)) + `,"name":"x"}`)
		c.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: body})
	}
	c.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: []byte(`{"id":6,"name":"x"}`)})
	c.Created(op, &gen.Request{}, corpus.Response{Status: 400, Body: []byte(`{"id":9}`)})
	if n := c.Live(); n != 6 {
		t.Fatalf("%d live pets remembered, want 6", n)
	}
	gone := gen.Input{Op: del.ID, Params: []gen.ParamValue{{In: "path", Name: "petId", Value: float64(2), Set: true}}}
	c.Deleted(del, gone, 204)
	c.Deleted(del, gen.Input{Op: del.ID, Params: []gen.ParamValue{{In: "path", Name: "petId", Value: "3", Set: true}}}, 404)
	c.Deleted(del, gen.Input{Op: del.ID, Params: []gen.ParamValue{{In: "path", Name: "petId", Value: "4", Set: true}}}, 401)
	if n := c.Live(); n != 4 {
		t.Fatalf("%d live pets after two deletes (and one refused), want 4", n)
	}
	// Over the bound of 4: the oldest go, down to half the bound.
	c.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: []byte(`{"id":7}`)})
	due := c.Due()
	var ids []string
	for _, g := range due {
		in := g.Input()
		p, _ := in.Param("path.petId")
		ids = append(ids, gen.Scalar(p.Value))
	}
	if strings.Join(ids, ",") != "1,4,5" || c.Live() != 2 {
		t.Errorf("due %v with %d left, want the oldest 1,4,5 and 2 left", ids, c.Live())
	}
	c.Reset()
	if c.Live() != 0 || len(c.Due()) != 0 {
		t.Error("reset kept resources of the old target")
	}
}
