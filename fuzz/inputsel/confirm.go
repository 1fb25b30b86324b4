package inputsel

import (
	"path"
	"strings"

	"github.com/whittle-dev/whittle/fuzz/gen"
)

// What a value spelled in a new path proves. A value found at the file's
// own name ("invoice" → templates/invoice.tmpl) is the likely cause of the
// lookup; one found only at a directory on the way ("jvmshop" →
// /usr/share/jvmshop/templates/invoice.tmpl) may be a coincidence: free
// strings are often names the name book took from the target's own
// directories. A selection makes rebuild keep its directory whole, so a
// coincidence at /usr/share keeps most of the image. Three rules:
//
//   - a directory on the way to any path the target used or looked up
//     before this request was not chosen by it (newOnTheWay);
//   - when another value of the request, one that never showed in a path
//     at its place before, explains the same new path at a deeper
//     component, the shallower match is unconfirmed: both are new, and
//     the deeper one is the likelier cause;
//   - a match right below a broad directory (systemExact: /usr/share,
//     /etc) is unconfirmed: keeping it whole costs most of the image.
//
// An unconfirmed match is recorded once a later request, in which another
// value at the same place selects in the same directory, confirms it: the
// fuzzer proposes the directory's other names there (Unconfirmed), the
// rest of the request unchanged, so the value alone differs.

const (
	// maxReached bounds the directories remembered on the way; past it,
	// newOnTheWay lets matches through, as before anything was seen.
	maxReached = 1 << 17
	// maxExplained bounds the values remembered as having shown in a
	// path; past it, every other value counts as new (the shallower match
	// waits for confirmation).
	maxExplained = 1 << 16
	// maxUnconfirmed bounds the matches awaiting confirmation.
	maxUnconfirmed = 1024
)

// match is a value of one request found in one new path.
type match struct {
	sel Selection
	// value is the index of the value in the request; depth the
	// components of sel.Dir (the match is at component depth+1).
	value, depth int
	// fresh: the value had not shown in a path at its place before.
	fresh bool
	// selects: the value may select files (not a negotiated token, not
	// an enum: see Correlator.Selectable); others only explain paths.
	selects bool
}

// matches finds each value of a request in each new path. c.mu is held.
func (c *Correlator) matches(op string, sent []gen.SentValue, newFiles []string) []match {
	var out []match
	for i, sv := range sent {
		v := sv.Value
		if !correlatable(v) {
			continue
		}
		selects := sv.Part == "" && (c.Selectable == nil || c.Selectable(op, sv.Target))
		fresh := !c.explained[explainedKey(op, sv.Target, v)]
		for _, p := range newFiles {
			var sel Selection
			var ok bool
			if sv.Part == "" {
				sel, ok = correlate(v, p)
			} else {
				// Tokens of negotiated headers are correlated by
				// ObserveNegotiation; here they only explain paths.
				sel, ok = correlateToken(v, sv.Part, p)
			}
			if ok {
				sel.Operation, sel.Target = op, sv.Target
				out = append(out, match{sel: sel, value: i, depth: dirDepth(sel.Dir), fresh: fresh, selects: selects})
			}
		}
	}
	return out
}

func explainedKey(op, target, v string) string { return op + "\x00" + target + "\x00" + v }

// dirDepth is the number of components of the clean absolute path d.
func dirDepth(d string) int {
	if d == "/" {
		return 0
	}
	return strings.Count(d, "/")
}

// explainedDeeper reports whether another value than m's, new at its
// place, explains m's path at a deeper component.
func explainedDeeper(m match, all []match) bool {
	for _, o := range all {
		if o.value != m.value && o.fresh && o.depth > m.depth && o.sel.Path == m.sel.Path {
			return true
		}
	}
	return false
}

// newOnTheWay reports whether the component of p that sel matched can
// have been chosen by the value: a directory on the way to a path the
// target used or looked up before cannot ("pyplugins" sent while the
// request imported /app/pyplugins/codecs/x.py; "jvmshop" sent while it
// opened /usr/share/jvmshop/templates/y.tmpl, x.tmpl opened before).
// Called before the request's paths are reached.
func (c *Correlator) newOnTheWay(sel Selection, p string) bool {
	m := path.Join(sel.Dir, sel.Prefix+sel.Value+sel.Suffix)
	return m == path.Clean(p) || !c.reached[m]
}

// reach remembers the directories on the way to the request's paths and
// directories, and the values that showed in them. c.mu is held.
func (c *Correlator) reach(op string, all []match, newFiles []string, dirs []DirListing) {
	for _, m := range all {
		if len(c.explained) < maxExplained {
			c.explained[explainedKey(op, m.sel.Target, m.sel.Value)] = true
		}
	}
	for _, p := range newFiles {
		if path.IsAbs(p) {
			c.reachDir(path.Dir(path.Clean(p)))
		}
	}
	for _, d := range dirs {
		if path.IsAbs(d.Path) {
			c.reachDir(path.Clean(d.Path))
		}
	}
}

// reachDir marks d and the directories above it reached.
func (c *Correlator) reachDir(d string) {
	for d != "/" && !c.reached[d] && len(c.reached) < maxReached {
		c.reached[d] = true
		d = path.Dir(d)
	}
}

// needsConfirmation reports whether m, a new match, must wait for
// another value (see the rules above).
func needsConfirmation(m match, all []match) bool {
	return broadDir(m.sel.Dir) || explainedDeeper(m, all)
}

// confirms reports whether sel, an unconfirmed match's successor at the
// same operation, place and directory, confirms it: another value selects
// there too. c.mu is held.
func (c *Correlator) confirms(sel Selection) bool {
	u, ok := c.unconfirmed[selectionKey(sel)]
	return ok && u.Value != sel.Value
}

// doubt holds sel until another value confirms it, and notes it for
// Unconfirmed the first time. c.mu is held.
func (c *Correlator) doubt(sel Selection) {
	k := selectionKey(sel)
	if _, ok := c.unconfirmed[k]; ok || len(c.unconfirmed) >= maxUnconfirmed {
		return
	}
	c.unconfirmed[k] = sel
	c.doubts = append(c.doubts, sel)
}

// Unconfirmed returns the matches noted since the last call that wait for
// confirmation: a value at a directory on the way that another value of
// its request explained deeper, or right below a broad directory. Another
// name of the directory sent at the same place, the rest of the request
// unchanged, confirms the selection when it makes the target use a file
// there (Observe then returns it).
func (c *Correlator) Unconfirmed() []Selection {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.doubts
	c.doubts = nil
	return out
}
