package fuzz

import (
	"context"
	"slices"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/param"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// selection finds input-selected files (inputsel) and proposes the values
// worth sending next: the other names of a directory a value selected, the
// other variants a negotiation header chose from, and a sweep of the names
// of each directory the target listed at a parameter named like it.
// Reads: op, step, req (the values sent), sig (new files, directories).
// Changes: its correlator and name book, the generator's dictionary (the
// names found); fills tries; announces selections through the monitor.
type selection struct {
	spec   *spec.Spec
	gen    *gen.Generator
	values *links.Store
	files  *inputsel.Correlator
	ctl    *controls
	mon    *monitor
	// swept are the sweeps done (operation, target, directory); tried the
	// values proposed (operation, target, value): each is proposed once.
	swept map[string]bool
	tried map[string]bool
	// proposed are the values proposed anywhere; valueDirs counts the
	// directories valueSweeps sampled per operation and place, valueNames
	// the names it proposed (Result.ValueNames).
	proposed   map[string]bool
	valueDirs  map[string]int
	valueNames int
}

// maxValueSweepDirs bounds the directories whose names are sampled at one
// place of an operation because values sent there spelled their names.
const maxValueSweepDirs = 2

// maxSelectionTries bounds the values proposed for one selection.
const maxSelectionTries = 32

// maxConfirmingTries bounds the values proposed to confirm a match: any
// name of a directory the value really selects in should do, and most
// matches that wait are coincidences (a name below /usr/share).
const maxConfirmingTries = 8

func newSelection(s *spec.Spec, g *gen.Generator, values *links.Store, files *inputsel.Correlator, ctl *controls, mon *monitor) *selection {
	return &selection{spec: s, gen: g, values: values, files: files, ctl: ctl, mon: mon, swept: map[string]bool{}, tried: map[string]bool{},
		proposed: map[string]bool{}, valueDirs: map[string]int{}}
}

func (o *selection) observe(ctx context.Context, rec *record) {
	if len(rec.sig.NewFiles) > 0 || len(rec.sig.Dirs) > 0 {
		for _, sel := range o.files.Observe(rec.op.ID, rec.req.Intent.Target, rec.req.Values, rec.sig.NewFiles, rec.sig.Dirs) {
			o.announce(rec, sel)
			rec.tries = append(rec.tries, o.selected(ctx, rec.op, rec.step, sel)...)
		}
		for _, sel := range o.files.Unconfirmed() {
			rec.tries = append(rec.tries, o.confirming(ctx, rec.op, rec.step, sel)...)
		}
		for _, ns := range o.files.ObserveNegotiation(ctx, rec.op, rec.req.Values, rec.sig.NewFiles, rec.step.Input.Headers) {
			o.announce(rec, ns.Selection)
			rec.tries = append(rec.tries, o.variants(rec.op, rec.step, ns.Selection.Target, ns.Values)...)
		}
	}
	rec.tries = append(rec.tries, o.nameSweeps(o.files.Names().Load(ctx))...)
	if is2xx(rec.resp.Status) && len(rec.req.Values) > 0 {
		rec.tries = append(rec.tries, o.valueSweeps(rec.op, rec.req.Values)...)
	}
}

// valueSweeps proposes, for a value the target accepted that spells a name
// of a directory it listed (a codec of the interpreter's encodings/, a
// driver, a locale: inputsel.ValueDirs), a sample of that directory's other
// names at the same place, once per operation and directory. One that
// makes the target open a file there selects the directory.
func (o *selection) valueSweeps(op *spec.Operation, sent []gen.SentValue) [][]Step {
	var out [][]Step
	for _, t := range inputsel.NameTargets(op) {
		for _, sv := range sent {
			if sv.Target != t.Key || sv.Part != "" {
				continue
			}
			// A name this observer proposed, echoed at another place (an
			// answer's values feed the dictionary), shows nothing new.
			if o.proposed[sv.Value] {
				continue
			}
			for _, d := range o.files.Names().ValueDirs(sv.Value) {
				// Once per operation and directory: the value echoed at
				// another place (answers feed the dictionary) adds nothing.
				k := op.ID + "\x00value\x00" + d.Path()
				at := op.ID + "\x00" + t.Key
				if o.swept[k] || o.valueDirs[at] >= maxValueSweepDirs {
					continue
				}
				o.swept[k] = true
				o.valueDirs[at]++
				tries := o.sweep(op, t, d.SampleNames(sv.Value))
				o.valueNames += len(tries)
				out = append(out, tries...)
			}
		}
	}
	return out
}

func (o *selection) announce(rec *record, sel inputsel.Selection) {
	o.mon.emit(Event{Kind: EventSelection, Request: rec.n, Operation: rec.op.ID, Selection: &sel})
}

// selected proposes the names of existing files of sel's directory for the
// value that selected one (and files them in the dictionary).
func (o *selection) selected(ctx context.Context, op *spec.Operation, st Step, sel inputsel.Selection) [][]Step {
	names := o.files.Candidates(ctx, sel)
	if len(names) > maxSelectionTries {
		names = names[:maxSelectionTries]
	}
	for _, name := range names {
		o.gen.Dictionary().Add(dictName(sel.Target), name)
	}
	return o.variants(op, st, sel.Target, names)
}

// confirming proposes, for a match that waits for another value (a value
// found at a directory on the way to a file another value explained, or
// right below a broad directory: inputsel.Correlator.Unconfirmed), the
// other names of its directory at the same place, the rest of st
// unchanged: one that makes the target use a file there confirms the
// selection. Unlike selected, the names do not join the dictionary: the
// directory may be /usr/share.
func (o *selection) confirming(ctx context.Context, op *spec.Operation, st Step, sel inputsel.Selection) [][]Step {
	names := o.files.Candidates(ctx, sel)
	if len(names) > maxConfirmingTries {
		names = names[:maxConfirmingTries]
	}
	return o.variants(op, st, sel.Target, names)
}

// variants proposes st once for each of values (up to maxSelectionTries)
// at target, a parameter, body property or negotiation header, each value
// once per operation and target.
func (o *selection) variants(op *spec.Operation, st Step, target string, values []string) [][]Step {
	if len(values) > maxSelectionTries {
		values = values[:maxSelectionTries]
	}
	var out [][]Step
	for _, v := range values {
		in := st.Input.Clone()
		if !param.Set(&in, target, v) || !o.firstTry(op.ID, target, v) {
			continue
		}
		// No copies: the sequence it came from is not replayed.
		s := Step{Op: op.ID, Input: in, Intent: gen.Intent{Phase: gen.Valid, Kind: "input-selected-file", Target: target}, Bound: slices.Clone(st.Bound)}
		out = append(out, []Step{s})
	}
	return out
}

// nameSweeps makes sure that a name that exists gets sent early, not only
// by chance: for every free-form string value named like one of dirs
// ("codec" ↔ codecs/), it proposes one request per name of the directory
// (up to inputsel's maxSweep). When one of them makes the target open a
// file there, the correlator sees the value in the path and the directory
// is input-selected.
func (o *selection) nameSweeps(dirs []*inputsel.NameDir) [][]Step {
	if len(dirs) == 0 {
		return nil
	}
	var out [][]Step
	for _, op := range o.spec.Operations {
		if o.ctl.skipped(op.ID) {
			continue
		}
		for _, t := range inputsel.NameTargets(op) {
			for _, d := range dirs {
				if !t.Matches(d) {
					continue
				}
				k := op.ID + "\x00" + t.Key + "\x00" + d.Path()
				if o.swept[k] {
					continue
				}
				o.swept[k] = true
				out = append(out, o.sweep(op, t, d.SweepNames())...)
			}
		}
	}
	return out
}

// sweep proposes a request per name at t, every other value valid and
// optional parameters left to the target's defaults: what reaches the code
// that resolves the name most surely.
func (o *selection) sweep(op *spec.Operation, t inputsel.NameTarget, names []string) [][]Step {
	base, _ := o.gen.Input(op, gen.Valid)
	for i := range base.Params {
		pv := &base.Params[i]
		if p := param.Find(op, pv.Key()); p != nil && !p.Required && pv.Key() != t.Key {
			pv.Set = false
		}
	}
	bound := o.values.Bind(op, &base, true, nil)
	bound = slices.DeleteFunc(bound, func(p string) bool { return p == t.Key })
	var out [][]Step
	for _, name := range names {
		if o.gen.Validate(t.Schema, name) != nil || !o.firstTry(op.ID, t.Key, name) {
			continue
		}
		in := base.Clone()
		if !param.Set(&in, t.Key, name) {
			return out
		}
		st := Step{Op: op.ID, Input: in, Intent: gen.Intent{Phase: gen.Valid, Kind: "listed-name", Target: t.Key}, Bound: slices.Clone(bound)}
		out = append(out, []Step{st})
	}
	return out
}

// firstTry reports whether v was not proposed for op's value at key yet,
// and remembers it.
func (o *selection) firstTry(op, key, v string) bool {
	k := op + "\x00" + key + "\x00" + v
	if o.tried[k] {
		return false
	}
	o.tried[k] = true
	o.proposed[v] = true
	return true
}

// dictName is the name a target's values are filed under ("query.module" → "module").
func dictName(target string) string {
	for i := len(target) - 1; i >= 0; i-- {
		if target[i] == '.' || target[i] == '/' {
			return target[i+1:]
		}
	}
	return target
}
