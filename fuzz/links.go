package fuzz

import (
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
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

// InferLinks finds producer → consumer bindings from OpenAPI links, nested
// paths (POST /pets → /pets/{petId}), Location headers and matching names
// and types of response fields and parameters.
func InferLinks(s *spec.Spec) *Links {
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
	for _, p := range s.Operations {
		for _, lk := range p.Links {
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
				param := findParam(c, n)
				if param == nil {
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
				add(Binding{Producer: p.ID, Consumer: c.ID, Param: param.Key(), Source: src, Reason: "openapi-link", Score: 10})
			}
		}
	}
	fields := map[string][]responseField{}
	for _, p := range s.Operations {
		fields[p.ID] = successFields(p)
	}
	for _, c := range s.Operations {
		for _, q := range c.Params {
			if q.In != openapi3.ParameterInPath && q.In != openapi3.ParameterInQuery || enumerated(q.Schema, 0) {
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

func findParam(op *spec.Operation, name string) *spec.Parameter {
	for _, p := range op.Params {
		if p.Name == name || p.Key() == name {
			return p
		}
	}
	return nil
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

// valueStore remembers values answers held for bindings, most recent last.
type valueStore struct {
	mu     sync.Mutex
	links  *Links
	spec   *spec.Spec
	values map[string][]any // "producer\x00source" -> values
}

func newValueStore(s *spec.Spec, l *Links) *valueStore {
	return &valueStore{spec: s, links: l, values: map[string][]any{}}
}

const storeCap = 16

// record extracts the values bindings want from a 2xx answer of op.
func (st *valueStore) record(op *spec.Operation, resp corpus.Response) {
	if resp.Status < 200 || resp.Status >= 300 {
		return
	}
	bs := st.links.From(op.ID)
	if len(bs) == 0 {
		return
	}
	body := answerBody(resp)
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, b := range bs {
		vals := bindingValues(st.spec, b, resp, body)
		k := b.Producer + "\x00" + b.Source + "\x00" + b.Consumer
		for _, v := range vals {
			list := st.values[k]
			list = append(list, v)
			if len(list) > storeCap {
				list = list[len(list)-storeCap:]
			}
			st.values[k] = list
		}
	}
}

// answerBody returns a function parsing resp's JSON body once, when first
// asked (nil when it is not JSON).
func answerBody(resp corpus.Response) func() any {
	var body any
	parsed := false
	return func() any {
		if !parsed {
			parsed = true
			_ = json.Unmarshal(resp.Body, &body)
		}
		return body
	}
}

// bindingValues extracts the values binding b takes from a producer's
// answer: from its Location header or its body (body parses it).
func bindingValues(s *spec.Spec, b Binding, resp corpus.Response, body func() any) []any {
	if b.Source != "location" {
		return pointerValues(body(), strings.TrimPrefix(b.Source, "body:"))
	}
	loc := headerValue(resp.Header, "Location")
	if loc == "" {
		return nil
	}
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	c := s.Operation(b.Consumer)
	if c == nil {
		return nil
	}
	if v, ok := matchPrefix(s.BasePath+c.Path, loc, strings.TrimPrefix(b.Param, "path.")); ok {
		return []any{v}
	}
	return nil
}

// forget drops a value a successful DELETE removed.
func (st *valueStore) forget(op *spec.Operation, in gen.Input) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, b := range st.links.For(op.ID) {
		pv, ok := in.Param(b.Param)
		if !ok || !pv.Set {
			continue
		}
		k := b.Producer + "\x00" + b.Source + "\x00" + b.Consumer
		list := st.values[k]
		out := list[:0]
		for _, v := range list {
			if gen.Scalar(v) != gen.Scalar(pv.Value) {
				out = append(out, v)
			}
		}
		st.values[k] = out
	}
	// The same id feeds sibling consumers too.
	for k, list := range st.values {
		for _, b := range st.links.For(op.ID) {
			if pv, ok := in.Param(b.Param); ok && pv.Set && strings.HasPrefix(k, b.Producer+"\x00") {
				out := list[:0]
				for _, v := range list {
					if gen.Scalar(v) != gen.Scalar(pv.Value) {
						out = append(out, v)
					}
				}
				st.values[k] = out
			}
		}
	}
}

// bind sets the parameters of in that have a remembered value; latest picks
// the most recent value, otherwise one is drawn with pick.
func (st *valueStore) bind(op *spec.Operation, in *gen.Input, latest bool, pick func(n int) int) []string {
	return st.bindParams(op, in, latest, pick, nil)
}

// bindOnly binds the listed parameters to their latest values.
func (st *valueStore) bindOnly(op *spec.Operation, in *gen.Input, only []string) []string {
	return st.bindParams(op, in, true, nil, only)
}

func (st *valueStore) bindParams(op *spec.Operation, in *gen.Input, latest bool, pick func(n int) int, only []string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var bound []string
	for _, b := range st.links.For(op.ID) {
		if slices.Contains(bound, b.Param) || (only != nil && !slices.Contains(only, b.Param)) {
			continue
		}
		list := st.values[b.Producer+"\x00"+b.Source+"\x00"+b.Consumer]
		if len(list) == 0 {
			continue
		}
		pv, ok := in.Param(b.Param)
		if !ok {
			continue
		}
		v := list[len(list)-1]
		if !latest {
			v = list[pick(len(list))]
		}
		pv.Value, pv.Set = v, true
		bound = append(bound, b.Param)
	}
	return bound
}

func headerValue(h map[string][]string, name string) string {
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// matchPrefix matches a concrete path against a template's leading segments
// and returns the value of variable name.
func matchPrefix(tmpl, path, name string) (string, bool) {
	ts := strings.Split(strings.Trim(tmpl, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	for i, t := range ts {
		if i >= len(ps) {
			return "", false
		}
		if t == "{"+name+"}" {
			v, err := url.PathUnescape(ps[i])
			if err != nil {
				v = ps[i]
			}
			return v, true
		}
		if !strings.Contains(t, "{") && t != ps[i] {
			return "", false
		}
	}
	return "", false
}

// pointerValues evaluates a JSON pointer in which "*" stands for every element.
func pointerValues(v any, ptr string) []any {
	if ptr == "" || ptr == "/" {
		if isScalar(v) {
			return []any{v}
		}
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	cur := []any{v}
	for _, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		var next []any
		for _, c := range cur {
			switch x := c.(type) {
			case map[string]any:
				if e, ok := x[p]; ok {
					next = append(next, e)
				}
			case []any:
				if p == "*" {
					for i, e := range x {
						if i >= storeCap {
							break
						}
						next = append(next, e)
					}
				} else if i, err := strconv.Atoi(p); err == nil && i >= 0 && i < len(x) {
					next = append(next, x[i])
				}
			}
		}
		cur = next
	}
	out := cur[:0]
	for _, c := range cur {
		if isScalar(c) {
			out = append(out, c)
		}
	}
	return out
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}
