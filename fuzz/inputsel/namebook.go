package inputsel

import (
	"context"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/whittle-dev/whittle/internal/imagepath"
)

// NameBook is the dictionary of names that exist where the target resolves
// names: the directories it listed (an interpreter lists a package directory
// once, often at start-up, then answers imports from that listing, so a
// value naming a module that does not exist touches no file and correlation
// never fires) and the image's directories of the files it opened. Their
// entries, as the values that would name them, are what free-form string
// parameters are tried with (gen.NameSource).
//
// With hundreds of names in the interpreter's own directories, a flat pool
// would rarely hit the application's plugin directory: a pick first chooses
// a directory, weighted towards directories named like the parameter
// ("codec" ↔ codecs/), directories the target listed itself, and away from
// the interpreter's and libraries' directories, then a name in it.
type NameBook struct {
	mu       sync.Mutex
	lister   DirLister
	dirs     map[string]*NameDir
	order    []*NameDir // in the order first seen: picks are deterministic
	pending  []string   // known, entries not read yet
	selected map[string]bool
	total    int // names in all directories
	// listings are the entries of every directory read from the image, by
	// path: the book's and those of selections (Candidates).
	listings map[string][]string
	// picks caches, per parameter name, what a pick chooses from, until a
	// directory is added or loaded or selected (see invalidate).
	picks map[string]*pickTable
	// byName files the directories by the names they hold, as a registry
	// spells them (ValueDirs).
	byName map[string][]*NameDir
	// picked are the values PickName gave (up to maxNames): the book's own
	// names, which show nothing when they come back (ValueDirs).
	picked map[string]bool
}

// pickTable is what a pick for one parameter name chooses from: the
// directories of non-zero weight (in order's order) and their cumulative
// weights, searched by bisection.
type pickTable struct {
	dirs []*NameDir
	cum  []float64 // cum[i] is the weight of dirs[:i+1]
}

// NameDir is one directory of the book.
type NameDir struct {
	path string
	base nameWords // the name of the directory, as nameMatch compares it
	// listed: the target read the directory itself (opendir); otherwise it
	// only used files in it. startup: it was listed before the first request.
	listed, startup bool
	// system: the interpreter's or a library's directory, not the application's.
	system bool
	loaded bool
	names  []listedName // by stem, sorted
}

// listedName is a directory entry and the stem a value would name it by
// ("rot_13.cpython-311.pyc" → "rot_13").
type listedName struct {
	stem, entry string
}

const (
	maxNameDirs    = 4096
	maxNamesPerDir = 4096
	maxNames       = 1 << 16
	// maxSweep bounds the names a sweep sends per parameter and matching
	// directory (SweepNames); once one of them selects files, the others
	// are worth sending too (Candidates).
	maxSweep = 16
)

func newNameBook(lister DirLister) *NameBook {
	return &NameBook{lister: lister, dirs: map[string]*NameDir{}, selected: map[string]bool{}, listings: map[string][]string{}, picks: map[string]*pickTable{}, byName: map[string][]*NameDir{}, picked: map[string]bool{}}
}

// invalidate forgets the pick tables: a weight changed. b.mu is held.
func (b *NameBook) invalidate() { clear(b.picks) }

