package upkeep

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/param"
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
	// MaxCleanupCrashes is how many crashes deleting one kind of resource may
	// cause before that kind is no longer deleted.
	MaxCleanupCrashes = 2
	// MaxCleanupMisses is how many DELETEs of one resource may go
	// unanswered (a timeout) before the run stops trying: each costs a
	// whole timeout.
	MaxCleanupMisses = 2
)

// gcParam says where a required parameter of the DELETE comes from.
type gcParam struct {
	param    *spec.Parameter
	bindings []links.Binding // the producer's answer, best binding first
	sent     string          // else the producer request's parameter of that key ("path.shelfId")
}

// Garbage is one resource to delete.
type Garbage struct {
	kind *gcKind
	liveResource
}

// Collector remembers the resources the run created, by kind. It is used
// from the fuzz loop's goroutine only.
type Collector struct {
	spec       *spec.Spec
	maxLive    int
	byProducer map[string][]*gcKind
	byDelete   map[string][]*gcKind
}

// NewCollector finds the kinds of resources the spec lets the run delete:
// for each POST and each DELETE it feeds, every required parameter of the
// DELETE must come from the POST's answer (a binding) or from a parameter
// of the same place and name the POST was sent with (a parent's id in a
// nested path).
func NewCollector(s *spec.Spec, l *links.Links, maxLive int) *Collector {
	c := &Collector{spec: s, maxLive: maxLive, byProducer: map[string][]*gcKind{}, byDelete: map[string][]*gcKind{}}
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
			if k := newGCKind(prod, del, l); k != nil {
				c.byProducer[prod.ID] = append(c.byProducer[prod.ID], k)
				c.byDelete[del.ID] = append(c.byDelete[del.ID], k)
			}
		}
	}
	return c
}

func newGCKind(prod, del *spec.Operation, l *links.Links) *gcKind {
	k := &gcKind{producer: prod.ID, del: del}
	bound := false
	for _, p := range del.Params {
		if !p.Required && p.In != openapi3.ParameterInPath {
			continue
		}
		gp := gcParam{param: p}
		for _, b := range l.For(del.ID) {
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
		case param.Find(prod, p.Key()) != nil:
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

// Created remembers the resources a 2xx answer to a create names.
func (c *Collector) Created(op *spec.Operation, req *gen.Request, resp corpus.Response) {
	if op == nil || !is2xx(resp.Status) {
		return
	}
	kinds := c.byProducer[op.ID]
	if len(kinds) == 0 {
		return
	}
	body := links.AnswerBody(resp)
	for _, k := range kinds {
		if k.crashes >= MaxCleanupCrashes {
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
		if vs := links.Values(s, b, resp, body); len(vs) > 0 {
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

// Deleted forgets a resource a DELETE the fuzzer sent removed, or found
// gone.
func (c *Collector) Deleted(op *spec.Operation, in gen.Input, status int) {
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

// Due takes the oldest resources of every kind over the bound, down to
// half of it (deleting in batches, not one per create). Those whose DELETE
// is not sent or not answered go back with PutBack.
func (c *Collector) Due() []Garbage {
	var out []Garbage
	for _, del := range c.spec.Operations {
		for _, k := range c.byDelete[del.ID] {
			if len(k.live) <= c.maxLive {
				continue
			}
			n := len(k.live) - c.maxLive/2
			for _, l := range k.live[:n] {
				out = append(out, Garbage{kind: k, liveResource: l})
			}
			k.live = append(k.live[:0:0], k.live[n:]...)
		}
	}
	return out
}

// PutBack remembers again, as the oldest of their kinds, resources Due
// took that still exist: their DELETE was not sent, or got no answer.
func (c *Collector) PutBack(items []Garbage) {
	back := map[*gcKind][]liveResource{}
	var kinds []*gcKind
	for _, g := range items {
		if g.missed >= MaxCleanupMisses {
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

// Live counts the resources remembered.
func (c *Collector) Live() int {
	n := 0
	for _, ks := range c.byDelete {
		for _, k := range ks {
			n += len(k.live)
		}
	}
	return n
}

// Reset forgets every resource: they belonged to a target that is gone.
func (c *Collector) Reset() {
	for _, ks := range c.byDelete {
		for _, k := range ks {
			k.live = nil
		}
	}
}

// Input is the DELETE's input for one resource.
func (g Garbage) Input() gen.Input {
	in := gen.Input{Op: g.kind.del.ID}
	for i, gp := range g.kind.params {
		in.Params = append(in.Params, gen.ParamValue{In: gp.param.In, Name: gp.param.Name, Value: g.values[i], Set: true})
	}
	return in
}

// Op is the DELETE that removes the resource.
func (g Garbage) Op() *spec.Operation { return g.kind.del }

// Producer is the create that made the resource.
func (g Garbage) Producer() string { return g.kind.producer }

// Unanswered notes that the resource's DELETE got no answer (a timeout):
// after MaxCleanupMisses of them PutBack gives up on it.
func (g *Garbage) Unanswered() { g.missed++ }

// Crashed notes that deleting the resource killed the target and reports
// whether resources of its kind are no longer deleted from now on.
func (g Garbage) Crashed() bool {
	g.kind.crashes++
	return g.kind.crashes >= MaxCleanupCrashes
}

func is2xx(status int) bool { return status >= 200 && status < 300 }
