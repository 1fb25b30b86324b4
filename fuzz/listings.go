package fuzz

import (
	"context"
	"math/rand/v2"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/internal/imagepath"
)

// nameBook is the dictionary of names that exist where the target resolves
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
type nameBook struct {
	mu       sync.Mutex
	lister   DirLister
	dirs     map[string]*nameDir
	order    []*nameDir // in the order first seen: picks are deterministic
	pending  []string   // known, entries not read yet
	selected map[string]bool
	total    int // names in all directories
	// listings are the entries of every directory read from the image, by
	// path: the book's and those of selections (Candidates).
	listings map[string][]string
	// picks caches, per parameter name, what a pick chooses from, until a
	// directory is added or loaded or selected (see invalidate).
	picks map[string]*pickTable
}

// pickTable is what a pick for one parameter name chooses from: the
// directories of non-zero weight (in order's order) and their cumulative
// weights, searched by bisection.
type pickTable struct {
	dirs []*nameDir
	cum  []float64 // cum[i] is the weight of dirs[:i+1]
}

// nameDir is one directory of the book.
type nameDir struct {
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
	// maxSweep bounds the names sent deterministically per parameter and
	// matching directory; once one of them selects files, the correlator
	// queues the others (Candidates).
	maxSweep = 16
	// maxEntriesPerSelectedDir bounds the corpus entries whose only news
	// are files of one input-selected directory (see floods).
	maxEntriesPerSelectedDir = 4
)

func newNameBook(lister DirLister) *nameBook {
	return &nameBook{lister: lister, dirs: map[string]*nameDir{}, selected: map[string]bool{}, listings: map[string][]string{}, picks: map[string]*pickTable{}}
}

// invalidate forgets the pick tables: a weight changed. b.mu is held.
func (b *nameBook) invalidate() { clear(b.picks) }

