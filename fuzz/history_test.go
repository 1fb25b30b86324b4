package fuzz

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/links"
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

// The history keeps no header and no body of the answers (a target that
// answers with headers just under the cap would otherwise make 1024 steps
// a gigabyte), only the ids a step produced for later ones.
func TestHistoryKeepsNoAnswers(t *testing.T) {
	s := loadPets(t)
	ln := links.Infer(s)
	h := history{produce: func(op string, resp corpus.Response) map[string][]any {
		return links.Produced(s, ln, s.Operation(op), resp)
	}}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const steps, headerBytes = maxHistory, 256 << 10
	for i := range steps {
		h.startSequence()
		resp := corpus.Response{Status: 201,
			Header: map[string][]string{"X-Flood": {strings.Repeat(string(rune('a'+i%26)), headerBytes)}},
			Body:   []byte(fmt.Sprintf(`{"id":%d,"name":"a","pad":%q}`, 41+i, strings.Repeat("p", 4<<10)))}
		h.add(Step{Op: "POST /pets"}, corpus.Request{Method: "POST", Path: "/v1/pets"}, resp, []int{-1})
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if kept := int64(after.HeapAlloc) - int64(before.HeapAlloc); kept > 32<<20 {
		t.Errorf("the history of %d answers of %d KiB holds %d MiB", steps, headerBytes>>10, kept>>20)
	}
	last := h.tail(1)
	if got := (&loop{}).producedValues(last[0]); len(got) == 0 || got[0] != fmt.Sprint(41+steps-1) {
		t.Errorf("the last step produced %v, want the id %d", got, 41+steps-1)
	}
}
