package fuzz

import (
	"fmt"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
)

// TestHistoryKeepsCopiesAcrossDrops: copies point at the step they copy
// from also after old steps were forgotten or the history was reset.
func TestHistoryKeepsCopiesAcrossDrops(t *testing.T) {
	var h history
	seqs := 0
	for h.gone == 0 || seqs < 600 {
		h.startSequence()
		local := []int{-1, -1}
		local[0] = h.add(Step{Op: fmt.Sprintf("del %d", seqs)}, corpus.Request{Path: fmt.Sprint(seqs)}, corpus.Response{}, local)
		local[1] = h.add(Step{Op: fmt.Sprintf("get %d", seqs), Copies: []Copy{{Param: "p", Step: 0, From: "p"}}}, corpus.Request{}, corpus.Response{}, local)
		seqs++
	}
	if len(h.steps) > maxHistory || len(h.steps) != len(h.reqs) {
		t.Fatalf("%d steps, %d requests", len(h.steps), len(h.reqs))
	}
	for i, st := range h.steps {
		if len(st.Copies) == 0 {
			if i != 0 && st.Op[:3] == "get" {
				t.Fatalf("step %d (%s) lost its copy", i, st.Op)
			}
			continue
		}
		src := h.steps[st.Copies[0].Step]
		if src.Op != "del"+st.Op[3:] {
			t.Fatalf("step %d (%s) copies from %s", i, st.Op, src.Op)
		}
	}
	if tail := h.tail(1); len(tail) != 2 || tail[1].Copies[0].Step != 0 {
		t.Fatalf("last sequence %+v", tail)
	}
	// A sequence that straddles a reset loses its copy instead of pointing
	// at the wrong step.
	local := []int{h.add(Step{Op: "del x"}, corpus.Request{}, corpus.Response{}, nil), -1}
	h.reset()
	h.startSequence()
	h.add(Step{Op: "get x", Copies: []Copy{{Param: "p", Step: 0, From: "p"}}}, corpus.Request{}, corpus.Response{}, local)
	if len(h.steps) != 1 || len(h.steps[0].Copies) != 0 {
		t.Fatalf("after reset: %+v", h.steps)
	}
}
