// Package links infers producer → consumer links between the operations of
// a spec (an id a create answers, that a read takes in its path) and keeps
// the values answers gave for them, so that later requests name resources
// that exist.
package links

import (
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/param"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Binding says that a consumer's parameter can take a value found in a
// producer's answer.
type Binding struct {
	Producer string `json:"producer"`
	Consumer string `json:"consumer"`
	// Param is the consumer's parameter key, "path.petId".
	Param string `json:"param"`
	// Source is where the value is in the answer: "body:/id", "body:/*/id"
	// (every element of an array), or "location" (the Location header
	// matched against the consumer's path).
	Source string `json:"source"`
	// Reason is "openapi-link", "nested-path", "same-name" or "id-suffix".
	Reason string `json:"reason"`
	Score  int    `json:"score"`
}

// Links holds the inferred producer → consumer bindings.
type Links struct {
	byConsumer map[string][]Binding
	byProducer map[string][]Binding
}

// For returns the bindings of a consumer's parameters, best first.
func (l *Links) For(consumer string) []Binding { return l.byConsumer[consumer] }

// From returns the bindings fed by a producer.
func (l *Links) From(producer string) []Binding { return l.byProducer[producer] }

// Producers returns the operations whose answers feed consumer's required
// path parameters, best first.
func (l *Links) Producers(consumer string) []string {
	var out []string
	for _, b := range l.byConsumer[consumer] {
		if strings.HasPrefix(b.Param, "path.") && !slices.Contains(out, b.Producer) {
			out = append(out, b.Producer)
		}
	}
	return out
}

// responseField is a value an answer carries.
type responseField struct {
	pointer string // "/id" or "/*/id"
	name    string
	types   []string
}

// Infer finds producer → consumer bindings from OpenAPI links, nested
// paths (POST /pets → /pets/{petId}), Location headers and matching names
// and types of response fields and parameters.
func Infer(s *spec.Spec) *Links {
	l := &Links{byConsumer: map[string][]Binding{}, byProducer: map[string][]Binding{}}
	seen := map[string]bool{}
	add := func(b Binding) {
		k := b.Producer + "\x00" + b.Consumer + "\x00" + b.Param + "\x00" + b.Source
		if seen[k] || b.Producer == b.Consumer {
			return
		}
		seen[k] = true
		l.byConsumer[b.Consumer] = append(l.byConsumer[b.Consumer], b)
		l.byProducer[b.Producer] = append(l.byProducer[b.Producer], b)
	}
	for _, prod := range s.Operations {
		for _, lk := range prod.Links {
			c := s.Operation(lk.Target)
			if c == nil {
				continue
			}
			names := make([]string, 0, len(lk.Parameters))
			for n := range lk.Parameters {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				expr, ok := lk.Parameters[n].(string)
				if !ok {
					continue
				}
				p := param.Find(c, n)
				if p == nil {
					continue
				}
				var src string
				switch {
				case strings.HasPrefix(expr, "$response.body#"):
					src = "body:" + strings.TrimPrefix(expr, "$response.body#")
				case strings.EqualFold(expr, "$response.header.Location"):
					src = "location"
				default:
					continue
				}
				add(Binding{Producer: prod.ID, Consumer: c.ID, Param: p.Key(), Source: src, Reason: "openapi-link", Score: 10})
			}
		}
	}
	fields := map[string][]responseField{}
	for _, p := range s.Operations {
		fields[p.ID] = successFields(p)
	}
	for _, c := range s.Operations {
		for _, q := range c.Params {
			if q.In != openapi3.ParameterInPath && q.In != openapi3.ParameterInQuery || param.Enumerated(q.Schema) {
				continue // an enum takes its own values, not another answer's
			}
			qn := gen.NormalizeName(q.Name)
			for _, p := range s.Operations {
				if p.ID == c.ID {
					continue
				}
				nested := nestedVar(p, c) == q.Name
				if nested && p.Method == "POST" {
					add(Binding{Producer: p.ID, Consumer: c.ID, Param: q.Key(), Source: "location", Reason: "nested-path", Score: 4})
				}
				for _, f := range fields[p.ID] {
					if !compatible(f.types, q.Schema) {
						continue
					}
					fn := gen.NormalizeName(f.name)
					switch {
					case nested && (fn == "id" || fn == qn):
						add(Binding{Producer: p.ID, Consumer: c.ID, Param: q.Key(), Source: "body:" + f.pointer, Reason: "nested-path", Score: 5 + boolInt(p.Method == "POST")})
					case fn == qn && len(qn) > 2:
						add(Binding{Producer: p.ID, Consumer: c.ID, Param: q.Key(), Source: "body:" + f.pointer, Reason: "same-name", Score: 3})
					case fn == "id" && strings.HasSuffix(qn, "id") && len(qn) > 2 && strings.HasPrefix(singular(lastLiteral(p.Path)), strings.TrimSuffix(qn, "id")) && strings.TrimSuffix(qn, "id") != "":
						add(Binding{Producer: p.ID, Consumer: c.ID, Param: q.Key(), Source: "body:" + f.pointer, Reason: "id-suffix", Score: 2})
					}
				}
			}
		}
	}
	for k := range l.byConsumer {
		bs := l.byConsumer[k]
		sort.SliceStable(bs, func(i, j int) bool { return bs[i].Score > bs[j].Score })
	}
	return l
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nestedVar returns the name of the path variable c's path adds right after
// p's path (/pets → /pets/{petId}/...), or "".
func nestedVar(p, c *spec.Operation) string {
	pp := strings.TrimRight(p.Path, "/")
	if strings.Contains(pp, "{") && strings.HasSuffix(pp, "}") {
		return "" // p is itself an item, not a collection
	}
	if !strings.HasPrefix(c.Path, pp+"/{") {
		return ""
	}
	rest := c.Path[len(pp)+2:]
	end := strings.IndexByte(rest, '}')
	if end < 0 {
		return ""
	}
	return rest[:end]
}

func lastLiteral(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if !strings.Contains(segs[i], "{") {
			return gen.NormalizeName(segs[i])
		}
	}
	return ""
}

func singular(s string) string {
	switch {
	case strings.HasSuffix(s, "ies"):
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "ses"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		return s[:len(s)-1]
	}
	return s
}

func compatible(types []string, s *openapi3.Schema) bool {
	want := "string"
	if s != nil && s.Type != nil && len(*s.Type) > 0 {
		want = (*s.Type)[0]
	}
	for _, t := range types {
		switch {
		case t == want:
			return true
		case want == "string" && (t == "integer" || t == "number"):
			return true
		case want == "number" && t == "integer":
			return true
		}
	}
	return false
}

// successFields lists the scalar fields of op's first 2xx JSON answer:
// top-level properties, and those of array elements ("/*/id").
func successFields(op *spec.Operation) []responseField {
	if op.Op.Responses == nil {
		return nil
	}
	codes := make([]string, 0)
	for c := range op.Op.Responses.Map() {
		if strings.HasPrefix(c, "2") {
			codes = append(codes, c)
		}
	}
	sort.Strings(codes)
	for _, c := range codes {
		r := op.Op.Responses.Value(c)
		if r == nil || r.Value == nil {
			continue
		}
		for ct, mt := range r.Value.Content {
			if !strings.Contains(ct, "json") || mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
				continue
			}
			var out []responseField
			collectFields(mt.Schema.Value, "", &out, 0)
			return out
		}
	}
	return nil
}

func collectFields(s *openapi3.Schema, prefix string, out *[]responseField, depth int) {
	if s == nil || depth > 2 {
		return
	}
	props := map[string]*openapi3.SchemaRef{}
	var items *openapi3.SchemaRef
	var walk func(s *openapi3.Schema, d int)
	walk = func(s *openapi3.Schema, d int) {
		if s == nil || d > 6 {
			return
		}
		for n, p := range s.Properties {
			props[n] = p
		}
		if s.Items != nil && items == nil {
			items = s.Items
		}
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
			for _, r := range list {
				if r != nil {
					walk(r.Value, d+1)
				}
			}
		}
	}
	walk(s, 0)
	if items != nil && len(props) == 0 {
		collectFields(items.Value, prefix+"/*", out, depth+1)
		return
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := props[n]
		if p == nil || p.Value == nil {
			continue
		}
		var types []string
		if p.Value.Type != nil {
			types = append(types, (*p.Value.Type)...)
		}
		if len(types) == 0 {
			types = []string{"string"}
		}
		if p.Value.Type.Includes("object") || p.Value.Type.Includes("array") {
			continue
		}
		*out = append(*out, responseField{pointer: prefix + "/" + escapePointer(n), name: n, types: types})
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
