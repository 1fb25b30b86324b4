// Package inputsel finds input-selected files: request values the target
// turns into file names (a plugin, a template, a codec, a catalog chosen by
// Accept-Language). It correlates the values sent with the files the tracer
// saw the target use, keeps a book of the names that exist where the target
// resolves names (the directories it listed, read from the image), and says
// which values are worth sending next. rebuild keeps the directories that
// values select whole.
package inputsel

import (
	"context"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/whittle-dev/whittle/fuzz/gen"
)

// DirLister lists a directory of the target's image (not the host), so that
// the fuzzer can try names that really exist there. rebuild or probe provides it.
type DirLister interface {
	ListDir(ctx context.Context, dir string) ([]string, error)
}

// DirListing is a directory the target listed or used files in.
type DirListing struct {
	Path string `json:"path"`
	// Listed is set when the target read the directory itself (opendir);
	// otherwise it used files in it. Startup: before the first request.
	Listed  bool `json:"listed,omitempty"`
	Startup bool `json:"startup,omitempty"`
}

// Selection says that a request value selects files in a directory: the
// target looked up a path containing the value.
type Selection struct {
	Operation string `json:"operation"`
	// Target is the value's place, "query.module" or "body/name".
	Target string `json:"target"`
	Value  string `json:"value"`
	// Dir is the directory the value picked names in.
	Dir string `json:"dir"`
	// Path is the looked-up path; Suffix what followed the value in its name
	// (".py" for "mod" → "mod.py").
	Path   string `json:"path"`
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	// Names says where the directory's names were known from when the
	// target had listed it ("listed by the target at start-up"): a value
	// naming an entry that did not exist would have touched no file.
	Names string `json:"names,omitempty"`
}

// Effect records which files a value newly caused to be opened.
type Effect struct {
	Operation string   `json:"operation"`
	Target    string   `json:"target"`
	Value     string   `json:"value"`
	Files     []string `json:"files"`
}

// Correlator finds input-selected files: it correlates the values sent
// with the paths the tracer reports, and turns directory entries into values
// worth sending.
type Correlator struct {
	mu         sync.Mutex
	selections map[string]Selection // op target dir -> selection
	order      []string
	dirs       map[string]bool
	effects    []Effect
	// names holds the directories' entries (read through the lister).
	names *NameBook
	// reached are the directories on the way to the paths the target used
	// or looked up; explained the values (operation, place, value) that
	// showed in them; unconfirmed the matches (by selectionKey) waiting
	// for another value, doubts those not yet returned by Unconfirmed.
	// See confirm.go.
	reached     map[string]bool
	explained   map[string]bool
	unconfirmed map[string]Selection
	doubts      []Selection

	// Selectable, when set, says whether values at target of operation op
	// may select files (see param.FreeValued); others only record effects.
	Selectable func(op, target string) bool
}

// NewCorrelator returns a correlator whose name book reads directories
// through lister (nil: none are read).
func NewCorrelator(lister DirLister) *Correlator {
	return &Correlator{selections: map[string]Selection{}, dirs: map[string]bool{}, names: newNameBook(lister),
		reached: map[string]bool{}, explained: map[string]bool{}, unconfirmed: map[string]Selection{}}
}

// Names is the book of names that exist where the target resolves names.
func (c *Correlator) Names() *NameBook { return c.names }

const (
	minCorrelatedLen = 2 // short values must match a whole name or its stem (see correlate)
	maxEffects       = 256
)

// Observe correlates the values of one request with what the target did
// next (the files it used for the first time, the directories it listed or
// used files in) and returns the selections it had not seen before. target
// is the value the request was about (its intent's target), "" if none.
// Matches that need another value to confirm them (see confirm.go) wait:
// Unconfirmed returns them.
func (c *Correlator) Observe(op, target string, sent []gen.SentValue, newFiles []string, dirs []DirListing) []Selection {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(newFiles) > 0 {
		for _, sv := range sent {
			v := sv.Value
			if sv.Target == target && correlatable(v) && len(c.effects) < maxEffects {
				c.effects = append(c.effects, Effect{Operation: op, Target: sv.Target, Value: v, Files: append([]string(nil), newFiles...)})
			}
		}
	}
	all := c.matches(op, sent, newFiles)
	var found []Selection
	for _, m := range all {
		if !m.selects || !c.newOnTheWay(m.sel, m.sel.Path) {
			continue
		}
		if _, known := c.selections[selectionKey(m.sel)]; known {
			continue
		}
		switch {
		case c.confirms(m.sel) && !explainedDeeper(m, all):
			delete(c.unconfirmed, selectionKey(m.sel))
			found = append(found, m.sel)
		case needsConfirmation(m, all):
			c.doubt(m.sel)
		default:
			found = append(found, m.sel)
		}
	}
	// The request's paths are on the way from now on, and its directories
	// join the book, after correlation (see newOnTheWay) and before the
	// selections say where their names came from.
	c.reach(op, all, newFiles, dirs)
	c.names.note(dirs)
	var fresh []Selection
	for _, sel := range found {
		if c.recordLocked(&sel) {
			fresh = append(fresh, sel)
		}
	}
	return fresh
}

