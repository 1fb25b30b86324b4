package oracle

import (
	"bytes"
	"compress/gzip"
	"context"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestOracleChecks(t *testing.T) {
	s := testspecs.Pets(t)
	o := New(s, append(DefaultChecks, CheckAcceptedInvalid)...)
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

// TestMediaTypesWithoutDecoder: a documented media type kin-openapi cannot
// decode (application/xml) is never a finding; the rest is still checked.
func TestMediaTypesWithoutDecoder(t *testing.T) {
	s, err := spec.LoadSpec(context.Background(), "../../testdata/targets/pypets/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	o := New(s)
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

func TestOracleLeavesNegotiationAlone(t *testing.T) {
	s := testspecs.Load(t, "greeting.yaml", testspecs.Greeting)
	o := New(s)
	req := func(h map[string]string) corpus.Request {
		r := corpus.Request{Operation: "GET /greeting", Method: "GET", Path: "/greeting", Header: map[string][]string{}}
		for k, v := range h {
			r.Header[k] = []string{v}
		}
		return r
	}
	refused := corpus.Response{Status: 406, Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("no")}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"text": 5}`)) // would break the schema, if it were read
	_ = zw.Close()
	compressed := corpus.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, Body: gz.Bytes()}
	plainBad := corpus.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"text": 5}`)}
	tests := []struct {
		name string
		req  corpus.Request
		resp corpus.Response
		want Check
	}{
		{"406 to an undeclared type", req(map[string]string{"Accept": "image/png"}), refused, ""},
		{"406 to a refused declared type", req(map[string]string{"Accept": "text/html;q=0, image/png"}), refused, ""},
		{"406 to a language", req(map[string]string{"Accept": "text/html", "Accept-Language": "tlh"}), refused, ""},
		{"406 to a declared type", req(map[string]string{"Accept": "text/*"}), refused, CheckStatus},
		{"406 to nothing asked", req(nil), refused, CheckStatus},
		// A server always has some language and the identity coding.
		{"406 to any language", req(map[string]string{"Accept-Language": "*"}), refused, CheckStatus},
		{"406 to a language or any other", req(map[string]string{"Accept-Language": "tlh, *;q=0.5"}), refused, CheckStatus},
		{"406 to identity", req(map[string]string{"Accept-Encoding": "identity"}), refused, CheckStatus},
		{"406 to a coding or identity", req(map[string]string{"Accept-Encoding": "br, identity;q=0.5"}), refused, CheckStatus},
		{"406 to a coding", req(map[string]string{"Accept-Encoding": "br"}), refused, ""},
		{"406 to a coding, identity refused", req(map[string]string{"Accept-Encoding": "identity;q=0, br"}), refused, ""},
		{"compressed body", req(map[string]string{"Accept-Encoding": "gzip"}), compressed, ""},
		{"plain body still checked", req(nil), plainBad, CheckSchema},
	}
	for _, tt := range tests {
		vs := o.Check(context.Background(), tt.req, gen.Intent{}, tt.resp)
		switch {
		case tt.want == "" && len(vs) > 0:
			t.Errorf("%s: unexpected %+v", tt.name, vs)
		case tt.want != "" && (len(vs) != 1 || vs[0].Check != tt.want):
			t.Errorf("%s: got %+v, want %s", tt.name, vs, tt.want)
		}
	}
}

// A 406 the operation documents is judged against what it documents, even
// when the request asked for something the server need not offer.
func TestOracleJudgesADocumented406(t *testing.T) {
	doc := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /doc:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "406":
          description: none of the representations asked for
          content:
            application/json:
              schema: {type: object, required: [available], properties: {available: {type: array, items: {type: string}}}}
`
	s := testspecs.Load(t, "t.yaml", doc)
	o := New(s)
	req := corpus.Request{Operation: "GET /doc", Method: "GET", Path: "/doc", Header: map[string][]string{"Accept": {"image/png"}}}
	asDocumented := corpus.Response{Status: 406, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"available": ["application/json"]}`)}
	if vs := o.Check(context.Background(), req, gen.Intent{}, asDocumented); len(vs) != 0 {
		t.Errorf("a 406 as documented: %+v", vs)
	}
	for _, bad := range []corpus.Response{
		{Status: 406, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"available": "json"}`)},
		{Status: 406, Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("no")},
	} {
		if vs := o.Check(context.Background(), req, gen.Intent{}, bad); len(vs) != 1 {
			t.Errorf("a 406 unlike the documented one (%s %s) passed: %+v", bad.Header["Content-Type"][0], bad.Body, vs)
		}
	}
}
