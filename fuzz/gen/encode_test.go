package gen

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestParameterSerialization(t *testing.T) {
	arr := []any{"a", "b"}
	obj := map[string]any{"x": 1.0, "y": "z"}
	tests := []struct {
		name string
		p    spec.Parameter
		v    any
		want string // path: the path; query: the query string; header/cookie: the header
	}{
		{"path simple", spec.Parameter{Name: "id", In: "path", Style: "simple"}, 5.0, "/r/5"},
		{"path escaped", spec.Parameter{Name: "id", In: "path", Style: "simple"}, "a/b c", "/r/a%2Fb%20c"},
		{"path array", spec.Parameter{Name: "id", In: "path", Style: "simple"}, arr, "/r/a,b"},
		{"path label explode", spec.Parameter{Name: "id", In: "path", Style: "label", Explode: true}, arr, "/r/.a.b"},
		{"path matrix", spec.Parameter{Name: "id", In: "path", Style: "matrix"}, arr, "/r/;id=a,b"},
		{"path matrix explode", spec.Parameter{Name: "id", In: "path", Style: "matrix", Explode: true}, arr, "/r/;id=a;id=b"},
		{"path object explode", spec.Parameter{Name: "id", In: "path", Style: "simple", Explode: true}, obj, "/r/x=1,y=z"},
		{"query form explode", spec.Parameter{Name: "q", In: "query", Style: "form", Explode: true}, arr, "q=a&q=b"},
		{"query form", spec.Parameter{Name: "q", In: "query", Style: "form"}, arr, "q=a,b"},
		{"query space", spec.Parameter{Name: "q", In: "query", Style: "spaceDelimited"}, arr, "q=a+b"},
		{"query pipe", spec.Parameter{Name: "q", In: "query", Style: "pipeDelimited"}, arr, "q=a|b"},
		{"query deepObject", spec.Parameter{Name: "f", In: "query", Style: "deepObject", Explode: true}, obj, "f[x]=1&f[y]=z"},
		{"query form object explode", spec.Parameter{Name: "f", In: "query", Style: "form", Explode: true}, obj, "x=1&y=z"},
		{"query escaped", spec.Parameter{Name: "q", In: "query", Style: "form", Explode: true}, "a&b=c d", "q=a%26b%3Dc+d"},
		{"swagger csv", spec.Parameter{Name: "q", In: "query", Style: "form", CollectionFormat: "csv"}, arr, "q=a,b"},
		{"swagger ssv", spec.Parameter{Name: "q", In: "query", Style: "form", CollectionFormat: "ssv"}, arr, "q=a+b"},
		{"swagger tsv", spec.Parameter{Name: "q", In: "query", Style: "form", CollectionFormat: "tsv"}, arr, "q=a%09b"},
		{"swagger pipes", spec.Parameter{Name: "q", In: "query", Style: "form", CollectionFormat: "pipes"}, arr, "q=a|b"},
		{"swagger multi", spec.Parameter{Name: "q", In: "query", Style: "form", CollectionFormat: "multi"}, arr, "q=a&q=b"},
		{"content json", spec.Parameter{Name: "q", In: "query", ContentType: "application/json"}, obj, "q=%7B%22x%22%3A1,%22y%22%3A%22z%22%7D"},
		{"header array", spec.Parameter{Name: "X-Tags", In: "header", Style: "simple"}, arr, "X-Tags: a,b"},
		{"header control chars", spec.Parameter{Name: "X-V", In: "header", Style: "simple"}, "a\r\nb", "X-V: a??b"},
		{"cookie", spec.Parameter{Name: "session", In: "cookie", Style: "form", Explode: true}, "a b;c", "Cookie: session=a%20b%3Bc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Schema = &openapi3.Schema{}
			op := &spec.Operation{ID: "GET /r", Method: "GET", Path: "/r", Params: []*spec.Parameter{&p}}
			if p.In == "path" {
				op.Path = "/r/{id}"
			}
			g := New(nil)
			r := g.Encode(op, Input{Op: op.ID, Params: []ParamValue{{In: p.In, Name: p.Name, Value: tt.v, Set: true}}}, Intent{})
			var got string
			switch p.In {
			case "path":
				got = r.Path
			case "query":
				got = strings.TrimPrefix(r.Path, "/r?")
			case "header":
				got = p.Name + ": " + strings.Join(r.Header[p.Name], ",")
			case "cookie":
				got = "Cookie: " + strings.Join(r.Header["Cookie"], "")
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBodyEncodings(t *testing.T) {
	obj := map[string]any{"name": "rex", "tags": []any{"a", "b"}, "file": "data", "meta": map[string]any{"k": 1.0}}
	schema := &openapi3.Schema{Properties: openapi3.Schemas{"file": {Value: &openapi3.Schema{Format: "binary"}}}}
	tests := []struct {
		media, wantCT string
		want          []string
	}{
		{"application/json", "application/json", []string{`{"file":"data","meta":{"k":1},"name":"rex","tags":["a","b"]}`}},
		{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded", []string{"file=data&meta=%7B%22k%22%3A1%7D&name=rex&tags=a&tags=b"}},
		{"multipart/form-data", "multipart/form-data; boundary=" + multipartBoundary, []string{
			`name="file"; filename="file.bin"`, "Content-Type: application/octet-stream", `name="name"`, "rex", `name="meta"`, `{"k":1}`}},
		{"text/plain", "text/plain", []string{"{"}},
	}
	for _, tt := range tests {
		t.Run(tt.media, func(t *testing.T) {
			ct, body := encodeBody(&spec.Media{Type: tt.media, Schema: schema}, obj)
			if ct != tt.wantCT {
				t.Errorf("content type %q", ct)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("body %q lacks %q", body, w)
				}
			}
		})
	}
}

func TestXMLBodies(t *testing.T) {
	str := &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}}}
	schema := &openapi3.Schema{
		Title: "Pet",
		XML:   &openapi3.XML{Name: "pet", Namespace: "http://example.org/p", Prefix: "p"},
		Properties: openapi3.Schemas{
			"id":   {Value: &openapi3.Schema{Type: &openapi3.Types{"integer"}, XML: &openapi3.XML{Attribute: true}}},
			"name": str,
			"tags": {Value: &openapi3.Schema{Type: &openapi3.Types{"array"}, XML: &openapi3.XML{Wrapped: true},
				Items: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, XML: &openapi3.XML{Name: "tag"}}}}},
			"nick": {Value: &openapi3.Schema{Type: &openapi3.Types{"array"}, Items: str}},
		},
	}
	v := map[string]any{"id": 7.0, "name": "R<e>x & co", "tags": []any{"a", "b"}, "nick": []any{"x", "y"}}
	for _, media := range []string{"application/xml", "text/xml", "application/atom+xml"} {
		ct, body := encodeBody(&spec.Media{Type: media, Schema: schema}, v)
		want := xml.Header + `<p:pet xmlns:p="http://example.org/p" id="7"><name>R&lt;e&gt;x &amp; co</name><nick>x</nick><nick>y</nick><tags><tag>a</tag><tag>b</tag></tags></p:pet>`
		if ct != media || string(body) != want {
			t.Errorf("%s: %s\n%s\nwant\n%s", media, ct, body, want)
		}
		if !Encodable(media) {
			t.Errorf("%s not encodable", media)
		}
		var out any
		if err := xml.Unmarshal(body, &out); err != nil && !strings.Contains(err.Error(), "unknown type") {
			t.Errorf("%s: not well-formed: %v", media, err)
		}
	}
	if _, body := encodeBody(&spec.Media{Type: "application/xml"}, "plain"); !strings.HasSuffix(string(body), "<root>plain</root>") {
		t.Errorf("scalar without schema: %s", body)
	}
}
