package fuzz

import (
	"context"
	"slices"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Sender delivers a request to the target and returns its answer; transport
// failures are reported in Response.Err, never as a Go error.
type Sender interface {
	Send(ctx context.Context, req corpus.Request) corpus.Response
}

// executor runs steps on the target (LibAFL's Executor): it binds a step's
// parameters to values earlier answers produced (its value store) and to
// what earlier steps of the same sequence sent, encodes the step and
// delivers it. Whoever sends owns one, with a value store of its own: the
// loop (and each worker, once there are several: issue 19), every
// minimisation attempt, every replay.
type executor struct {
	spec   *spec.Spec
	gen    *gen.Generator
	values *links.Store
	send   Sender
}

func newExecutor(s *spec.Spec, l *links.Links, g *gen.Generator, send Sender) *executor {
	return &executor{spec: s, gen: g, values: links.NewStore(s, l), send: send}
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
func (x *executor) prepare(st Step, sent []*gen.Input) (prepared, bool) {
	if st.Raw != nil {
		req := cloneRequest(*st.Raw)
		op := x.spec.Operation(req.Operation)
		if op == nil {
			op, _, _ = x.spec.Match(req.Method, req.Path)
		}
		if op == nil && st.Intent.Kind == linkedKind {
			op = linkedOperation(req)
			req.Operation = op.ID
		}
		return prepared{req: &gen.Request{Request: req, Intent: st.Intent}, op: op}, true
	}
	op := x.spec.Operation(st.Op)
	if op == nil {
		return prepared{}, false
	}
	in := st.Input.Clone()
	unbound := false
	if len(st.Bound) > 0 {
		got := x.values.BindOnly(op, &in, st.Bound)
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
	return prepared{req: x.gen.Encode(op, in, st.Intent), op: op, unbound: unbound}, true
}

// learn takes the values a 2xx answer holds for later bindings, and forgets
// the id a successful DELETE removed.
func (x *executor) learn(op *spec.Operation, req *gen.Request, resp corpus.Response) {
	if op == nil || resp.Status < 200 || resp.Status >= 300 {
		return
	}
	x.values.Record(op, resp)
	if op.Method == "DELETE" {
		x.values.Forget(op, req.Input)
	}
}

// deliver sends req and, when it got no answer for another reason than a
// timeout, sends it once more: a keep-alive connection the server closed
// just as it was reused fails a request that never reached the application
// (Go only retries idempotent methods by itself). A target that really
// drops the connection, or died, fails the second time too.
func (x *executor) deliver(ctx context.Context, req corpus.Request) corpus.Response {
	resp := x.send.Send(ctx, req)
	if resp.Status != 0 || resp.Err == "" || oracle.IsTimeout(resp.Err) || ctx.Err() != nil {
		return resp
	}
	return x.send.Send(ctx, req)
}
