package fuzz

import (
	"context"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// The run deletes what it created, as RESTler's garbage collector does:
// the resources a create (POST) made whose DELETE the spec has are
// remembered, oldest first, and once more than DefaultMaxLive of one kind
// are alive the oldest are deleted with real DELETE requests, between
// sequences. Lists and lookups of a service the fuzzer fills then walk a
// bounded number of resources, and it keeps its speed.
//
// Those requests are housekeeping, not fuzzing: they are counted apart
// (Stats.CleanupDeletes, not Requests), no oracle judges their answers,
// what they cover is not credited to the next request, and they join
// neither the corpus nor the crash history. A target that dies of one is
// restarted (and counted) like after any crash, and once that happened
// twice that kind of resource is no longer deleted: a restart costs more
// than what cleaning up saves.
// The DELETE operation is fuzzed as well, so a crash it causes is found
// there.

// DefaultMaxLive is how many resources of one kind a run keeps alive.
const DefaultMaxLive = 32

// gcKind is a kind of resource the run creates and can delete: a create
// whose answer (or request) gives every required parameter of a DELETE.
type gcKind struct {
	producer string
	del      *spec.Operation
	params   []gcParam
	live     []liveResource // oldest first
	// crashes counts the times deleting one of these killed the target.
	crashes int
}

// liveResource is a resource the run created: its DELETE's parameter
// values, and how many of its DELETEs got no answer.
type liveResource struct {
	values []any
	missed int
}

const (
	// maxCleanupCrashes is how many crashes a kind's cleanup may cause.
	maxCleanupCrashes = 2
	// maxCleanupMisses is how many DELETEs of one resource may go
	// unanswered (a timeout) before the run stops trying: each costs a
	// whole timeout.
	maxCleanupMisses = 2
)

// gcParam says where a required parameter of the DELETE comes from.
type gcParam struct {
	param    *spec.Parameter
	bindings []Binding // the producer's answer, best binding first
	sent     string    // else the producer request's parameter of that key ("path.shelfId")
}

// garbage is one resource to delete.
type garbage struct {
	kind *gcKind
	liveResource
}

// collector remembers the resources the run created, by kind.
type collector struct {
	spec       *spec.Spec
	maxLive    int
	byProducer map[string][]*gcKind
	byDelete   map[string][]*gcKind
}

// newCollector finds the kinds of resources the spec lets the run delete:
// for each POST and each DELETE it feeds, every required parameter of the
// DELETE must come from the POST's answer (a binding) or from a parameter
// of the same place and name the POST was sent with (a parent's id in a
// nested path).
func newCollector(s *spec.Spec, links *Links, maxLive int) *collector {
	c := &collector{spec: s, maxLive: maxLive, byProducer: map[string][]*gcKind{}, byDelete: map[string][]*gcKind{}}
	if maxLive <= 0 {
		return c
	}
	for _, del := range s.Operations {
		if del.Method != "DELETE" {
			continue
		}
		for _, prod := range s.Operations {
			if prod.Method != "POST" {
				continue
			}
			if k := newGCKind(prod, del, links); k != nil {
				c.byProducer[prod.ID] = append(c.byProducer[prod.ID], k)
				c.byDelete[del.ID] = append(c.byDelete[del.ID], k)
			}
		}
	}
	return c
}

func newGCKind(prod, del *spec.Operation, links *Links) *gcKind {
	k := &gcKind{producer: prod.ID, del: del}
	bound := false
	for _, p := range del.Params {
		if !p.Required && p.In != openapi3.ParameterInPath {
			continue
		}
		gp := gcParam{param: p}
		for _, b := range links.For(del.ID) {
			// A nested path or an explicit link says the answer names what
			// the POST created; a field of the same name may name another
			// resource (an order's petId).
			created := b.Reason == "nested-path" || b.Reason == "openapi-link"
			if b.Producer == prod.ID && b.Param == p.Key() && created && !strings.Contains(b.Source, "*") {
				gp.bindings = append(gp.bindings, b)
			}
		}
		switch {
		case len(gp.bindings) > 0:
			bound = true
		case findParam(prod, p.Key()) != nil:
			gp.sent = p.Key()
		default:
			return nil
		}
		k.params = append(k.params, gp)
	}
	if !bound {
		return nil // nothing of the answer names the resource: not what the POST created
	}
	return k
}

// created remembers the resources a 2xx answer to a create names.
func (c *collector) created(op *spec.Operation, req *gen.Request, resp corpus.Response) {
	if op == nil || !is2xx(resp.Status) {
		return
	}
	kinds := c.byProducer[op.ID]
	if len(kinds) == 0 {
		return
	}
	body := answerBody(resp)
	for _, k := range kinds {
		if k.crashes >= maxCleanupCrashes {
			continue
		}
		values := make([]any, len(k.params))
		ok := true
		for i, gp := range k.params {
			values[i], ok = gp.value(c.spec, resp, body, req)
			if !ok {
				break
			}
		}
		if ok && !k.holds(values) {
			k.live = append(k.live, liveResource{values: values})
		}
	}
}

func (gp gcParam) value(s *spec.Spec, resp corpus.Response, body func() any, req *gen.Request) (any, bool) {
	for _, b := range gp.bindings {
		if vs := bindingValues(s, b, resp, body); len(vs) > 0 {
			return vs[0], true
		}
	}
	if gp.sent != "" {
		if pv, ok := req.Input.Param(gp.sent); ok && pv.Set {
			return pv.Value, true
		}
	}
	return nil, false
}

func (k *gcKind) holds(values []any) bool { return k.find(values) >= 0 }

func (k *gcKind) find(values []any) int {
	for i, l := range k.live {
		same := true
		for j := range l.values {
			same = same && gen.Scalar(l.values[j]) == gen.Scalar(values[j])
		}
		if same {
			return i
		}
	}
	return -1
}

// deleted forgets a resource a DELETE the fuzzer sent removed, or found
// gone.
func (c *collector) deleted(op *spec.Operation, in gen.Input, status int) {
	if op == nil || !(is2xx(status) || status == 404 || status == 410) {
		return
	}
	for _, k := range c.byDelete[op.ID] {
		values := make([]any, len(k.params))
		for i, gp := range k.params {
			pv, ok := in.Param(gp.param.Key())
			if !ok || !pv.Set {
				values = nil
				break
			}
			values[i] = pv.Value
		}
		if values == nil {
			continue
		}
		if i := k.find(values); i >= 0 {
			k.live = append(k.live[:i], k.live[i+1:]...)
		}
	}
}

// due takes the oldest resources of every kind over the bound, down to
// half of it (deleting in batches, not one per create). Those whose DELETE
// is not sent or not answered go back with putBack.
func (c *collector) due() []garbage {
	var out []garbage
	for _, del := range c.spec.Operations {
		for _, k := range c.byDelete[del.ID] {
			if len(k.live) <= c.maxLive {
				continue
			}
			n := len(k.live) - c.maxLive/2
			for _, l := range k.live[:n] {
				out = append(out, garbage{kind: k, liveResource: l})
			}
			k.live = append(k.live[:0:0], k.live[n:]...)
		}
	}
	return out
}

// putBack remembers again, as the oldest of their kinds, resources due()
// took that still exist: their DELETE was not sent, or got no answer.
func (c *collector) putBack(items []garbage) {
	back := map[*gcKind][]liveResource{}
	var kinds []*gcKind
	for _, g := range items {
		if g.missed >= maxCleanupMisses {
			continue // its DELETEs only time out: not worth another timeout
		}
		if back[g.kind] == nil {
			kinds = append(kinds, g.kind)
		}
		back[g.kind] = append(back[g.kind], g.liveResource)
	}
	for _, k := range kinds {
		k.live = append(back[k], k.live...)
	}
}

// live counts the resources remembered.
func (c *collector) live() int {
	n := 0
	for _, ks := range c.byDelete {
		for _, k := range ks {
			n += len(k.live)
		}
	}
	return n
}

// reset forgets every resource: they belonged to a target that is gone.
func (c *collector) reset() {
	for _, ks := range c.byDelete {
		for _, k := range ks {
			k.live = nil
		}
	}
}

// input is the DELETE's input for one resource.
func (g garbage) input() gen.Input {
	in := gen.Input{Op: g.kind.del.ID}
	for i, gp := range g.kind.params {
		in.Params = append(in.Params, gen.ParamValue{In: gp.param.In, Name: gp.param.Name, Value: g.values[i], Set: true})
	}
	return in
}

// collectGarbage deletes the resources over the bound. It stops at the
// first one whose DELETE got no answer: a target that died is restarted
// (its resources are gone with it), one that merely timed out is left be.
// What was not deleted then, that one included, stays remembered.
func (r *runner) collectGarbage(ctx context.Context) {
	if len(r.held) > 0 {
		return // the last request got no answer: leave the target be until one comes
	}
	items := r.state.gc.due()
	if len(items) == 0 {
		return
	}
	defer r.drainFeedback(ctx)
	for i, g := range items {
		if ctx.Err() != nil || r.ctl.isStopped() {
			r.state.gc.putBack(items[i:])
			return
		}
		in := g.input()
		req := r.gen.Encode(g.kind.del, in, gen.Intent{Phase: gen.Valid, Kind: "cleanup"})
		resp := deliver(ctx, r.send, req.Request)
		if ctx.Err() != nil && resp.Status == 0 {
			r.state.gc.putBack(items[i:])
			return
		}
		r.stats.cleanupDelete(is2xx(resp.Status) || resp.Status == 404 || resp.Status == 410)
		if is2xx(resp.Status) || resp.Status == 404 || resp.Status == 410 {
			r.store.forget(g.kind.del, in)
			continue
		}
		if resp.Status != 0 {
			continue
		}
		if dead, why := crashed(ctx, r.cfg.target, resp, r.cfg.crashGrace); dead {
			r.stats.crash()
			g.kind.crashes++
			why = "crashed during cleanup (" + req.Method + " " + req.Path + "): " + why
			if g.kind.crashes >= maxCleanupCrashes {
				why += "; what " + g.kind.producer + " creates is no longer deleted"
			}
			if err := r.restart(ctx, why); err != nil {
				r.lost = err
			}
			return
		}
		items[i].missed++
		r.state.gc.putBack(items[i:])
		return
	}
}
