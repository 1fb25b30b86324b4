package oracle

import (
	"context"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/internal/limits"
)

// FuzzOracleCheck feeds the oracle answers the target chooses (status,
// media type, body) for operations whose schemas are recursive and
// nested. Judging one never panics and never runs past its budgets (the
// fuzz engine's per-input timeout would tell); what it reports is one line,
// with a signature, and the same twice.
func FuzzOracleCheck(f *testing.F) {
	f.Add("GET /trees", 200, "application/json", string(nested(40, "1")))
	f.Add("GET /trees", 200, "application/json", string(nested(3, `"x"`)))
	f.Add("GET /list", 200, "application/json", `[{"id":1,"tag":"a"},{"id":"x"}]`)
	f.Add("GET /list", 200, "application/problem+json", `{"a":[[[[]]]]}`)
	f.Add("GET /list", 500, "text/plain", "internal error 12")
	f.Add("GET /trees", 404, "application/json", `{}`)
	s := testspecs.Load(f, "trees.yaml", deepOneOf)
	f.Fuzz(func(t *testing.T, op string, status int, ct, body string) {
		if status < 100 || status > 999 {
			status = 200
		}
		if op != "GET /list" {
			op = "GET /trees"
		}
		path := strings.TrimPrefix(op, "GET ")
		o := New(s).WithLimits(limits.NewRecorder(nil))
		req := corpus.Request{Operation: op, Method: "GET", Path: path}
		resp := corpus.Response{Status: status, Header: map[string][]string{"Content-Type": {ct}}, Body: []byte(body)}
		first := o.Check(context.Background(), req, gen.Intent{}, resp)
		again := o.Check(context.Background(), req, gen.Intent{}, resp)
		if len(first) != len(again) {
			t.Fatalf("judged twice: %+v, then %+v", first, again)
		}
		for i, v := range first {
			if v.Check == "" || v.Signature == "" || strings.ContainsAny(v.Message, "\r\n") {
				t.Errorf("violation %+v", v)
			}
			if v != again[i] {
				t.Errorf("judged twice: %+v, then %+v", v, again[i])
			}
		}
	})
}
