// Command server is whittle's hostile target: one small HTTP service whose
// HOSTILE_CASE environment variable picks how it attacks the tool that fuzzes
// it (huge headers, a new error on every request, a spec that costs a lot to
// load or to generate values for, answers that cost a lot to validate). It
// serves its own spec at /openapi.json, as a discovered spec is served by the
// target, and answers /health.
//
// It is built on the host (CGO_ENABLED=0) and imported as an image by
// bench/hostile; its cases are listed there. "server -print-spec CASE"
// writes a case's spec to stdout.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

func main() {
	c := os.Getenv("HOSTILE_CASE")
	if len(os.Args) == 3 && os.Args[1] == "-print-spec" {
		// The spec a case serves, for runs given it as a file.
		c = os.Args[2]
	}
	s, ok := cases[c]
	if !ok {
		log.Fatalf("unknown HOSTILE_CASE %q", c)
	}
	doc := s.spec()
	if len(os.Args) == 3 {
		os.Stdout.Write(doc)
		return
	}
	h := s.handler
	if h == nil {
		h = okJSON
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", h)
	var root http.Handler = mux
	if s.headers > 0 {
		root = flood(root, s.headers, s.headerCount)
	}
	srv := &http.Server{Addr: ":8080", Handler: root, MaxHeaderBytes: 1 << 20}
	log.Printf("hostile case %s on :8080 (spec %d bytes)", c, len(doc))
	log.Fatal(srv.ListenAndServe())
}

type hostileCase struct {
	spec    func() []byte
	handler http.HandlerFunc
	// headers: bytes of extra headers on every answer, spread over
	// headerCount headers.
	headers, headerCount int
}

var cases = map[string]hostileCase{
	// 8 MB of headers on every answer (the spec and /health included).
	"headers-8mb": {spec: itemsSpec, headers: 8 << 20, headerCount: 1024},
	// 100,000 small headers on every answer.
	"headers-many": {spec: itemsSpec, headers: 2 << 20, headerCount: 100_000},
	// Just under 1 MiB of headers on every answer: each one is accepted.
	"headers-under-cap": {spec: itemsSpec, headers: 900 << 10, headerCount: 900},
	// A new 500 body on every request: a new finding each time if findings
	// are told apart by what the target writes.
	"findings-500": {spec: itemsSpec, handler: new500},
	// The first case: both at once.
	"headers-and-500": {spec: itemsSpec, handler: new500, headers: 8 << 20, headerCount: 1024},
	// 200 answers that break the schema in a new way every time (a
	// property named by the target).
	"findings-schema": {spec: itemsSpec, handler: newViolation},
	// minLength: 4000000000 on one parameter.
	"minlength": {spec: minLengthSpec},
	// A 60 MB spec with 40,000 operations.
	"bigspec": {spec: bigSpec},
	// A recursive oneOf (request body and answer), answered with arrays
	// nested 40 deep.
	"deep-oneof": {spec: deepOneOfSpec, handler: deepArrays},
	// An allOf DAG 6 wide and 9 deep (request body and answer).
	"allof-dag": {spec: allOfDAGSpec},
}

func okJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"id": 1, "name": "x"}`))
}

var counter atomic.Uint64

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func new500(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, "internal error %d: %s at %s\n", counter.Add(1), randomHex(16), r.URL.Path)
}

func newViolation(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id": "not-a-number-%s", "unexpected_%s": %d}`, randomHex(4), randomHex(8), counter.Add(1))
}

func deepArrays(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(strings.Repeat("[", 40) + "1" + strings.Repeat("]", 40)))
}

// flood adds size bytes of headers, in count headers, to every answer.
func flood(next http.Handler, size, count int) http.Handler {
	per := size / count
	if per < 8 {
		per = 8
	}
	value := strings.Repeat("h", per-8)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for i := range count {
			h["X-F"+strconv.Itoa(i)] = []string{value}
		}
		next.ServeHTTP(w, r)
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type obj = map[string]any

func doc(paths obj, schemas obj) []byte {
	return mustJSON(obj{
		"openapi": "3.0.3",
		"info":    obj{"title": "hostile", "version": "1"},
		"paths":   paths,
		"components": obj{
			"schemas": schemas,
		},
	})
}

func jsonContent(schema any) obj {
	return obj{"application/json": obj{"schema": schema}}
}

func itemsPaths() obj {
	item := obj{"$ref": "#/components/schemas/Item"}
	return obj{
		"/items": obj{
			"get": obj{
				"parameters": []any{obj{"name": "q", "in": "query", "schema": obj{"type": "string"}}},
				"responses":  obj{"200": obj{"description": "ok", "content": jsonContent(item)}},
			},
			"post": obj{
				"requestBody": obj{"required": true, "content": jsonContent(item)},
				"responses":   obj{"200": obj{"description": "ok", "content": jsonContent(item)}},
			},
		},
		"/items/{id}": obj{
			"get": obj{
				"parameters": []any{obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "integer"}}},
				"responses":  obj{"200": obj{"description": "ok", "content": jsonContent(item)}},
			},
		},
	}
}

