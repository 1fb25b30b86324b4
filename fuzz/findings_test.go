package fuzz

import (
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/oracle"
)

func TestFindingsAreDeduplicated(t *testing.T) {
	fs := newFindingSet()
	one := Finding{Operation: "GET /a", Check: oracle.CheckServerError, Signature: "500 x", Requests: make([]corpus.Request, 3)}
	if _, isNew, _ := fs.add(one); !isNew {
		t.Fatal("first not new")
	}
	shorter := one
	shorter.Requests = make([]corpus.Request, 1)
	if got, isNew, better := fs.add(shorter); isNew || !better || got.Count != 2 {
		t.Fatalf("second: new=%v better=%v count=%d", isNew, better, got.Count)
	}
	minimized := one
	minimized.Requests, minimized.Minimized = make([]corpus.Request, 2), true
	if got, _, better := fs.add(minimized); !better || !got.Minimized || len(got.Requests) != 2 {
		t.Fatalf("minimised reproducer not preferred: better=%v %+v", better, got)
	}
	if _, _, better := fs.add(shorter); better {
		t.Fatal("a shorter, unminimised reproducer replaced a minimised one")
	}
	other := one
	other.Signature = "500 y"
	fs.add(other)
	list := fs.list()
	if len(list) != 2 || len(list[0].Requests) != 2 || list[0].ID == list[1].ID {
		t.Errorf("findings %+v", list)
	}
}
