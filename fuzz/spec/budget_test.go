package spec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/internal/limits"
)

// opsSpec is a JSON spec with n GET operations (/r0000...) and the given
// components.
func opsSpec(n int, components string) string {
	var b strings.Builder
	b.WriteString(`{"openapi": "3.0.3", "info": {"title": "ops", "version": "1"}, "paths": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"/r%05d": {"get": {"responses": {"200": {"description": "ok"}}}}`, i)
	}
	b.WriteString(`}, "components": {` + components + `}}`)
	return b.String()
}

// refChain is a spec whose body schema starts a chain of n $refs.
func refChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"openapi": "3.0.3", "info": {"title": "chain", "version": "1"}, "paths": {"/a": {"post": {
  "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}},
  "responses": {"200": {"description": "ok"}}}}}, "components": {"schemas": {`)
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, `"S%d": {"$ref": "#/components/schemas/S%d"}, `, i-1, i)
	}
	fmt.Fprintf(&b, `"S%d": {"type": "string"}}}}`, n-1)
	return b.String()
}

// wide is a spec with one object of n keys (components.schemas).
func wide(n int) string {
	var b strings.Builder
	b.WriteString(`"schemas": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"S%d": {"type": "string"}`, i)
	}
	b.WriteString("}")
	return opsSpec(1, b.String())
}

// deep nests n arrays in one example value.
func deep(n int) string {
	return opsSpec(1, `"examples": {"deep": {"value": `+strings.Repeat("[", n)+strings.Repeat("]", n)+`}}`)
}

// aliasBomb is a YAML spec whose aliases expand to 10^8 values.
const aliasBomb = `openapi: 3.0.3
info: {title: bomb, version: '1'}
paths: {/a: {get: {responses: {'200': {description: ok}}}}}
x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
x-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
x-h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
`

// Specs over a budget are refused with one line naming the limit, before
// kin-openapi spends minutes or gigabytes on them; the limit is recorded.
func TestSpecsOverABudgetAreRefused(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		limit     limits.Limit
		want      string
	}{
		{"ref chain", refChain(limits.RefChain.Int() + 2), limits.RefChain, "a chain of 34 $refs from #/paths/~1a/post/requestBody/content/application~1json/schema"},
		{"wide object", wide(limits.SpecKeys.Int() + 1), limits.SpecKeys, "an object of 10001 keys at #/components/schemas"},
		{"deep nesting", deep(limits.SpecNesting.Int() + 10), limits.SpecNesting, "values nested too deep at #/components/examples/deep/value/0/0"},
		{"alias bomb", aliasBomb, limits.SpecNodes, "too many values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := limits.NewRecorder(nil)
			_, err := LoadSpecData(context.Background(), "hostile.json", []byte(c.doc), WithLimits(rec))
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, "("+c.limit.Name+")") || strings.Contains(msg, "\n") {
				t.Errorf("message %q, want one line with %q and the limit's name", msg, c.want)
			}
			if !rec.Reached(c.limit) {
				t.Errorf("%s not recorded: %+v", c.limit.Name, rec.Hits())
			}
		})
	}
	t.Run("chain at the limit loads", func(t *testing.T) {
		if _, err := LoadSpecData(context.Background(), "chain.json", []byte(refChain(limits.RefChain.Int()))); err != nil {
			t.Fatal(err)
		}
	})
}

// A spec the target serves is held to lower caps than a user's file, and
// one over them ends discovery at once with the fix to give a spec.
func TestDiscoveredSpecsHaveLowerCaps(t *testing.T) {
	big := wide(limits.DiscoveredSpecKeys.Int() + 1)
	padded := opsSpec(1, `"x-pad": "`+strings.Repeat("p", limits.DiscoveredSpecBytes.Int())+`"`)
	for _, c := range []struct {
		name, doc string
		limit     limits.Limit
	}{
		{"bytes", padded, limits.DiscoveredSpecBytes},
		{"keys", big, limits.DiscoveredSpecKeys},
	} {
		t.Run(c.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, c.doc) })
			srv := httptest.NewServer(mux)
			defer srv.Close()
			rec := limits.NewRecorder(nil)
			_, where, err := DiscoverSpec(context.Background(), srv.URL, WithLimits(rec))
			if !errors.Is(err, ErrTooLarge) || where != srv.URL+"/openapi.json" {
				t.Fatalf("DiscoverSpec: %q, %v; want ErrTooLarge from /openapi.json", where, err)
			}
			msg := err.Error()
			for _, want := range []string{"spec " + srv.URL + "/openapi.json: ", "for a spec served by the target (" + c.limit.Name + ")", "(fix: " + FixPassSpec + ")"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if !rec.Reached(c.limit) {
				t.Errorf("%s not recorded", c.limit.Name)
			}
			// The same document is the user's to give.
			file := filepath.Join(t.TempDir(), "openapi.json")
			if err := os.WriteFile(file, []byte(c.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadSpec(context.Background(), file); err != nil {
				t.Errorf("as a file: %v", err)
			}
		})
	}
}

// A spec with more operations than a run fuzzes is cut, before
// kin-openapi loads it, to an even spread of them; path items that $refs
// point into stay loaded (not fuzzed); the hash is the document's as read.
func TestManyOperationsAreCutToAnEvenSpread(t *testing.T) {
	n := limits.SpecOperations.Int() * 2
	doc := opsSpec(n, `"parameters": {"P": {"$ref": "#/paths/~1r00001/get/parameters/0"}}`)
	doc = strings.Replace(doc, `"/r00001": {"get": {`, `"/r00001": {"get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}], `, 1)
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			data := []byte(doc)
			if format == "yaml" {
				data = []byte(toYAML(t, doc))
			}
			rec := limits.NewRecorder(nil)
			s, err := LoadSpecData(context.Background(), "many."+format, data, WithLimits(rec))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(s.Operations); got != limits.SpecOperations.Int() {
				t.Errorf("%d operations, want %d", got, limits.SpecOperations.Int())
			}
			if s.Operation("GET /r00000") == nil || s.Operation("GET /r00002") == nil || s.Operation("GET /r00001") != nil || s.Operation("GET /r00003") != nil {
				t.Error("not every other operation: want /r00000, /r00002, not /r00001, /r00003")
			}
			if p := s.Doc.Components.Parameters["P"]; p == nil || p.Value == nil || p.Value.Name != "q" {
				t.Error("the $ref into a path item that is not fuzzed does not resolve")
			}
			if len(s.Warnings) == 0 || !strings.Contains(s.Warnings[0], fmt.Sprintf("the spec has %d operations, more than the %d a run fuzzes (limit spec.operations)", n, limits.SpecOperations.Value)) {
				t.Errorf("warnings %q", s.Warnings)
			}
			if !rec.Reached(limits.SpecOperations) {
				t.Error("spec.operations not recorded")
			}
			whole, err := LoadSpecData(context.Background(), "many."+format, data)
			if err != nil || whole.Hash != s.Hash || !strings.HasPrefix(s.Hash, "sha256:") {
				t.Errorf("hash %s of the cut load, %s (%v) of the same bytes", s.Hash, whole.Hash, err)
			}
		})
	}
}