func itemSchema() obj {
	return obj{"Item": obj{
		"type":                 "object",
		"required":             []string{"id"},
		"additionalProperties": false,
		"properties": obj{
			"id":   obj{"type": "integer"},
			"name": obj{"type": "string"},
		},
	}}
}

func itemsSpec() []byte { return doc(itemsPaths(), itemSchema()) }

func minLengthSpec() []byte {
	paths := itemsPaths()
	paths["/search"] = obj{"get": obj{
		"parameters": []any{obj{"name": "q", "in": "query", "required": true,
			"schema": obj{"type": "string", "minLength": 4000000000}}},
		"responses": obj{"200": obj{"description": "ok"}},
	}}
	return doc(paths, itemSchema())
}

// bigSpec is 40,000 operations (20,000 paths, GET and POST), padded with
// descriptions to about 60 MB.
func bigSpec() []byte {
	pad := strings.Repeat("lorem ipsum dolor sit amet ", 13)
	paths := obj{}
	for i := range 20_000 {
		body := obj{"type": "object", "description": pad, "properties": obj{
			"name": obj{"type": "string", "description": pad},
			"size": obj{"type": "integer", "minimum": 0},
		}}
		paths[fmt.Sprintf("/r%05d/{id}", i)] = obj{
			"parameters": []any{obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "integer"}}},
			"get": obj{
				"description": pad,
				"parameters":  []any{obj{"name": "q", "in": "query", "description": pad, "schema": obj{"type": "string"}}},
				"responses":   obj{"200": obj{"description": pad, "content": jsonContent(obj{"type": "object"})}},
			},
			"post": obj{
				"description": pad,
				"requestBody": obj{"content": jsonContent(body)},
				"responses":   obj{"200": obj{"description": pad, "content": jsonContent(obj{"type": "object"})}},
			},
		}
	}
	return doc(paths, obj{})
}

// deepOneOfSpec: Tree is one of two array shapes of Trees, or an integer;
// both array branches must be tried at every level to tell them apart.
func deepOneOfSpec() []byte {
	tree := obj{"$ref": "#/components/schemas/Tree"}
	schemas := obj{"Tree": obj{"oneOf": []any{
		obj{"type": "integer"},
		obj{"type": "array", "items": tree},
		obj{"type": "array", "items": tree, "minItems": 1},
	}}}
	paths := obj{"/trees": obj{
		"get": obj{"responses": obj{"200": obj{"description": "ok", "content": jsonContent(tree)}}},
		"post": obj{
			"requestBody": obj{"required": true, "content": jsonContent(tree)},
			"responses":   obj{"200": obj{"description": "ok", "content": jsonContent(tree)}},
		},
	}}
	return doc(paths, schemas)
}

// allOfDAGSpec: N_d_i (depth d < 9, i < 6) is allOf every N_(d+1)_j, each
// with a property of its own: 6^9 paths through the DAG from N_0_0.
func allOfDAGSpec() []byte {
	const wide, deep = 6, 9
	schemas := obj{}
	for d := range deep {
		for i := range wide {
			s := obj{"type": "object", "properties": obj{
				fmt.Sprintf("p%d_%d", d, i): obj{"type": "string", "maxLength": 8},
			}}
			if d+1 < deep {
				var all []any
				for j := range wide {
					all = append(all, obj{"$ref": fmt.Sprintf("#/components/schemas/N_%d_%d", d+1, j)})
				}
				s["allOf"] = all
			}
			schemas[fmt.Sprintf("N_%d_%d", d, i)] = s
		}
	}
	root := obj{"$ref": "#/components/schemas/N_0_0"}
	paths := obj{"/dag": obj{
		"post": obj{
			"requestBody": obj{"required": true, "content": jsonContent(root)},
			"responses":   obj{"200": obj{"description": "ok", "content": jsonContent(root)}},
		},
	}}
	return doc(paths, schemas)
}
