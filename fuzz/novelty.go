package fuzz

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// novelty tracks response novelty, the signal that works without a tracer:
// a status code not yet seen for an operation, or a new response shape.
// As an observer it reads the answer (and its decoded JSON) and the
// coverage signal, and fills the record's news: what corpus admission and
// the monitor go by.
type novelty struct {
	statuses map[string]bool // op + status
	shapes   map[string]bool // op + status + shape hash
}

func newNovelty() *novelty {
	return &novelty{statuses: map[string]bool{}, shapes: map[string]bool{}}
}

// observe notes what is new about the answer (see news), and what the
// coverage signal says is.
func (n *novelty) observe(_ context.Context, rec *record) {
	rec.new = n.news(rec.op.ID, rec.resp, rec.doc, rec.isJSON, responseSchema(rec.op, rec.resp))
	if rec.sig.New() {
		rec.new = append(rec.new, rec.sig.String())
	}
}

// news returns what is new about resp for op (nothing: nil). doc is the
// decoded JSON body, or nil when it is not JSON; schema is the answer's
// documented schema (nil when unknown), which says which objects are maps
// keyed by data.
func (n *novelty) news(op string, resp corpus.Response, doc any, isJSON bool, schema *openapi3.Schema) []string {
	var out []string
	status := fmt.Sprint(resp.Status)
	if resp.Status == 0 {
		status = "no-answer"
	}
	if k := op + " " + status; !n.statuses[k] {
		n.statuses[k] = true
		out = append(out, "new status "+status)
	}
	if resp.Status != 0 {
		if k := op + " " + status + " " + shape(resp, doc, isJSON, schema); !n.shapes[k] {
			n.shapes[k] = true
			if len(out) == 0 {
				out = append(out, "new response shape")
			}
		}
	}
	return out
}

// responseSchema is the schema op documents for an answer of that status
// and media type (the default response's when the status has none).
func responseSchema(op *spec.Operation, resp corpus.Response) *openapi3.Schema {
	if op == nil || op.Op == nil || op.Op.Responses == nil {
		return nil
	}
	r := op.Op.Responses.Status(resp.Status)
	if r == nil {
		r = op.Op.Responses.Default()
	}
	if r == nil || r.Value == nil {
		return nil
	}
	mt := r.Value.Content.Get(resp.ContentType())
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

// decodeJSON decodes a JSON-looking body; ok is false for other bodies.
func decodeJSON(resp corpus.Response) (any, bool) {
	if !strings.Contains(resp.ContentType(), "json") && (len(resp.Body) == 0 || (resp.Body[0] != '{' && resp.Body[0] != '[')) {
		return nil, false
	}
	var v any
	if json.Unmarshal(resp.Body, &v) != nil {
		return nil, false
	}
	return v, true
}

func shape(resp corpus.Response, doc any, isJSON bool, schema *openapi3.Schema) string {
	var b strings.Builder
	b.WriteString(resp.ContentType())
	b.WriteByte('|')
	if isJSON {
		shapeOf(&b, doc, schema, 0)
	} else if len(resp.Body) == 0 {
		b.WriteString("empty")
	} else {
		b.WriteString("body")
	}
	h := fnv.New64a()
	h.Write([]byte(b.String()))
	return fmt.Sprintf("%016x", h.Sum64())
}

// maxShapeKeys is how many keys of an object, and how many of its data
// keys, make its shape: a response's size must not make its shape costly.
const maxShapeKeys = 64

// firstKeys sorts keys and keeps the first maxShapeKeys: objects keyed by
// data (without a schema that says so, or in their data keys) are shaped
// well enough by their first keys.
func firstKeys(keys []string) []string {
	sort.Strings(keys)
	return keys[:min(len(keys), maxShapeKeys)]
}

// shapeOf writes the structure of v. s, when known, is v's schema: the
// keys of an object that are not among its properties but allowed by
// additionalProperties are data (counts by tag, entries by id), folded into
// one "*" whose value shapes are merged, so that a new key is not a new shape.
func shapeOf(b *strings.Builder, v any, s *openapi3.Schema, depth int) {
	if depth > 5 {
		b.WriteString("…")
		return
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		var dataKeys []string
		for k := range x {
			if isDataKey(s, k) {
				dataKeys = append(dataKeys, k)
			} else {
				keys = append(keys, k)
			}
		}
		b.WriteByte('{')
		for _, k := range firstKeys(keys) {
			b.WriteString(k)
			b.WriteByte(':')
			shapeOf(b, x[k], propertySchema(s, k), depth+1)
			b.WriteByte(',')
		}
		if len(dataKeys) > 0 {
			var vs []string
			seen := map[string]bool{}
			for _, k := range firstKeys(dataKeys) {
				var eb strings.Builder
				shapeOf(&eb, x[k], propertySchema(s, k), depth+1)
				if !seen[eb.String()] {
					seen[eb.String()] = true
					vs = append(vs, eb.String())
				}
			}
			sort.Strings(vs)
			b.WriteString("*:")
			b.WriteString(strings.Join(vs, "|"))
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		seen := map[string]bool{}
		for i, e := range x {
			if i >= 3 {
				break
			}
			var eb strings.Builder
			shapeOf(&eb, e, itemSchema(s), depth+1)
			if !seen[eb.String()] {
				seen[eb.String()] = true
				b.WriteString(eb.String())
			}
		}
		if len(x) == 0 {
			b.WriteString("empty")
		}
		b.WriteByte(']')
	case string:
		b.WriteByte('s')
	case float64:
		b.WriteByte('n')
	case bool:
		b.WriteByte('b')
	case nil:
		b.WriteByte('0')
	}
}

// isDataKey reports whether key k of an object of schema s names data
// rather than a field: it is not a declared property and s explicitly
// allows others (an unspecified additionalProperties is not a map's mark).
func isDataKey(s *openapi3.Schema, k string) bool {
	if s == nil {
		return false
	}
	if _, ok := s.Properties[k]; ok {
		return false
	}
	ap := s.AdditionalProperties
	return ap.Schema != nil || (ap.Has != nil && *ap.Has)
}

// propertySchema is the schema of key k of an object of schema s (nil when unknown).
func propertySchema(s *openapi3.Schema, k string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[k]; p != nil {
		return p.Value
	}
	if ap := s.AdditionalProperties.Schema; ap != nil {
		return ap.Value
	}
	return nil
}

// itemSchema is the schema of the elements of an array of schema s.
func itemSchema(s *openapi3.Schema) *openapi3.Schema {
	if s == nil || s.Items == nil {
		return nil
	}
	return s.Items.Value
}