// note records the directories of a signal; their entries are read by load.
func (b *nameBook) note(dirs []DirListing) {
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
			nd = &nameDir{path: p, base: newNameWords(path.Base(p)), system: systemDir(p)}
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
// load leaves the directories for later rather than hold the fuzzer up.
type readiness interface {
	Ready() bool
}

// load reads the entries of the directories noted since the last call from
// the image and returns those that hold names.
func (b *nameBook) load(ctx context.Context) []*nameDir {
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
	var out []*nameDir
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
func (b *nameBook) entries(ctx context.Context, dir string) ([]string, error) {
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

func (b *nameBook) setEntries(nd *nameDir, entries []string) {
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
}

// nameStem is the value that names entry e: the name up to its first dot
// ("rot_13.cpython-311.pyc" → "rot_13", "index.html.j2" → "index"); "" for
// entries no request would name (dotfiles, caches, package markers,
// metadata).
func nameStem(e string) string {
	if e == "" || strings.HasPrefix(e, ".") || strings.HasSuffix(e, "~") ||
		strings.HasSuffix(e, ".dist-info") || strings.HasSuffix(e, ".egg-info") {
		return ""
	}
	stem, _, _ := strings.Cut(e, ".")
	if stem == "" || (strings.HasPrefix(stem, "__") && strings.HasSuffix(stem, "__")) {
		return "" // __init__, __main__, __pycache__
	}
	return stem
}

// nameVariants are other spellings of s that applications often accept for
// the same name: "-" for "_" and back, lower, upper and title case.
func nameVariants(s string) []string {
	cands := []string{
		strings.ReplaceAll(s, "_", "-"),
		strings.ReplaceAll(s, "-", "_"),
		strings.ToLower(s),
		strings.ToUpper(s),
		titleCase(s),
	}
	var out []string
	for _, c := range cands {
		if c != s && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func titleCase(s string) string {
	r := []rune(strings.ToLower(s))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// systemPrefixes, systemDirs and systemMarkers are where interpreters and
// libraries keep their own files: names there are rarely what a request
// selects.
var (
	// Versioned interpreter directories: /usr/lib/python3.11, /usr/lib/ruby/3.1.0.
	systemPrefixes = []string{"/usr/lib/python", "/usr/local/lib/python", "/usr/lib/pypy", "/usr/lib/ruby", "/usr/local/lib/ruby", "/usr/lib/jvm"}
	systemDirs     = []string{
		"/usr/lib/node_modules", "/usr/local/lib/node_modules", "/usr/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu", "/lib", "/lib64", "/usr/lib64", "/usr/libexec", "/usr/share/perl",
		"/usr/share/perl5", "/usr/lib/go", "/usr/local/go", "/usr/share/zoneinfo", "/usr/share/ca-certificates",
		"/etc/ssl", "/usr/lib/ssl", "/usr/lib/locale",
	}
	systemMarkers = []string{"/site-packages", "/dist-packages", "/node_modules", "/gems/", "/vendor/bundle"}
	systemExact   = []string{"/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/local", "/usr/local/lib", "/usr/local/bin", "/usr/share", "/etc", "/var", "/tmp", "/root", "/home"}
)

func systemDir(p string) bool {
	if slices.Contains(systemExact, p) || imagepath.UnderAny(p, systemDirs) {
		return true
	}
	for _, pre := range systemPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	for _, m := range systemMarkers {
		if strings.Contains(p+"/", m) {
			return true
		}
	}
	return false
}

// nameMatch says how well a parameter's name matches a directory's name:
// 2 when they are the same word (singular or plural, any case or
// separators: "codec" ↔ "codecs", "template_name" ↔ "template-names"), 1
// when one word of each does ("output_format" ↔ "formats"), 0 otherwise.
func nameMatch(param, dir string) int {
	return newNameWords(param).match(newNameWords(dir))
}

// nameWords is a name as nameMatch compares it: normalised, and in words.
type nameWords struct {
	norm  string
	words []string
}

func newNameWords(s string) nameWords {
	return nameWords{norm: gen.NormalizeName(s), words: words(s)}
}

// match is nameMatch(param, dir) for param p and dir d.
func (p nameWords) match(d nameWords) int {
	if p.norm == "" || d.norm == "" {
		return 0
	}
	if samePlural(p.norm, d.norm) {
		return 2
	}
	for _, pw := range p.words {
		for _, dw := range d.words {
			if len(pw) >= 3 && len(dw) >= 3 && samePlural(pw, dw) {
				return 1
			}
		}
	}
	return 0
}

// samePlural reports whether a and b are one word, singular or plural.
func samePlural(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	switch {
	case b == a+"s", b == a+"es":
		return true
	case strings.HasSuffix(a, "y") && b == a[:len(a)-1]+"ies":
		return true
	}
	return false
}

// words splits a name at separators and lower-to-upper case changes
// ("outputFormat" → output, format), lowercased.
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			if prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur = append(cur, r)
			prevLower = true
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	return out
}

// weight is how often a pick for param chooses d.
func (b *nameBook) weight(d *nameDir, param nameWords) float64 {
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
func (b *nameBook) PickName(rng *rand.Rand, param string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
func (b *nameBook) pickTable(param string) *pickTable {
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
func (b *nameBook) origin(dir string) string {
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

// knows reports whether dir is a directory of the book.
func (b *nameBook) knows(dir string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.dirs[path.Clean(dir)]
	return ok
}

// markSelected notes that a request value selects files in dir.
func (b *nameBook) markSelected(dir string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := nameDirOf(dir); p != "" && !b.selected[p] {
		b.selected[p] = true
		b.invalidate()
	}
}

// sweepNames are the stems of d a sweep sends, in order.
func (d *nameDir) sweepNames() []string {
	n := min(len(d.names), maxSweep)
	out := make([]string, n)
	for i := range n {
		out[i] = d.names[i].stem
	}
	return out
}

// newOnTheWay reports whether the component of p that sel matched can have
// been selected by the value: a directory on the way to the file that the
// target had used before cannot ("pyplugins" sent while the request
// imported /app/pyplugins/codecs/x.py). Called before the signal's
// directories join the book.
func (c *FileCorrelator) newOnTheWay(sel Selection, p string) bool {
	m := path.Join(sel.Dir, sel.Prefix+sel.Value+sel.Suffix)
	return m == path.Clean(p) || !c.names.knows(m)
}
