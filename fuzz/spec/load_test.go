package spec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const swagger2 = `swagger: "2.0"
info: {title: t, version: "1"}
basePath: /api/v2
securityDefinitions:
  key: {type: apiKey, in: query, name: api_key}
paths:
  /items:
    get:
      parameters:
        - {name: ids, in: query, type: array, items: {type: integer}, collectionFormat: pipes}
        - {name: tags, in: query, type: array, items: {type: string}, collectionFormat: multi}
      responses:
        "200": {description: ok, schema: {type: array, items: {$ref: '#/definitions/Item'}}}
    post:
      security: [{key: []}]
      consumes: [application/x-www-form-urlencoded]
      parameters:
        - {name: name, in: formData, type: string, required: true}
      responses:
        "201": {description: created}
definitions:
  Item:
    type: object
    properties:
      id: {type: integer}
`

const openapi31 = `{
  "openapi": "3.1.0",
  "info": {"title": "t", "version": "1"},
  "servers": [{"url": "https://{host}/base/{v}", "variables": {"host": {"default": "example.com"}, "v": {"default": "v3"}}}],
  "paths": {
    "/things/{id}": {
      "get": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": ["integer", "null"], "exclusiveMinimum": 0}}],
        "responses": {"200": {"description": "ok"}}
      }
    }
  }
}`

const invalidOperation = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /good:
    get:
      responses: {"200": {description: ok}}
  /bad:
    get:
      parameters:
        - {name: x, in: nowhere, schema: {type: string}}
      responses: {"200": {description: ok}}
  /lookaround:
    get:
      parameters:
        - {name: p, in: query, schema: {type: string, pattern: '^(?!admin)[a-z]+$'}}
      responses: {"200": {description: ok}}
`

const cyclic = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /tree:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Node'}
      responses: {"200": {description: ok}}
components:
  schemas:
    Node:
      type: object
      required: [name]
      properties:
        name: {type: string}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
        parent: {$ref: '#/components/schemas/Node'}
`

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadSpecVersions(t *testing.T) {
	tests := []struct {
		name, file, content, version, basePath string
		ops                                    []string
	}{
		{"swagger 2.0 yaml", "s.yaml", swagger2, "2.0", "/api/v2", []string{"POST /items", "GET /items"}},
		{"openapi 3.1 json", "s.json", openapi31, "3.1.0", "/base/v3", []string{"GET /things/{id}"}},
		{"openapi 3.0 yaml", "pets.yaml", "", "3.0.3", "/v1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "../testdata/pets.yaml"
			if tt.content != "" {
				path = write(t, tt.file, tt.content)
			}
			s, err := LoadSpec(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if s.Version != tt.version || s.BasePath != tt.basePath {
				t.Errorf("version %q base %q, want %q %q", s.Version, s.BasePath, tt.version, tt.basePath)
			}
			for _, id := range tt.ops {
				if s.Operation(id) == nil {
					t.Errorf("operation %s missing; have %d", id, len(s.Operations))
				}
			}
			if !strings.HasPrefix(s.Hash, "sha256:") || len(s.Hash) != 71 {
				t.Errorf("hash %q", s.Hash)
			}
		})
	}
}