// correlatable reports whether v can be told in a path: long enough, no
// NUL, not a boolean.
func correlatable(v string) bool {
	return len(v) >= minCorrelatedLen && !strings.ContainsRune(v, 0) && v != "true" && v != "false"
}

// recordLocked records sel, with where its directory's names were known
// from, and marks its directory selected in the name book; false when sel
// (by operation, target and directory) was known. c.mu is held.
func (c *Correlator) recordLocked(sel *Selection) bool {
	k := selectionKey(*sel)
	if _, ok := c.selections[k]; ok {
		return false
	}
	sel.Names = c.names.origin(sel.Dir)
	c.selections[k] = *sel
	c.order = append(c.order, k)
	c.dirs[sel.Dir] = true
	c.names.markSelected(sel.Dir)
	return true
}

// hasSelection reports whether sel (by operation, target and directory) is known.
func (c *Correlator) hasSelection(sel Selection) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.selections[selectionKey(sel)]
	return ok
}

// addSelection records sel (see recordLocked) and returns it as recorded.
func (c *Correlator) addSelection(sel Selection) (Selection, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := c.recordLocked(&sel)
	return sel, ok
}

func selectionKey(sel Selection) string {
	return sel.Operation + "\x00" + sel.Target + "\x00" + sel.Dir
}

// correlate finds value v as a path component (or part of one) of p.
func correlate(v, p string) (Selection, bool) {
	clean := path.Clean(p)
	// A value may span components ("a/b"); look for it in the whole path first.
	if strings.Contains(v, "/") {
		i := strings.Index(clean, v)
		if i <= 0 {
			return Selection{}, false
		}
		dir := path.Dir(clean[:i+1])
		return Selection{Value: v, Dir: dir, Path: p, Suffix: clean[i+len(v):]}, true
	}
	return matchComponent(v, p, func(comp string, _ bool) int {
		j := strings.Index(comp, v)
		// Short values must be the whole name or its stem, not a substring.
		if j < 0 || len(v) < 5 && comp != v && !(j == 0 && strings.HasPrefix(comp[len(v):], ".")) {
			return -1
		}
		return j
	})
}

// matchComponent finds v in a component of path p, the last component
// first: at says where v is in comp (-1: not there); last is set for the
// file's own name. The selection's directory is the component's, its
// prefix and suffix what surrounds v in the component.
func matchComponent(v, p string, at func(comp string, last bool) int) (Selection, bool) {
	parts := strings.Split(path.Clean(p), "/")
	for i := len(parts) - 1; i >= 1; i-- {
		comp := parts[i]
		j := at(comp, i == len(parts)-1)
		if j < 0 {
			continue
		}
		dir := path.Clean("/" + strings.Join(parts[1:i], "/"))
		return Selection{Value: v, Dir: dir, Path: p, Prefix: comp[:j], Suffix: comp[j+len(v):]}, true
	}
	return Selection{}, false
}

// Candidates returns the names worth sending for sel: entries of its
// directory in the image (through the name book), turned into values the
// way the sent value became a name (suffix and prefix removed).
func (c *Correlator) Candidates(ctx context.Context, sel Selection) []string {
	entries, _ := c.names.entries(ctx, sel.Dir)
	seen := map[string]bool{sel.Value: true}
	var out []string
	for _, e := range entries {
		name := e
		if sel.Suffix != "" {
			if !strings.HasSuffix(name, sel.Suffix) {
				continue
			}
			name = strings.TrimSuffix(name, sel.Suffix)
		}
		if sel.Prefix != "" {
			if !strings.HasPrefix(name, sel.Prefix) {
				continue
			}
			name = strings.TrimPrefix(name, sel.Prefix)
		}
		if name == "" || seen[name] || nameStem(name) == "" {
			continue // dotfiles, __init__, __pycache__
		}
		seen[name] = true
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Selections returns every selection found, in order of discovery.
func (c *Correlator) Selections() []Selection {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Selection, len(c.order))
	for i, k := range c.order {
		out[i] = c.selections[k]
	}
	return out
}

// Dirs returns the directories whose entries request values select: rebuild
// should keep them whole.
func (c *Correlator) Dirs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.dirs))
	for d := range c.dirs {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Effects returns which files values newly caused to be opened.
func (c *Correlator) Effects() []Effect {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Effect(nil), c.effects...)
}

// Containing is the directory of dirs that f is in ("" if none); a
// directory and its __pycache__ count as one.
func Containing(dirs []string, f string) string {
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
