package fuzz

import (
	"slices"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Step is one request of a sequence, before encoding.
type Step struct {
	Op     string     `json:"op"`
	Input  gen.Input  `json:"input"`
	Intent gen.Intent `json:"intent"`
	// Bound lists parameters that take, at each run, the latest value an
	// earlier answer produced for them (ids of resources created before).
	Bound []string `json:"bound,omitempty"`
	// Copies set parameters to what an earlier step of the same sequence
	// sent (the id a DELETE removed, used again afterwards).
	Copies []Copy `json:"copies,omitempty"`
	// Raw, when set, is sent as it is instead of encoding Input: requests
	// of a corpus whose steps could not be read.
	Raw *corpus.Request `json:"raw,omitempty"`

	// orig is the answer the step got when it was recorded (history), so
	// that a reproduction can map the ids it produced to the new ones.
	orig *corpus.Response
}

// Copy makes parameter Param take the value step Step of the sequence sent
// for its parameter From.
type Copy struct {
	Param string `json:"param"`
	Step  int    `json:"step"`
	From  string `json:"from"`
}

func cloneStep(s Step) Step {
	s.Input = s.Input.Clone()
	s.Bound = slices.Clone(s.Bound)
	s.Copies = slices.Clone(s.Copies)
	if s.Raw != nil {
		raw := cloneRequest(*s.Raw)
		s.Raw = &raw
	}
	return s
}

func cloneSteps(steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		out[i] = cloneStep(s)
	}
	return out
}

func cloneRequest(r corpus.Request) corpus.Request {
	if r.Header != nil {
		h := make(map[string][]string, len(r.Header))
		for k, v := range r.Header {
			h[k] = slices.Clone(v)
		}
		r.Header = h
	}
	r.Body = slices.Clone(r.Body)
	return r
}

// subsequence keeps the steps at the given (increasing) indexes; copies
// from removed steps are dropped (the step then sends its own value),
// the others renumbered.
func subsequence(steps []Step, keep []int) []Step {
	pos := make(map[int]int, len(keep))
	for i, k := range keep {
		pos[k] = i
	}
	out := make([]Step, 0, len(keep))
	for _, k := range keep {
		s := cloneStep(steps[k])
		cs := s.Copies[:0]
		for _, c := range s.Copies {
			if p, ok := pos[c.Step]; ok {
				c.Step = p
				cs = append(cs, c)
			}
		}
		s.Copies = cs
		out = append(out, s)
	}
	return out
}

// binder turns steps into requests: it binds parameters to values earlier
// answers produced (its value store) and to values earlier steps of the
// same sequence sent.
type binder struct {
	spec  *spec.Spec
	gen   *gen.Generator
	store *links.Store
}

// prepared is a step ready to send.
type prepared struct {
	req *gen.Request
	op  *spec.Operation // nil for a raw request of no known operation
	// unbound is set when a Bound or copied path parameter (an id) found no
	// value and kept the step's own.
	unbound bool
}

// prepare encodes step i of a sequence; sent holds the inputs the earlier
// steps of the sequence went out with (nil for those not sent).
func (b *binder) prepare(st Step, sent []*gen.Input) (prepared, bool) {
	if st.Raw != nil {
		req := cloneRequest(*st.Raw)
		op := b.spec.Operation(req.Operation)
		if op == nil {
			op, _, _ = b.spec.Match(req.Method, req.Path)
		}
		return prepared{req: &gen.Request{Request: req}, op: op}, true
	}
	op := b.spec.Operation(st.Op)
	if op == nil {
		return prepared{}, false
	}
	in := st.Input.Clone()
	unbound := false
	if len(st.Bound) > 0 {
		got := b.store.BindOnly(op, &in, st.Bound)
		for _, p := range st.Bound {
			unbound = unbound || strings.HasPrefix(p, "path.") && !slices.Contains(got, p)
		}
	}
	for _, c := range st.Copies {
		dst, ok := in.Param(c.Param)
		if !ok {
			continue
		}
		var src *gen.ParamValue
		if c.Step >= 0 && c.Step < len(sent) && sent[c.Step] != nil {
			src, ok = sent[c.Step].Param(c.From)
		}
		if src == nil || !ok || !src.Set {
			unbound = unbound || strings.HasPrefix(c.Param, "path.")
			continue
		}
		dst.Value, dst.Set = src.Value, true
	}
	return prepared{req: b.gen.Encode(op, in, st.Intent), op: op, unbound: unbound}, true
}

// learn takes the values a 2xx answer holds for later bindings, and forgets
// the id a successful DELETE removed.
func (b *binder) learn(op *spec.Operation, req *gen.Request, resp corpus.Response) {
	if op == nil || resp.Status < 200 || resp.Status >= 300 {
		return
	}
	b.store.Record(op, resp)
	if op.Method == "DELETE" {
		b.store.Forget(op, req.Input)
	}
}