func TestSwaggerCollectionFormatAndForm(t *testing.T) {
	s, err := LoadSpecData(context.Background(), "s.yaml", []byte(swagger2), WithSchemeValue("key", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	get := s.Operation("GET /items")
	formats := map[string]string{}
	for _, p := range get.Params {
		formats[p.Name] = p.CollectionFormat
	}
	if formats["ids"] != "pipes" || formats["tags"] != "multi" {
		t.Errorf("collection formats %v", formats)
	}
	post := s.Operation("POST /items")
	if post.Body == nil || post.Body.Media[0].Type != "application/x-www-form-urlencoded" {
		t.Fatalf("formData body not converted: %+v", post.Body)
	}
	if c := s.Credentials(post); c.Query.Get("api_key") != "k1" {
		t.Errorf("credentials %+v", c)
	}
}

func TestLoadErrorsAreOneClearLine(t *testing.T) {
	tests := []struct {
		name, file, content string
		kind                error
		want                []string
	}{
		{"yaml syntax", "bad.yaml", "openapi: 3.0.3\ninfo:\n  title: t\n   version: x\n", ErrSyntax, []string{"bad.yaml:4:", "YAML syntax error", "fix:"}},
		{"json syntax", "bad.json", "{\n  \"openapi\": \"3.0.3\",\n  \"info\": {,}\n}", ErrSyntax, []string{"bad.json:3:12", "JSON syntax error"}},
		{"unresolved ref", "ref.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Missing'}\n", ErrUnresolvedRef, []string{"ref.yaml:11:", `"#/components/schemas/Missing"`, "fix:"}},
		{"not openapi", "x.yaml", "hello: world\n", ErrNotOpenAPI, []string{"no top-level \"openapi\" or \"swagger\" key"}},
		{"old version", "x.yaml", "swagger: '1.2'\n", ErrNotOpenAPI, []string{"unsupported swagger version"}},
		{"empty", "x.yaml", "   \n", ErrNotOpenAPI, []string{"empty document"}},
		{"no operations", "x.yaml", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n", ErrNoOperations, []string{"no usable operations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, tt.file, tt.content)
			_, err := LoadSpec(context.Background(), path)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q is not %v", msg, tt.kind)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
	_, err := LoadSpec(context.Background(), filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestInvalidOperationsAreSkippedWithWarnings(t *testing.T) {
	s, err := LoadSpecData(context.Background(), "inv.yaml", []byte(invalidOperation))
	if err != nil {
		t.Fatal(err)
	}
	if s.Operation("GET /good") == nil || s.Operation("GET /lookaround") == nil {
		t.Errorf("valid operations dropped: %v", s.Warnings)
	}
	if s.Operation("GET /bad") != nil {
		t.Error("invalid operation kept")
	}
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "skipping GET /bad") || !strings.Contains(s.Warnings[0], "inv.yaml:8") {
		t.Errorf("warnings %q", s.Warnings)
	}
}

func TestCyclicSchemaLoads(t *testing.T) {
	s, err := LoadSpecData(context.Background(), "c.yaml", []byte(cyclic))
	if err != nil {
		t.Fatal(err)
	}
	node := s.Operation("POST /tree").Body.Media[0].Schema
	if node.Properties["parent"].Value != node {
		t.Error("cycle not resolved to the same schema")
	}
}

func TestBasePathOverrideAndMatch(t *testing.T) {
	s, err := LoadSpec(context.Background(), "../testdata/pets.yaml", WithBasePath("/api/"))
	if err != nil {
		t.Fatal(err)
	}
	if s.BasePath != "/api" {
		t.Fatalf("base path %q", s.BasePath)
	}
	tests := []struct{ method, path, want, id string }{
		{"GET", "/api/pets/12?x=1", "GET /pets/{petId}", "12"},
		{"POST", "/api/pets", "POST /pets", ""},
		{"GET", "/v1/pets", "", ""},
		{"PATCH", "/api/pets/1", "", ""},
	}
	for _, tt := range tests {
		op, vars, ok := s.Match(tt.method, tt.path)
		switch {
		case tt.want == "" && ok:
			t.Errorf("%s %s matched %s", tt.method, tt.path, op.ID)
		case tt.want != "" && (!ok || op.ID != tt.want || vars["petId"] != tt.id):
			t.Errorf("%s %s: got %v %v", tt.method, tt.path, op, vars)
		}
	}
}

func TestHeadersAndSchemeValues(t *testing.T) {
	s, err := LoadSpec(context.Background(), "../testdata/pets.yaml", WithHeaderLine("Authorization: Bearer x"), WithSchemeValue("apiKey", "k"))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Credentials(s.Operation("POST /pets"))
	if c.Header.Get("Authorization") != "Bearer x" || c.Header.Get("X-API-Key") != "k" {
		t.Errorf("credentials %v", c.Header)
	}
	if _, err := LoadSpec(context.Background(), "../testdata/pets.yaml", WithHeaderLine("no colon")); err == nil {
		t.Error("bad header line accepted")
	}
	s2, _ := LoadSpec(context.Background(), "../testdata/pets.yaml")
	if !strings.Contains(strings.Join(s2.Warnings, "\n"), "need credentials (schemes: apiKey)") {
		t.Errorf("no credentials warning: %q", s2.Warnings)
	}
}

func TestDiscoverSpec(t *testing.T) {
	data, err := os.ReadFile("../testdata/pets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>not a spec</html>")
	})
	mux.HandleFunc("/v3/api-docs", func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s, u, err := DiscoverSpec(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u != srv.URL+"/v3/api-docs" || len(s.Operations) == 0 {
		t.Errorf("found %s with %d operations", u, len(s.Operations))
	}
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()
	_, _, err = DiscoverSpec(context.Background(), empty.URL)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), FixPassSpec) {
		t.Errorf("discovery on an empty server: %v", err)
	}
}

func TestLoadFromURL(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir("../testdata")))
	defer srv.Close()
	s, err := LoadSpec(context.Background(), srv.URL+"/pets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != srv.URL+"/pets.yaml" || len(s.Operations) != 9 {
		t.Errorf("loaded %s with %d operations", s.Source, len(s.Operations))
	}
	if _, err := LoadSpec(context.Background(), srv.URL+"/nope.yaml"); !errors.Is(err, ErrFetch) {
		t.Errorf("404: %v", err)
	}
}

