package fuzz

import (
	"slices"

	"github.com/whittle-dev/whittle/fuzz/inputsel"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/param"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// queueNameSweeps makes sure that a name that exists gets sent early,
// not only by chance: for every free-form string value named like one of
// dirs ("codec" ↔ codecs/), it queues one request per name of the
// directory (up to maxSweep). When one of them makes the target open a file
// there, the correlator sees the value in the path and the directory is
// input-selected.
func (r *runner) queueNameSweeps(dirs []*inputsel.NameDir) {
	if len(dirs) == 0 {
		return
	}
	for _, op := range r.spec.Operations {
		if r.ctl.skipped(op.ID) {
			continue
		}
		for _, t := range inputsel.NameTargets(op) {
			for _, d := range dirs {
				if !t.Matches(d) {
					continue
				}
				k := op.ID + "\x00" + t.Key + "\x00" + d.Path()
				if r.swept[k] {
					continue
				}
				r.swept[k] = true
				r.queueSweep(op, t, d.SweepNames())
			}
		}
	}
}

// queueSweep queues a request per name at t, every other value valid and
// optional parameters left to the target's defaults: what reaches the code
// that resolves the name most surely.
func (r *runner) queueSweep(op *spec.Operation, t inputsel.NameTarget, names []string) {
	base, _ := r.gen.Input(op, gen.Valid)
	for i := range base.Params {
		pv := &base.Params[i]
		if p := param.Find(op, pv.Key()); p != nil && !p.Required && pv.Key() != t.Key {
			pv.Set = false
		}
	}
	bound := r.store.Bind(op, &base, true, nil)
	bound = slices.DeleteFunc(bound, func(p string) bool { return p == t.Key })
	for _, name := range names {
		if r.gen.Validate(t.Schema, name) != nil || !r.firstTry(op.ID, t.Key, name) {
			continue
		}
		in := base.Clone()
		if !param.Set(&in, t.Key, name) {
			return
		}
		st := Step{Op: op.ID, Input: in, Intent: gen.Intent{Phase: gen.Valid, Kind: "listed-name", Target: t.Key}, Bound: slices.Clone(bound)}
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

// maxEntriesPerSelectedDir bounds the corpus entries whose only news are
// files of one input-selected directory (see floods).
const maxEntriesPerSelectedDir = 4

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
		d := inputsel.Containing(selected, f)
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
