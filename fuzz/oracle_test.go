package fuzz

import (
	"context"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestOracleChecks(t *testing.T) {
	s := loadPets(t)
	o := NewOracle(s, append(DefaultChecks, CheckAcceptedInvalid)...)
	json := map[string][]string{"Content-Type": {"application/json"}}
	get := corpus.Request{Operation: "GET /pets/{petId}", Method: "GET", Path: "/v1/pets/1"}
	tests := []struct {
		name   string
		req    corpus.Request
		intent gen.Intent
		resp   corpus.Response
		want   Check // "" for no violation
		sig    string
	}{
		{"conforming", get, gen.Intent{}, corpus.Response{Status: 200, Header: json, Body: []byte(`{"id":1,"name":"rex"}`)}, "", ""},
		{"server error", get, gen.Intent{}, corpus.Response{Status: 503, Body: []byte("down 12")}, CheckServerError, "503 "},
		{"undocumented status", get, gen.Intent{}, corpus.Response{Status: 418, Header: json, Body: []byte(`{}`)}, CheckStatus, "418"},
		{"schema", get, gen.Intent{}, corpus.Response{Status: 200, Header: json, Body: []byte(`{"id":"x","name":"rex"}`)}, CheckSchema, "/id"},
		{"missing required", get, gen.Intent{}, corpus.Response{Status: 200, Header: json, Body: []byte(`{"id":1}`)}, CheckSchema, "name"},
		{"content type", get, gen.Intent{}, corpus.Response{Status: 200, Header: map[string][]string{"Content-Type": {"text/html"}}, Body: []byte(`<p>`)}, CheckContentType, "200 text/html"},
		{"timeout", get, gen.Intent{}, corpus.Response{Err: "timeout: context deadline exceeded"}, CheckTimeout, "timeout"},
		{"refused", get, gen.Intent{}, corpus.Response{Err: "dial tcp: connect: connection refused"}, CheckTransport, "connection refused"},
		{"accepted invalid", get, gen.Intent{Phase: gen.Invalid, Kind: "wrong-type", Target: "path.petId", SchemaInvalid: true},
			corpus.Response{Status: 200, Header: json, Body: []byte(`{"id":1,"name":"rex"}`)}, CheckAcceptedInvalid, "wrong-type path.petId"},
		{"matched by path", corpus.Request{Method: "GET", Path: "/v1/pets/7"}, gen.Intent{}, corpus.Response{Status: 200, Header: json, Body: []byte(`{"id":1}`)}, CheckSchema, "name"},
		{"no content to check", corpus.Request{Operation: "DELETE /pets/{petId}", Method: "DELETE", Path: "/v1/pets/1"}, gen.Intent{}, corpus.Response{Status: 204}, "", ""},
		{"truncated body", get, gen.Intent{}, corpus.Response{Status: 200, Header: json, Body: []byte(`{"id":`), Truncated: true}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := o.Check(context.Background(), tt.req, tt.intent, tt.resp)
			if tt.want == "" {
				if len(vs) > 0 {
					t.Fatalf("unexpected %+v", vs)
				}
				return
			}
			if len(vs) != 1 || vs[0].Check != tt.want || !strings.Contains(vs[0].Signature, tt.sig) {
				t.Fatalf("got %+v, want %s with signature containing %q", vs, tt.want, tt.sig)
			}
			if strings.Contains(vs[0].Message, "\n") {
				t.Errorf("multi-line message %q", vs[0].Message)
			}
		})
	}
}

func TestServerErrorSignatureMasksValues(t *testing.T) {
	a := bodyDigest([]byte(`{"error":"pet 12 failed at 2024-01-02","id":"3fa85f64-5717-4562-b3fc-2c963f66afa6"}`))
	b := bodyDigest([]byte(`{"error":"pet 97 failed at 2025-11-30","id":"9aa85f64-5717-4562-b3fc-2c963f66afa7"}`))
	c := bodyDigest([]byte(`{"error":"database locked"}`))
	if a != b || a == c {
		t.Errorf("digests %s %s %s", a, b, c)
	}
}

