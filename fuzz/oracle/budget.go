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
// and in the messages it nests. So the work is counted first, on the
// decoded body, with the validator's own walk over-approximated, and a body
// over budget is not validated at all. Counting stops at the budget, so it
// costs at most that.

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
	if depthOver(v, limits.ValidationDepth.Int()) {
		return limits.ValidationDepth, true
	}
	w := work{left: limits.ValidationSteps.Int()}
	if !w.visit(s, v) {
		return limits.ValidationSteps, true
	}
	return limits.Limit{}, false
}

// depthOver reports whether v nests deeper than max.
func depthOver(v any, max int) bool {
	if max < 0 {
		return true
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if depthOver(e, max-1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if depthOver(e, max-1) {
				return true
			}
		}
	}
	return false
}

// work counts down the steps of one validation; nesting guards against
// schemas that name themselves without descending into the value (an allOf
// of itself), which the validator refuses as a cycle.
type work struct{ left, nesting int }

const maxNesting = 1024

func (w *work) spend(n int) bool {
	w.left -= n
	return w.left >= 0
}

// visit spends what validating v against s costs, over-approximated: every
// branch of oneOf and anyOf is taken (with a copy of v each, and the first
// taken again as if it matched), every allOf member and not, and every item
// and property against its schema. It reports false once over budget.
func (w *work) visit(s *openapi3.Schema, v any) bool {
	if s == nil {
		return true
	}
	if !w.spend(1) || w.nesting >= maxNesting {
		return false
	}
	w.nesting++
	defer func() { w.nesting-- }()
	for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(list) == 0 {
			continue
		}
		for _, b := range list {
			if !w.spend(size(v, w.left+1)) || !w.visit(refValue(b), v) {
				return false
			}
		}
		if !w.visit(refValue(list[0]), v) {
			return false
		}
	}
	for _, b := range s.AllOf {
		if !w.visit(refValue(b), v) {
			return false
		}
	}
	for _, b := range []*openapi3.SchemaRef{s.Not, s.If, s.Then, s.Else} {
		if !w.visit(refValue(b), v) {
			return false
		}
	}
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			if i < len(s.PrefixItems) && !w.visit(refValue(s.PrefixItems[i]), e) {
				return false
			}
			if !w.visit(refValue(s.Items), e) || !w.visit(refValue(s.Contains), e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range x {
			ps := refValue(s.Properties[k])
			if ps == nil && s.AdditionalProperties.Schema != nil {
				ps = refValue(s.AdditionalProperties.Schema)
			}
			if !w.visit(ps, e) {
				return false
			}
			// Which patterns match is not worked out: all are counted.
			for _, p := range s.PatternProperties {
				if !w.visit(refValue(p), e) {
					return false
				}
			}
		}
	}
	return true
}

func refValue(r *openapi3.SchemaRef) *openapi3.Schema {
	if r == nil {
		return nil
	}
	return r.Value
}

// size counts the values in v, stopping past max.
func size(v any, max int) int {
	n := 1
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if n > max {
				return n
			}
			n += size(e, max-n)
		}
	case map[string]any:
		for _, e := range x {
			if n > max {
				return n
			}
			n += size(e, max-n)
		}
	}
	return n
}