// bigSpec generates a document with n operations sharing component schemas.
func bigSpec(n int) []byte {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: big, version: '1'}\npaths:\n")
	for i := 0; i < n/2; i++ {
		fmt.Fprintf(&b, "  /r%d/{id}:\n    parameters:\n      - {name: id, in: path, required: true, schema: {type: integer}}\n", i)
		fmt.Fprintf(&b, "    get:\n      operationId: get%d\n      parameters:\n        - {name: q, in: query, schema: {type: string, pattern: '^[a-z]+$'}}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Thing'}\n", i)
		fmt.Fprintf(&b, "    put:\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/Thing'}\n      responses:\n        '200': {description: ok}\n")
	}
	b.WriteString("components:\n  schemas:\n    Thing:\n      type: object\n      properties:\n        id: {type: integer}\n        name: {type: string, maxLength: 20}\n        child: {$ref: '#/components/schemas/Thing'}\n        tags: {type: array, items: {type: string}}\n")
	return []byte(b.String())
}

func TestLargeSpecLoads(t *testing.T) {
	data := bigSpec(4000)
	start := time.Now()
	s, err := LoadSpecData(context.Background(), "big.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Operations) != 4000 {
		t.Fatalf("%d operations", len(s.Operations))
	}
	t.Logf("loaded %d operations (%d KiB) in %v", len(s.Operations), len(data)>>10, time.Since(start))
}

func BenchmarkLoadSpec4000(b *testing.B) {
	data := bigSpec(4000)
	for b.Loop() {
		if _, err := LoadSpecData(context.Background(), "big.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzLoadSpecData(f *testing.F) {
	for _, seed := range []string{swagger2, openapi31, invalidOperation, cyclic, "{", "openapi: 3.0.0\npaths: {/a: {get: {}}}", "swagger: '2.0'\npaths: 3",
		aliasBomb, refChain(40), deep(300), opsSpec(3, `"x": {"$ref": "#/paths/~1r00001/get"}`)} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := LoadSpecData(ctx, "fuzz.yaml", data, WithoutExternalRefs())
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if len(s.Operations) == 0 {
			t.Error("spec without operations loaded")
		}
	})
}

func TestHashCoversExternalRefs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'schemas.yaml#/Thing'}\n"
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("openapi.yaml", root)
	write("schemas.yaml", "Thing: {type: object, properties: {id: {type: integer}}}\n")
	a, err := LoadSpec(ctx, filepath.Join(dir, "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadSpec(ctx, filepath.Join(dir, "openapi.yaml"))
	if err != nil || again.Hash != a.Hash {
		t.Fatalf("same documents, hashes %s and %s (%v)", a.Hash, again.Hash, err)
	}
	write("schemas.yaml", "Thing: {type: object, properties: {id: {type: string}}}\n")
	b, err := LoadSpec(ctx, filepath.Join(dir, "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Hash == b.Hash {
		t.Error("the hash did not change with the referenced document")
	}
	sum := sha256.Sum256([]byte(root))
	if a.Hash == "sha256:"+hex.EncodeToString(sum[:]) {
		t.Error("the hash covers the root document only")
	}
	if _, err := LoadSpec(ctx, filepath.Join(dir, "openapi.yaml"), WithoutExternalRefs()); err == nil {
		t.Error("external ref followed although refused")
	}
	// Without external refs the hash is that of the document's bytes.
	own, err := LoadSpecData(ctx, "self.yaml", []byte(strings.Replace(root, "{$ref: 'schemas.yaml#/Thing'}", "{type: object}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	sum = sha256.Sum256([]byte(strings.Replace(root, "{$ref: 'schemas.yaml#/Thing'}", "{type: object}", 1)))
	if own.Hash != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("hash of a self-contained document: %s", own.Hash)
	}
}
