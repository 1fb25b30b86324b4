package links

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Store remembers the values answers held for bindings, most recent last.
// It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	links  *Links
	spec   *spec.Spec
	values map[string][]any // "producer\x00source" -> values
}

// NewStore returns an empty store for the bindings of l.
func NewStore(s *spec.Spec, l *Links) *Store {
	return &Store{spec: s, links: l, values: map[string][]any{}}
}

const storeCap = 16

// Reset forgets every value: they named resources of a target that is gone.
func (st *Store) Reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.values = map[string][]any{}
}

// Produced returns the values each binding fed by op takes from one
// answer, by binding (producer, source and consumer): the ids a recorded
// answer handed out, to compare with those of another run.
func Produced(s *spec.Spec, l *Links, op *spec.Operation, resp corpus.Response) map[string][]any {
	st := NewStore(s, l)
	st.Record(op, resp)
	return st.values
}

// Record takes the values bindings want from a 2xx answer of op.
func (st *Store) Record(op *spec.Operation, resp corpus.Response) {
	if resp.Status < 200 || resp.Status >= 300 {
		return
	}
	bs := st.links.From(op.ID)
	if len(bs) == 0 {
		return
	}
	body := AnswerBody(resp)
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, b := range bs {
		vals := Values(st.spec, b, resp, body)
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

// AnswerBody returns a function parsing resp's JSON body once, when first
// asked (nil when it is not JSON).
func AnswerBody(resp corpus.Response) func() any {
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

// Values extracts the values binding b takes from a producer's
// answer: from its Location header or its body (body parses it).
func Values(s *spec.Spec, b Binding, resp corpus.Response, body func() any) []any {
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

// Forget drops the values a successful DELETE of op with in removed.
func (st *Store) Forget(op *spec.Operation, in gen.Input) {
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

// Bind sets the parameters of in that have a remembered value and returns
// their keys; latest picks the most recent value, otherwise one is drawn
// with pick.
func (st *Store) Bind(op *spec.Operation, in *gen.Input, latest bool, pick func(n int) int) []string {
	return st.bindParams(op, in, latest, pick, nil)
}

// BindOnly binds the listed parameters to their latest values.
func (st *Store) BindOnly(op *spec.Operation, in *gen.Input, only []string) []string {
	return st.bindParams(op, in, true, nil, only)
}

func (st *Store) bindParams(op *spec.Operation, in *gen.Input, latest bool, pick func(n int) int, only []string) []string {
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