// note records the directories of a signal; their entries are read by load.
func (b *NameBook) note(dirs []DirListing) {
	if len(dirs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range dirs {
		p := nameDirOf(d.Path)
		if p == "" {
			continue
		}
		nd, ok := b.dirs[p]
		if !ok {
			if len(b.dirs) >= maxNameDirs {
				continue
			}
			nd = &NameDir{path: p, base: newNameWords(path.Base(p)), system: systemDir(p)}
			b.dirs[p] = nd
			b.order = append(b.order, nd)
			b.pending = append(b.pending, p)
			b.invalidate()
		}
		// A __pycache__ listing stands for its package's, not for a listing
		// of the package directory itself.
		if d.Listed && path.Clean(d.Path) == p && !nd.listed {
			nd.listed, nd.startup = true, d.Startup
			b.invalidate()
		}
	}
}

// nameDirOf is the directory whose names d holds: a __pycache__ directory
// stands for its package. "" for directories not worth a look.
func nameDirOf(d string) string {
	if d == "" || !strings.HasPrefix(d, "/") {
		return ""
	}
	p := path.Clean(d)
	if path.Base(p) == "__pycache__" {
		p = path.Dir(p)
	}
	if p == "/" || imagepath.UnderAny(p, imagepath.PseudoFS) {
		return ""
	}
	return p
}

// readiness is implemented by listers that prepare in the background (the
// image's filesystem is exported while the target starts): until Ready,
// Load leaves the directories for later rather than hold the fuzzer up.
type readiness interface {
	Ready() bool
}

// Load reads the entries of the directories noted since the last call from
// the image and returns those that hold names.
func (b *NameBook) Load(ctx context.Context) []*NameDir {
	if r, ok := b.lister.(readiness); ok && !r.Ready() {
		return nil
	}
	b.mu.Lock()
	todo := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	var out []*NameDir
	for _, p := range todo {
		entries, err := b.entries(ctx, p)
		if err != nil && ctx.Err() != nil {
			return out
		}
		b.mu.Lock()
		nd := b.dirs[p]
		if !nd.loaded {
			b.setEntries(nd, entries)
		}
		if len(nd.names) > 0 {
			out = append(out, nd)
		}
		b.mu.Unlock()
	}
	return out
}

// entries lists dir in the image, once: later calls answer from the
// book. It waits for a lister still preparing; a failed listing is tried
// again next time.
func (b *NameBook) entries(ctx context.Context, dir string) ([]string, error) {
	dir = path.Clean(dir)
	b.mu.Lock()
	list, ok := b.listings[dir]
	b.mu.Unlock()
	if ok || b.lister == nil {
		return list, nil
	}
	list, err := b.lister.ListDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.listings[dir] = list
	b.mu.Unlock()
	return list, nil
}

func (b *NameBook) setEntries(nd *NameDir, entries []string) {
	nd.loaded = true
	b.invalidate()
	seen := map[string]bool{}
	for _, e := range entries {
		stem := nameStem(e)
		if stem == "" || seen[stem] || len(nd.names) >= maxNamesPerDir || b.total >= maxNames {
			continue
		}
		seen[stem] = true
		nd.names = append(nd.names, listedName{stem: stem, entry: e})
		b.total++
	}
	sort.Slice(nd.names, func(i, j int) bool { return nd.names[i].stem < nd.names[j].stem })
	b.indexNames(nd)
}

// weight is how often a pick for param chooses d.
func (b *NameBook) weight(d *NameDir, param nameWords) float64 {
	if len(d.names) == 0 {
		return 0
	}
	w := 1.0
	if d.system {
		w = 0.05
	}
	if d.listed {
		w *= 2
	}
	switch param.match(d.base) {
	case 2:
		w *= 50
	case 1:
		w *= 10
	}
	if b.selected[d.path] {
		// Kept whole already: more of its names add little.
		w *= 0.1
	}
	return w
}

// PickName chooses a directory by weight, then one of its names, most often
// as its stem, sometimes as the entry's full name or another spelling.
func (b *NameBook) PickName(rng *rand.Rand, param string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.pickName(rng, param)
	if ok && len(b.picked) < maxNames {
		b.picked[v] = true
	}
	return v, ok
}

// pickName is PickName; b.mu is held.
func (b *NameBook) pickName(rng *rand.Rand, param string) (string, bool) {
	t := b.picks[param]
	if t == nil {
		t = b.pickTable(param)
		b.picks[param] = t
	}
	if len(t.cum) == 0 {
		return "", false
	}
	x := rng.Float64() * t.cum[len(t.cum)-1]
	i := sort.Search(len(t.cum), func(i int) bool { return x < t.cum[i] })
	d := t.dirs[min(i, len(t.dirs)-1)]
	n := d.names[rng.IntN(len(d.names))]
	switch y := rng.Float64(); {
	case y < 0.6:
		return n.stem, true
	case y < 0.7:
		if n.entry != n.stem {
			return strings.TrimSuffix(n.entry, path.Ext(n.entry)), true
		}
		return n.stem, true
	default:
		vs := nameVariants(n.stem)
		if len(vs) == 0 {
			return n.stem, true
		}
		return vs[rng.IntN(len(vs))], true
	}
}

// pickTable weighs every directory for param. b.mu is held.
func (b *NameBook) pickTable(param string) *pickTable {
	pw := newNameWords(param)
	t := &pickTable{}
	total := 0.0
	for _, d := range b.order {
		if w := b.weight(d, pw); w > 0 {
			total += w
			t.dirs = append(t.dirs, d)
			t.cum = append(t.cum, total)
		}
	}
	return t
}

// origin says where the names of dir came from, for reports: "listed by
// the target at start-up", "listed by the target", or "" when the target
// only used files there.
func (b *NameBook) origin(dir string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dirs[nameDirOf(dir)]
	switch {
	case d == nil || !d.listed:
		return ""
	case d.startup:
		return "listed by the target at start-up"
	}
	return "listed by the target"
}

// Selected reports whether a request value selects files in dir.
func (b *NameBook) Selected(dir string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.selected[nameDirOf(dir)]
}

// markSelected notes that a request value selects files in dir.
func (b *NameBook) markSelected(dir string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := nameDirOf(dir); p != "" && !b.selected[p] {
		b.selected[p] = true
		b.invalidate()
	}
}

// Path is the directory's path in the image.
func (d *NameDir) Path() string { return d.path }

// SweepNames are the stems of d a sweep sends, in order.
func (d *NameDir) SweepNames() []string {
	n := min(len(d.names), maxSweep)
	out := make([]string, n)
	for i := range n {
		out[i] = d.names[i].stem
	}
	return out
}