func TestFindingsAreDeduplicated(t *testing.T) {
	fs := newFindingSet()
	one := Finding{Operation: "GET /a", Check: CheckServerError, Signature: "500 x", Requests: make([]corpus.Request, 3)}
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

func TestCurl(t *testing.T) {
	tests := []struct {
		req  corpus.Request
		want string
	}{
		{corpus.Request{Method: "GET", Path: "/v1/pets?limit=100"}, `curl -sS -i --globoff 'http://127.0.0.1:8080/v1/pets?limit=100'`},
		{corpus.Request{Method: "POST", Path: "/v1/pets", Header: map[string][]string{"X-Key": {"it's"}, "Content-Type": {"application/json"}}, Body: []byte(`{"name":"o'neil"}`)},
			`curl -sS -i -X 'POST' --globoff 'http://127.0.0.1:8080/v1/pets' -H 'Content-Type: application/json' -H 'X-Key: it'\''s' --data-binary '{"name":"o'\''neil"}'`},
		{corpus.Request{Method: "POST", Path: "/up", Body: []byte("a\r\nb\x00'")}, `curl -sS -i -X 'POST' --globoff 'http://127.0.0.1:8080/up' --data-binary $'a\r\nb\x00\''`},
		{corpus.Request{Method: "DELETE", Path: "/v1/pets/1"}, `curl -sS -i -X 'DELETE' --globoff 'http://127.0.0.1:8080/v1/pets/1'`},
	}
	for _, tt := range tests {
		if got := Curl("http://127.0.0.1:8080/", tt.req); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestInferLinks(t *testing.T) {
	s := loadPets(t)
	l := InferLinks(s)
	want := []struct{ consumer, param, producer, source, reason string }{
		{"GET /pets/{petId}", "path.petId", "POST /pets", "body:/id", "openapi-link"},
		{"PUT /pets/{petId}", "path.petId", "POST /pets", "body:/id", "nested-path"},
		{"DELETE /pets/{petId}", "path.petId", "POST /pets", "location", "nested-path"},
		{"POST /pets/{petId}/photo", "path.petId", "GET /pets", "body:/*/id", "nested-path"},
	}
	for _, w := range want {
		found := false
		for _, b := range l.For(w.consumer) {
			if b.Param == w.param && b.Producer == w.producer && b.Source == w.source && b.Reason == w.reason {
				found = true
			}
		}
		if !found {
			t.Errorf("no binding %+v; have %+v", w, l.For(w.consumer))
		}
	}
	if got := l.For("GET /pets/{petId}")[0]; got.Reason != "openapi-link" {
		t.Errorf("best binding %+v", got)
	}
	if p := l.Producers("GET /stats"); len(p) != 0 {
		t.Errorf("GET /stats has producers %v", p)
	}
	order := PlanOrder(s, l)
	if order[0].ID != "POST /login" && order[0].ID != "POST /pets" {
		t.Errorf("plan starts with %s", order[0].ID)
	}
	if last := order[len(order)-1]; last.Method != "DELETE" {
		t.Errorf("plan ends with %s", last.ID)
	}
}

func TestValueStore(t *testing.T) {
	s := loadPets(t)
	l := InferLinks(s)
	st := newValueStore(s, l)
	st.record(s.Operation("POST /pets"), corpus.Response{Status: 201, Header: map[string][]string{"Location": {"/v1/pets/41"}}, Body: []byte(`{"id":41,"name":"a"}`)})
	st.record(s.Operation("GET /pets"), corpus.Response{Status: 200, Body: []byte(`[{"id":5},{"id":6}]`)})
	in := gen.Input{Params: []gen.ParamValue{{In: "path", Name: "petId", Value: 999.0, Set: true}}}
	bound := st.bind(s.Operation("GET /pets/{petId}"), &in, true, nil)
	if len(bound) != 1 || gen.Scalar(in.Params[0].Value) != "41" {
		t.Fatalf("bound %v → %v", bound, in.Params[0].Value)
	}
	st.forget(s.Operation("DELETE /pets/{petId}"), in)
	in.Params[0].Value = 999.0
	st.bind(s.Operation("GET /pets/{petId}"), &in, true, nil)
	if gen.Scalar(in.Params[0].Value) == "41" {
		t.Error("deleted id still bound")
	}
	if v := pointerValues(map[string]any{"a": []any{map[string]any{"id": 1.0}, map[string]any{"id": 2.0}}}, "/a/*/id"); len(v) != 2 {
		t.Errorf("pointer values %v", v)
	}
	if v, ok := matchPrefix("/v1/pets/{petId}", "/v1/pets/7/photo", "petId"); !ok || v != "7" {
		t.Errorf("matchPrefix %q %v", v, ok)
	}
}

// TestMediaTypesWithoutDecoder: a documented media type kin-openapi cannot
// decode (application/xml) is never a finding; the rest is still checked.
func TestMediaTypesWithoutDecoder(t *testing.T) {
	s, err := spec.LoadSpec(context.Background(), "../testdata/targets/pypets/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	o := NewOracle(s)
	req := corpus.Request{Operation: "GET /items/{item_id}/export", Method: "GET", Path: "/items/1/export?format=xml"}
	ct := func(v string) map[string][]string { return map[string][]string{"Content-Type": {v}} }
	tests := []struct {
		name string
		resp corpus.Response
		want Check
	}{
		{"xml", corpus.Response{Status: 200, Header: ct("application/xml"), Body: []byte(`<?xml version="1.0" ?><item id="1"/>`)}, ""},
		{"xml with charset", corpus.Response{Status: 200, Header: ct("application/xml; charset=utf-8"), Body: []byte(`<item/>`)}, ""},
		{"csv", corpus.Response{Status: 200, Header: ct("text/csv"), Body: []byte("id,name\n1,kite\n")}, ""},
		{"json still checked", corpus.Response{Status: 200, Header: ct("application/json"), Body: []byte(`{"id":"x"}`)}, CheckSchema},
		{"undocumented type", corpus.Response{Status: 200, Header: ct("image/png"), Body: []byte("\x89PNG")}, CheckContentType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := o.Check(context.Background(), req, gen.Intent{}, tt.resp)
			if tt.want == "" && len(vs) > 0 || tt.want != "" && (len(vs) != 1 || vs[0].Check != tt.want) {
				t.Fatalf("got %+v, want %q", vs, tt.want)
			}
		})
	}
}
