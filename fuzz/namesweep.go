package fuzz

import (
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// nameTarget is a free-form string parameter or top-level body property.
type nameTarget struct {
	key    string // "query.codec", "body/codec"
	name   string
	schema *openapi3.Schema
}

// nameTargets lists the values of op that a name could be: strings the spec
// does not enumerate.
func nameTargets(op *spec.Operation) []nameTarget {
	var out []nameTarget
	for _, p := range op.Params {
		if p.In == openapi3.ParameterInCookie || !takesStrings(p.Schema) {
			continue
		}
		if k := p.Key(); freeValued(op, k) {
			out = append(out, nameTarget{key: k, name: p.Name, schema: p.Schema})
		}
	}
	if op.Body == nil || len(op.Body.Media) == 0 || op.Body.Media[0].Schema == nil {
		return out
	}
	props := op.Body.Media[0].Schema.Properties
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if ref := props[n]; ref != nil && takesStrings(ref.Value) && freeValued(op, "body/"+n) {
			out = append(out, nameTarget{key: "body/" + n, name: n, schema: ref.Value})
		}
	}
	return out
}

// takesStrings reports whether s may be a string.
func takesStrings(s *openapi3.Schema) bool {
	if s == nil || s.Type == nil || len(*s.Type) == 0 {
		return s == nil || len(s.Properties) == 0 && s.Items == nil
	}
	return s.Type.Includes(openapi3.TypeString)
}

// queueNameSweeps makes sure that a name that exists gets sent early,
// not only by chance: for every free-form string value named like one of
// dirs ("codec" ↔ codecs/), it queues one request per name of the
// directory (up to maxSweep). When one of them makes the target open a file
// there, the correlator sees the value in the path and the directory is
// input-selected.
func (r *runner) queueNameSweeps(dirs []*nameDir) {
	if len(dirs) == 0 {
		return
	}
	for _, op := range r.spec.Operations {
		if r.ctl.skipped(op.ID) {
			continue
		}
		for _, t := range nameTargets(op) {
			tw := newNameWords(t.name)
			for _, d := range dirs {
				if tw.match(d.base) == 0 {
					continue
				}
				k := op.ID + "\x00" + t.key + "\x00" + d.path
				if r.swept[k] {
					continue
				}
				r.swept[k] = true
				r.queueSweep(op, t, d.sweepNames())
			}
		}
	}
}

// queueSweep queues a request per name at t, every other value valid and
// optional parameters left to the target's defaults: what reaches the code
// that resolves the name most surely.
func (r *runner) queueSweep(op *spec.Operation, t nameTarget, names []string) {
	base, _ := r.gen.Input(op, gen.Valid)
	for i := range base.Params {
		pv := &base.Params[i]
		if p := findParam(op, pv.Key()); p != nil && !p.Required && pv.Key() != t.key {
			pv.Set = false
		}
	}
	bound := r.store.bind(op, &base, true, nil)
	bound = slices.DeleteFunc(bound, func(p string) bool { return p == t.key })
	for _, name := range names {
		if r.gen.Validate(t.schema, name) != nil || !r.firstTry(op.ID, t.key, name) {
			continue
		}
		in := base.Clone()
		if !setValue(&in, t.key, name) {
			return
		}
		st := Step{Op: op.ID, Input: in, Intent: gen.Intent{Phase: gen.Valid, Kind: "listed-name", Target: t.key}, Bound: slices.Clone(bound)}
		r.pending = append(r.pending, []Step{st})
	}
}

// firstTry reports whether name was not queued for op's value at key yet,
// and remembers it.
func (r *runner) firstTry(op, key, name string) bool {
	k := op + "\x00" + key + "\x00" + name
	if r.queued[k] {
		return false
	}
	r.queued[k] = true
	return true
}

// setValue puts v at key: a parameter, a top-level property of a JSON
// object body, or a negotiation header the operation does not declare.
func setValue(in *gen.Input, key string, v string) bool {
	if prop, ok := strings.CutPrefix(key, "body/"); ok {
		obj, isObj := in.Body.(map[string]any)
		if in.Media == "" || !isObj || in.RawBody != nil {
			return false
		}
		c := maps.Clone(obj)
		c[prop] = v
		in.Body = c
		return true
	}
	if p, ok := in.Param(key); ok {
		p.Value, p.Set = v, true
		return true
	}
	h, ok := gen.NegotiationHeader(key)
	if !ok {
		return false
	}
	if in.Headers == nil {
		in.Headers = map[string]string{}
	}
	in.Headers[h] = v
	return true
}

// floods reports whether res, which brought something new, should stay out
// of the corpus: all it brought are files of input-selected directories
// (another module of a plugin package, another template), and such entries
// already number maxEntriesPerSelectedDir for that directory. The directory
// is kept whole anyway; each of its names in the corpus would only make
// mutation and the verifying replay longer.
func (r *runner) floods(res stepResult) bool {
	sig := res.sig
	if sig.Files == 0 || sig.Syscalls > 0 || len(res.new) != 1 || len(sig.NewFiles) == 0 {
		return false
	}
	selected := r.files.Dirs()
	dir := ""
	for _, f := range sig.NewFiles {
		d := containing(selected, f)
		if d == "" {
			return false
		}
		if dir == "" {
			dir = d
		}
	}
	r.selectedEntries[dir]++
	return r.selectedEntries[dir] > maxEntriesPerSelectedDir
}

// containing is the directory of dirs that f is in ("" if none); a
// directory and its __pycache__ count as one.
func containing(dirs []string, f string) string {
	for _, d := range dirs {
		if strings.HasPrefix(f, d+"/") {
			if path.Base(d) == "__pycache__" {
				return path.Dir(d)
			}
			return d
		}
	}
	return ""
}
