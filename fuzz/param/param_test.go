package param

import (
	"testing"

	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

func TestEnumValuesAreNotFree(t *testing.T) {
	s := testspecs.Load(t, "enums.yaml", testspecs.Enums)
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
