package gen

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/spec"
)

const negotiatedSpec = `openapi: 3.0.3
info: {title: negotiated, version: "1"}
paths:
  /items/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: ok
          content:
            application/json: {schema: {type: object}}
            text/html: {schema: {type: string}}
            application/vnd.shop.item+json: {schema: {type: object}}
        "404":
          description: missing
          content:
            application/problem+json: {schema: {type: object}}
    put:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {name: Accept-Language, in: header, schema: {type: string, enum: [en, de]}}
      responses:
        "200":
          description: ok
          content:
            text/csv: {schema: {type: string}}
  /ping:
    get:
      responses:
        "204": {description: nothing}
`

func loadNegotiated(t *testing.T) *spec.Spec {
	t.Helper()
	s, err := spec.LoadSpecData(context.Background(), "negotiated.yaml", []byte(negotiatedSpec))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResponseMediaIsTheUnionOverResponses(t *testing.T) {
	s := loadNegotiated(t)
	want := []string{"application/json", "application/problem+json", "application/vnd.shop.item+json", "text/html"}
	if got := s.Operation("GET /items/{id}").ResponseMedia; !reflect.DeepEqual(got, want) {
		t.Errorf("response media %v, want %v", got, want)
	}
	if got := s.Operation("GET /ping").ResponseMedia; len(got) != 0 {
		t.Errorf("an operation without content declares %v", got)
	}
}

func TestNegotiationSweepAsksForEveryDeclaredType(t *testing.T) {
	s := loadNegotiated(t)
	get := s.Operation("GET /items/{id}")
	sweep := NegotiationSweep(get)
	values := map[string][]string{}
	for _, hv := range sweep {
		values[hv.Name] = append(values[hv.Name], hv.Value)
	}
	for _, ct := range get.ResponseMedia {
		if !slices.Contains(values[HeaderAccept], ct) {
			t.Errorf("declared %s never asked for: %v", ct, values[HeaderAccept])
		}
	}
	for _, v := range []string{"*/*", "application/*", "text/*"} {
		if !slices.Contains(values[HeaderAccept], v) {
			t.Errorf("wildcard %s missing: %v", v, values[HeaderAccept])
		}
	}
	qlist := false
	for _, v := range values[HeaderAccept] {
		qlist = qlist || strings.Contains(v, ",") && strings.Contains(v, ";q=0.9")
	}
	if !qlist {
		t.Errorf("no q-list among %v", values[HeaderAccept])
	}
	if !slices.Contains(values[HeaderAcceptLanguage], "fr-CH, fr;q=0.9, en;q=0.8") || !slices.Contains(values[HeaderAcceptLanguage], "*") {
		t.Errorf("languages %v", values[HeaderAcceptLanguage])
	}
	for _, c := range []string{"gzip", "br", "zstd", "deflate", "identity"} {
		if !slices.Contains(values[HeaderAcceptEncoding], c) {
			t.Errorf("coding %s missing: %v", c, values[HeaderAcceptEncoding])
		}
	}
	if !reflect.DeepEqual(sweep, NegotiationSweep(get)) {
		t.Error("the sweep is not deterministic")
	}

	// A write gets the Accept sweep only; a declared Accept-Language
	// parameter is a value like any other, not the generator's to set.
	put := s.Operation("PUT /items/{id}")
	for _, hv := range NegotiationSweep(put) {
		if hv.Name != HeaderAccept {
			t.Errorf("PUT swept %s: %s", hv.Name, hv.Value)
		}
	}
	if got := Negotiable(put); !reflect.DeepEqual(got, []string{HeaderAccept, HeaderAcceptEncoding}) {
		t.Errorf("negotiable headers of PUT: %v", got)
	}
}

func TestNegotiationTokens(t *testing.T) {
	tests := []struct {
		header, value string
		want          []string
		part          NamePart
	}{
		{HeaderAccept, "text/html;q=0.9, application/vnd.shop.item+json;q=0.8, */*;q=0.1", []string{"html", "json"}, PartExtension},
		{HeaderAccept, "text/plain", []string{"plain", "txt", "text"}, PartExtension},
		{HeaderAccept, "application/x-yaml, image/*", []string{"yaml", "yml"}, PartExtension},
		{HeaderAccept, "application/json;q=0, text/csv", []string{"csv"}, PartExtension},
		{HeaderAcceptLanguage, "fr-CH, fr;q=0.9, *;q=0.5", []string{"fr-CH", "fr_CH", "fr-ch", "fr_ch", "fr"}, PartTag},
		{HeaderAcceptLanguage, "zh-Hant-TW", []string{"zh-Hant-TW", "zh_Hant_TW", "zh-hant-tw", "zh_hant_tw", "zh-Hant", "zh_Hant", "zh-hant", "zh_hant", "zh"}, PartTag},
		{HeaderAcceptLanguage, "*", nil, PartTag},
		{HeaderAcceptEncoding, "gzip, br;q=0.8, zstd;q=0, identity", []string{"gz", "br"}, PartExtension},
	}
	for _, tt := range tests {
		var got []string
		for _, sv := range negotiationTokens(tt.header, tt.value) {
			if sv.Target != "header."+tt.header || sv.Part != tt.part {
				t.Errorf("%s: %q: token %+v", tt.header, tt.value, sv)
			}
			got = append(got, sv.Value)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q: tokens %v, want %v", tt.header, tt.value, got, tt.want)
		}
	}
}

func TestNegotiationValueMapsNamesBack(t *testing.T) {
	s := loadNegotiated(t)
	get := s.Operation("GET /items/{id}")
	tests := []struct {
		header, name, want string
		ok                 bool
	}{
		{HeaderAcceptLanguage, "de", "de", true},
		{HeaderAcceptLanguage, "pt_BR", "pt-BR", true},
		{HeaderAcceptLanguage, "zh_Hant", "zh-Hant", true},
		{HeaderAcceptLanguage, "README", "", false},
		{HeaderAcceptLanguage, "index", "", false},
		{HeaderAccept, "html", "text/html", true},
		{HeaderAccept, "json", "application/json", true}, // the declared type, not the vendor one
		{HeaderAccept, "xml", "application/xml", true},   // not declared: the usual type
		{HeaderAccept, "txt", "text/plain", true},
		{HeaderAccept, "bak", "", false},
		{HeaderAcceptEncoding, "gz", "gzip", true},
		{HeaderAcceptEncoding, "br", "br", true},
		{HeaderAcceptEncoding, "zst", "zstd", true},
		{HeaderAcceptEncoding, "js", "", false},
	}
	for _, tt := range tests {
		got, ok := NegotiationValue(get, tt.header, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NegotiationValue(%s, %q) = %q, %v; want %q, %v", tt.header, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEncodeSendsNegotiationHeaders(t *testing.T) {
	s := loadNegotiated(t)
	g := New(s, WithSeed(1))
	get := s.Operation("GET /items/{id}")
	in, intent := g.Input(get, Valid)
	in.Headers = map[string]string{"accept-language": "de-CH, de;q=0.9", HeaderAccept: "text/html"}
	req := g.Encode(get, in, intent)
	if got := req.Header["Accept-Language"]; !reflect.DeepEqual(got, []string{"de-CH, de;q=0.9"}) {
		t.Errorf("Accept-Language sent as %v (headers %v)", got, req.Header)
	}
	if got := req.Header["Accept"]; !reflect.DeepEqual(got, []string{"text/html"}) {
		t.Errorf("Accept sent as %v", got)
	}
	var tokens []string
	for _, sv := range req.Values {
		if sv.Part != "" {
			tokens = append(tokens, sv.Target+"="+sv.Value)
		}
	}
	if !slices.Contains(tokens, "header.Accept=html") || !slices.Contains(tokens, "header.Accept-Language=de_CH") || !slices.Contains(tokens, "header.Accept-Language=de") {
		t.Errorf("sent tokens %v", tokens)
	}

	// A declared Accept-Language parameter wins over a negotiated value.
	put := s.Operation("PUT /items/{id}")
	pin, pintent := g.Input(put, Valid)
	pv, _ := pin.Param("header.Accept-Language")
	pv.Value, pv.Set = "en", true
	pin.Headers = map[string]string{HeaderAcceptLanguage: "de"}
	if got := g.Encode(put, pin, pintent).Header["Accept-Language"]; !reflect.DeepEqual(got, []string{"en"}) {
		t.Errorf("declared parameter overridden: %v", got)
	}

	c := in.Clone()
	c.Headers[HeaderAccept] = "text/csv"
	if in.Headers[HeaderAccept] != "text/html" {
		t.Error("Clone shares the headers")
	}
}

func TestMutateNegotiation(t *testing.T) {
	s := loadNegotiated(t)
	put := s.Operation("PUT /items/{id}")
	a, b := New(s, WithSeed(7)), New(s, WithSeed(7))
	in, _ := a.Input(put, Valid)
	_, _ = b.Input(put, Valid)
	seen := map[string]bool{}
	for range 300 {
		out, intent := a.MutateNegotiation(put, in)
		out2, intent2 := b.MutateNegotiation(put, in)
		if !reflect.DeepEqual(out, out2) || intent != intent2 {
			t.Fatal("not deterministic")
		}
		h, ok := NegotiationHeader(intent.Target)
		if !ok || h == HeaderAcceptLanguage {
			t.Fatalf("mutated %q (declared or no negotiation header)", intent.Target)
		}
		if v := out.Headers[h]; v != "" {
			seen[h+": "+v] = true
		}
		in = out
	}
	var accepts, codings int
	for k := range seen {
		switch {
		case strings.HasPrefix(k, "Accept: "):
			accepts++
		case strings.HasPrefix(k, "Accept-Encoding: "):
			codings++
		}
	}
	if accepts < 5 || codings < 5 || !seen["Accept: text/csv"] || !seen["Accept: */*"] {
		t.Errorf("little variety: %d Accept, %d Accept-Encoding values: %v", accepts, codings, seen)
	}
}

func TestLanguageTag(t *testing.T) {
	for s, want := range map[string]bool{
		"de": true, "pt-BR": true, "pt_BR": true, "zh-Hant-TW": true, "es-419": true, "gsw": true,
		"": false, "d": false, "README": false, "fr--CH": false, "en-": false, "12": false, "de.json": false,
	} {
		if got := LanguageTag(s); got != want {
			t.Errorf("LanguageTag(%q) = %v", s, got)
		}
	}
}