// toYAML writes a JSON document as YAML (JSON is YAML; indenting it one
// key per line makes it block YAML that the YAML path reads).
func toYAML(t *testing.T, doc string) string {
	t.Helper()
	tree, err := plainTree([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	writeYAML(&b, tree, 0)
	return b.String()
}

func writeYAML(b *strings.Builder, v any, indent int) {
	pad := strings.Repeat("  ", indent)
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				fmt.Fprintf(b, "%s%q:\n", pad, k)
				writeYAML(b, e, indent+1)
			default:
				fmt.Fprintf(b, "%s%q: %s\n", pad, k, scalar(e))
			}
		}
	case []any:
		for _, e := range x {
			fmt.Fprintf(b, "%s-\n", pad)
			writeYAML(b, e, indent+1)
		}
	default:
		fmt.Fprintf(b, "%s%s\n", pad, scalar(x))
	}
}

func scalar(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// A spec file's $refs may read documents of its tree, but not without end.
func TestDocumentsReadThroughRefsAreCounted(t *testing.T) {
	dir := t.TempDir()
	n := limits.SpecDocuments.Int() + 1
	for i := range n {
		next := fmt.Sprintf(`{"type": "object", "properties": {"next": {"$ref": "d%d.json"}}}`, i+1)
		if i == n-1 {
			next = `{"type": "string"}`
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%d.json", i)), []byte(next), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	main := `{"openapi": "3.0.3", "info": {"title": "docs", "version": "1"}, "paths": {"/a": {"post": {
  "requestBody": {"content": {"application/json": {"schema": {"$ref": "d0.json"}}}},
  "responses": {"200": {"description": "ok"}}}}}}`
	file := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(file, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := limits.NewRecorder(nil)
	_, err := LoadSpec(context.Background(), file, WithLimits(rec))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "(spec.documents)") {
		t.Fatalf("err = %v, want spec.documents reached", err)
	}
	if !rec.Reached(limits.SpecDocuments) {
		t.Error("spec.documents not recorded")
	}
}
