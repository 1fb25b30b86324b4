package fuzz

import (
	"encoding/json"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
)

// FuzzStoredSteps: steps read from a corpus (damaged, hand-edited, of
// another version) never make the fuzzer panic when it binds and encodes
// them for sending.
func FuzzStoredSteps(f *testing.F) {
	s := loadPets(f)
	fz := New(s, nil, WithSeed(1))
	for _, op := range []string{"POST /pets", "POST /pets/{petId}/photo", "GET /pets", "POST /login"} {
		st := testStepTB(fz, op)
		st.Copies = []Copy{{Param: "path.petId", Step: 0, From: "path.petId"}}
		b, _ := json.Marshal([]Step{st, st})
		f.Add(b)
	}
	f.Add([]byte(`[{"op":"GET /pets/{petId}","input":{"params":[{"in":"path","name":"petId","value":{"a":[1,{}]},"set":true}]},"copies":[{"param":"path.petId","step":-5,"from":"x"},{"param":"path.petId","step":99}]}]`))
	f.Add([]byte(`[{"op":"POST /pets","input":{"media":"multipart/form-data","body":[1,2,"x"]}},{"op":"POST /pets/{petId}/photo","input":{"media":"application/xml","body":{"file":null}}}]`))
	f.Add([]byte(`[{"raw":{"method":"GET","path":"/v1/stats"}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ce := corpus.Entry{ID: "x", Steps: data, Requests: []corpus.Request{{Method: "GET", Path: "/"}}}
		e, _ := entryFromCorpus(ce)
		x := newExecutor(s, fz.l.links, fz.l.gen, nil)
		sent := make([]*gen.Input, len(e.Steps))
		for i, st := range e.Steps {
			if p, ok := x.prepare(st, sent); ok {
				sent[i] = &p.req.Input
				_ = p.req.Key()
			}
		}
	})
}

func testStepTB(f *Fuzzer, op string) Step {
	o := f.l.spec.Operation(op)
	in, intent := f.l.gen.Input(o, gen.Valid)
	return Step{Op: op, Input: in, Intent: intent, Bound: []string{"path.petId"}}
}
