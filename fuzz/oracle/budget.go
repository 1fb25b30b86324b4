package oracle

import (
	"bytes"
	"encoding/json"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
)

// The validator cannot be stopped once it runs: it takes no context, and a
// recursive oneOf answered with deep data makes it try every branch at
// every level (and, for answers, deep-copy the value for each branch and
// visit the matching one again), which is exponential in the depth, in time
// and in the messages it nests. So its work is counted first, on the
// decoded body, with the validator's walk over-approximated, and a body
// over budget is not validated at all. The count is memoised per schema and
// value: what costs the validator exponential time costs this a product of
// their numbers.

// bodySchema is the schema the validator would check resp's body against,
// or nil (no body, not JSON, nothing documented for it).
func bodySchema(op *spec.Operation, resp corpus.Response) *openapi3.Schema {
	if len(resp.Body) == 0 || op.Op.Responses == nil {
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

// overBudget reports the limit that checking body against s would exceed,
// if any. A body that is not JSON is the validator's to refuse (cheaply).
func overBudget(s *openapi3.Schema, body []byte) (limits.Limit, bool) {
	if s == nil {
		return limits.Limit{}, false
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return limits.Limit{}, false
	}
	root, ok := newValueNode(v, limits.ValidationDepth.Int())
	if !ok {
		return limits.ValidationDepth, true
	}
	w := work{max: limits.ValidationSteps.Value, memo: map[workKey]int64{}}
	if w.cost(s, root) > w.max {
		return limits.ValidationSteps, true
	}
	return limits.Limit{}, false
}

// valueNode is a decoded JSON value with the number of values in it.
type valueNode struct {
	items []*valueNode
	props map[string]*valueNode
	size  int64
}

// newValueNode builds v's tree; false when it nests deeper than depth.
func newValueNode(v any, depth int) (*valueNode, bool) {
	if depth < 0 {
		return nil, false
	}
	n := &valueNode{size: 1}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			c, ok := newValueNode(e, depth-1)
			if !ok {
				return nil, false
			}
			n.items = append(n.items, c)
			n.size += c.size
		}
	case map[string]any:
		n.props = make(map[string]*valueNode, len(x))
		for k, e := range x {
			c, ok := newValueNode(e, depth-1)
			if !ok {
				return nil, false
			}
			n.props[k] = c
			n.size += c.size
		}
	}
	return n, true
}

type workKey struct {
	s *openapi3.Schema
	v *valueNode
}

// work counts the validator's steps, saturating just past max; nesting
// guards against schemas that name themselves without descending into the
// value (an allOf of itself), which the validator refuses as a cycle.
type work struct {
	max     int64
	memo    map[workKey]int64
	nesting int
}

const maxNesting = 1024

func (w *work) add(a, b int64) int64 {
	if a+b > w.max {
		return w.max + 1
	}
	return a + b
}

// cost is what validating v against s costs, over-approximated: every
// branch of oneOf and anyOf is taken (with a copy of v each, and the first
// taken again as if it matched), every allOf member, not, if, then and
// else, and every item and property against its schemas.
func (w *work) cost(s *openapi3.Schema, v *valueNode) int64 {
	if s == nil {
		return 0
	}
	k := workKey{s, v}
	if c, ok := w.memo[k]; ok {
		return c
	}
	if w.nesting >= maxNesting {
		return w.max + 1
	}
	w.nesting++
	defer func() { w.nesting-- }()
	w.memo[k] = w.max + 1 // a cycle through k costs the whole budget
	c := int64(1)
	for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(list) == 0 {
			continue
		}
		for _, b := range list {
			c = w.add(c, w.add(v.size, w.cost(refValue(b), v)))
		}
		c = w.add(c, w.cost(refValue(list[0]), v))
	}
	for _, b := range s.AllOf {
		c = w.add(c, w.cost(refValue(b), v))
	}
	for _, b := range []*openapi3.SchemaRef{s.Not, s.If, s.Then, s.Else} {
		c = w.add(c, w.cost(refValue(b), v))
	}
	for i, e := range v.items {
		if i < len(s.PrefixItems) {
			c = w.add(c, w.cost(refValue(s.PrefixItems[i]), e))
		}
		c = w.add(c, w.add(w.cost(refValue(s.Items), e), w.cost(refValue(s.Contains), e)))
	}
	for name, e := range v.props {
		ps := refValue(s.Properties[name])
		if ps == nil && s.AdditionalProperties.Schema != nil {
			ps = refValue(s.AdditionalProperties.Schema)
		}
		c = w.add(c, w.cost(ps, e))
		// Which patterns match is not worked out: all are counted.
		for _, p := range s.PatternProperties {
			c = w.add(c, w.cost(refValue(p), e))
		}
	}
	w.memo[k] = c
	return c
}

func refValue(r *openapi3.SchemaRef) *openapi3.Schema {
	if r == nil {
		return nil
	}
	return r.Value
}
