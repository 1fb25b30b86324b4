package verify

import (
	"fmt"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
)

func ex(entry, step, status int, body, crash string) fuzz.Exchange {
	x := fuzz.Exchange{Entry: entry, Step: step, Crash: crash,
		Request: corpus.Request{Operation: "OP", Method: "GET", Path: fmt.Sprintf("/e%d/s%d", entry, step)}}
	if status == 0 {
		x.Response = corpus.Response{Err: "connection reset by peer"}
	} else {
		x.Response = corpus.Response{Status: status, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
	return x
}

func TestVerification(t *testing.T) {
	// Entry 1: DELETE answers 204, then the process dies; the crash is seen
	// at the next step or only after it, depending on timing.
	original := []fuzz.Exchange{
		ex(0, 0, 201, `{"id":1,"at":"10:00:00.1"}`, ""),
		ex(1, 0, 204, ``, ""),
		ex(1, 1, 0, ``, "exited with status 2"),
		ex(2, 0, 200, `{"n":1}`, ""),
	}
	second := []fuzz.Exchange{
		ex(0, 0, 201, `{"id":1,"at":"10:00:01.7"}`, ""),
		ex(1, 0, 204, ``, "exited with status 2"),
		ex(2, 0, 200, `{"n":1}`, ""),
	}
	ref := &Reference{Answers: original, Volatile: LearnVolatility(original, second)}
	if v := ref.Volatile[Key{0, 0}]; len(v.Paths) != 1 || v.Paths[0] != "/at" {
		t.Fatalf("volatile of the first answer: %+v", v)
	}
	cases := []struct {
		name      string
		minimal   []fuzz.Exchange
		identical int
	}{
		{"same answers, crash seen one step later", []fuzz.Exchange{
			ex(0, 0, 201, `{"id":1,"at":"10:00:09.0"}`, ""),
			ex(1, 0, 204, ``, ""),
			ex(1, 1, 0, ``, "exited with status 2"),
			ex(2, 0, 200, `{"n":1}`, ""),
		}, 4},
		{"crash seen at the delete itself", []fuzz.Exchange{
			ex(0, 0, 201, `{"id":1,"at":"10:00:09.0"}`, ""),
			ex(1, 0, 204, ``, "exited with status 2"),
			ex(2, 0, 200, `{"n":1}`, ""),
		}, 4},
		{"stable field differs", []fuzz.Exchange{
			ex(0, 0, 201, `{"id":2,"at":"10:00:09.0"}`, ""),
			ex(1, 0, 204, ``, ""),
			ex(1, 1, 0, ``, "exited with status 2"),
			ex(2, 0, 200, `{"n":1}`, ""),
		}, 3},
		{"minimal image never crashes", []fuzz.Exchange{
			ex(0, 0, 201, `{"id":1,"at":"10:00:09.0"}`, ""),
			ex(1, 0, 204, ``, ""),
			ex(1, 1, 200, `{}`, ""),
			ex(2, 0, 200, `{"n":1}`, ""),
		}, 3},
		{"minimal image crashes elsewhere", []fuzz.Exchange{
			ex(0, 0, 0, ``, "exited with status 1"),
			ex(1, 0, 204, ``, ""),
			ex(1, 1, 0, ``, "exited with status 2"),
			ex(2, 0, 200, `{"n":1}`, ""),
		}, 3},
		{"replay cut short", []fuzz.Exchange{
			ex(0, 0, 201, `{"id":1,"at":"10:00:09.0"}`, ""),
		}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := ref.Verification(c.minimal)
			if v.Identical != c.identical || v.Total != len(original) {
				t.Fatalf("identical %d/%d, want %d/%d; divergences %+v", v.Identical, v.Total, c.identical, len(original), v.Divergences)
			}
			if (v.Result == "identical") != (c.identical == len(original)) || len(v.Divergences) != v.Total-v.Identical {
				t.Fatalf("result %q with %d divergences", v.Result, len(v.Divergences))
			}
			for _, d := range v.Divergences {
				if d.Reason == "" {
					t.Errorf("divergence without a reason: %+v", d)
				}
			}
		})
	}
}
