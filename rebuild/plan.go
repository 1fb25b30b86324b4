package rebuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Plan is the file set of a minimal image, with the reasons of every file.
type Plan struct {
	Files    []KeptFile
	Skipped  []Need
	Excluded []string
	// MountExcluded are paths needed beneath a mount point of the run,
	// left out: they came from the host or a volume.
	MountExcluded []string
	Warnings      []string
	ByReason      map[string]int64
	// Totals count the files and bytes of regular files by the kind of
	// their first reason.
	Totals map[string]ReasonTotal
	// Heuristics says, for each heuristic, whether it was on, what made it
	// fire and how many paths it kept.
	Heuristics []HeuristicReport
}

// ReasonTotal is what the files of one reason kind add up to.
type ReasonTotal struct {
	Files int   `json:"files"` // entries of any type
	Bytes int64 `json:"bytes"` // sizes of regular files
}

// HeuristicReport is the outcome of one heuristic.
type HeuristicReport struct {
	Name     Heuristic `json:"name"`
	Enabled  bool      `json:"enabled"`
	Evidence []string  `json:"evidence,omitempty"` // what made it fire; none: it kept nothing
	Kept     int       `json:"kept"`               // paths with a reason of this heuristic
}

// Select computes the file set of the minimal image of fsys for needs:
// every need resolved with the symbolic links on its path, ELF closures,
// script interpreters, the enabled heuristics, WithInclude/WithExclude/
// WithKeepShell, and the parent directories of everything kept.
func Select(fsys *ImageFS, needs []Need, opts ...Option) *Plan {
	return selectFiles(fsys, needs, newConfig(opts))
}

type keptEntry struct {
	reasons   []string
	reasonSet map[string]bool
	whole     string // reason to give children when the directory is kept whole
}

type selector struct {
	fs       *ImageFS
	cfg      *config
	env      []string
	loader   *Loader
	kept     map[string]*keptEntry
	queue    []string
	excludes []*regexp.Regexp
	excluded map[string]bool
	mounted  map[string]bool
	skipped  []Need
	warned   map[string]bool
	warnings []string

	// triggers of global heuristics, set while processing files
	nssDBs                     map[string]string // NSS database -> first evidence
	nssLib                     string            // an object calling glibc's NSS lookups (loads modules)
	nssInfo                    *ELFInfo
	tlsBy, opensslBy, localeBy string
	evidences                  map[Heuristic][]string
	evidenceSet                map[Heuristic]map[string]bool
	gconvDirs                  map[string]bool
	siteDirs                   map[string]map[string]bool // site dir -> top-level names used
	metaTops                   map[string][]string        // dist-info path -> top-level names
	pyRoots                    []string                   // the interpreter's search path (pythonRoots)
}

func selectFiles(fsys *ImageFS, needs []Need, cfg *config) *Plan {
	s := &selector{
		fs:          fsys,
		cfg:         cfg,
		kept:        map[string]*keptEntry{},
		excluded:    map[string]bool{},
		mounted:     map[string]bool{},
		warned:      map[string]bool{},
		gconvDirs:   map[string]bool{},
		nssDBs:      map[string]string{},
		evidences:   map[Heuristic][]string{},
		evidenceSet: map[Heuristic]map[string]bool{},
		siteDirs:    map[string]map[string]bool{},
		metaTops:    map[string][]string{},
	}
	if fsys.Config != nil {
		s.env = fsys.Config.Config.Env
	}
	if un := fsys.Unextracted(); len(un) > 0 {
		more := ""
		if len(un) > 5 {
			un, more = un[:5], fmt.Sprintf(" and %d more", len(fsys.Unextracted())-5)
		}
		s.warn(fmt.Sprintf("image entries left out of its filesystem (unsafe name, beneath a non-directory, or a hardlink to nothing): %q%s", un, more))
	}
	s.loader = NewLoader(fsys, s.env)
	if s.loader.CacheErr != nil {
		s.warn(fmt.Sprintf("ld.so.cache: %v (falling back to default directories)", s.loader.CacheErr))
	}
	for _, g := range cfg.excludes {
		res, err := s.globRegexps(g)
		if err != nil {
			s.warn(fmt.Sprintf("exclude %q: %v", g, err))
			continue
		}
		s.excludes = append(s.excludes, res...)
	}

	for _, n := range needs {
		s.addNeed(n)
	}
	s.includes()
	s.keepShell()
	s.configNeeds()
	s.runNeeds()
	for round := 0; round < 16; round++ {
		s.drain()
		before := len(s.kept)
		s.globalHeuristics()
		if len(s.queue) == 0 && len(s.kept) == before {
			break
		}
	}
	s.parents()
	return s.plan()
}

func (s *selector) warn(w string) {
	if !s.warned[w] {
		s.warned[w] = true
		s.warnings = append(s.warnings, w)
	}
}

func (s *selector) on(h Heuristic) bool { return s.cfg.heuristics[h] }

// addNeed handles one input need, recording it as skipped when it cannot be
// satisfied from the image.
func (s *selector) addNeed(n Need) {
	skip := func(note string) {
		n.Note = note
		s.skipped = append(s.skipped, n)
	}
	if !strings.HasPrefix(n.Path, "/") {
		skip("relative path")
		return
	}
	p := cleanAbs(n.Path)
	for _, pseudo := range []string{"/proc", "/sys", "/dev"} {
		if p == pseudo || strings.HasPrefix(p, pseudo+"/") {
			skip("kernel filesystem: provided by the runtime")
			return
		}
	}
	reason := n.Reason
	if reason == "" {
		reason = "needed"
	}
	s.traceEvidence(n)
	if s.cfg.listed && reason == "traced:opendir" {
		s.listed(n.Path)
	}
	switch err := s.need(n.Path, reason, n.Whole); {
	case err == nil:
	case errors.Is(err, ErrLoop):
		skip("symbolic link loop")
	case errors.Is(err, errExcluded):
		skip("excluded")
	default:
		// Used yet not in the image: made at run time (a temporary file, a
		// socket, a pid file). The directory it was made in must exist.
		s.keepParent(p, reason)
		skip("not in image")
	}
}

// keepParent keeps the nearest directory above p that the image has (and
// the symbolic links on the way to it), without its other contents.
func (s *selector) keepParent(p, reason string) {
	for q := path.Dir(p); q != "/"; q = path.Dir(q) {
		res, err := s.fs.Resolve(q)
		if err != nil {
			continue
		}
		if h := s.fs.entries[res.Path]; h != nil && h.Typeflag == tar.TypeDir {
			_ = s.need(q, "parent of "+p+", made at run time ("+reason+")", false)
			return
		}
		return // a file or a dangling link where a directory was expected
	}
}

var errExcluded = errors.New("excluded")

// listed keeps the direct children of the directory the app listed at p.
func (s *selector) listed(p string) {
	res, err := s.fs.Resolve(p)
	if err != nil {
		return
	}
	if h := s.fs.entries[res.Path]; h == nil || h.Typeflag != tar.TypeDir {
		return
	}
	for _, name := range s.fs.ReadDir(res.Path) {
		c := path.Join(res.Path, name)
		if h := s.fs.entries[c]; h != nil {
			// need, not keep: a symbolic link keeps its target too.
			_ = s.need(c, "listed:"+p, false)
		}
	}
}

// need keeps what path p requires: every symlink on its way and the real
// file (a dangling final symlink is kept as a link). whole keeps a directory
// recursively.
func (s *selector) need(p, reason string, whole bool) error {
	res, err := s.fs.Resolve(p)
	for _, l := range res.Links {
		s.keep(l, "symlink:on path "+p)
	}
	if err != nil {
		if errors.Is(err, ErrLoop) {
			s.warn(fmt.Sprintf("symlink loop resolving %s (%s)", p, reason))
			return err
		}
		// The last component may be a dangling symlink the app reads with
		// readlink/lstat: keep the link itself.
		if lr, lerr := s.fs.ResolveNoFollow(p); lerr == nil {
			for _, l := range lr.Links {
				s.keep(l, "symlink:on path "+p)
			}
			if s.keep(lr.Path, reason) {
				return nil
			}
			return errExcluded
		}
		return err
	}
	if !s.keep(res.Path, reason) {
		return errExcluded
	}
	if whole {
		if h := s.fs.entries[res.Path]; h != nil && h.Typeflag == tar.TypeDir {
			k := s.kept[res.Path]
			if k.whole == "" {
				k.whole = reason
				s.queue = append(s.queue, res.Path) // walk its children
			}
		}
	}
	return nil
}

// keep adds the real path p with reason; it reports false when p is excluded.
func (s *selector) keep(p, reason string) bool {
	if s.cfg.underMount(p) != "" {
		s.mounted[p] = true
		return false
	}
	if s.isExcluded(p) {
		s.excluded[p] = true
		return false
	}
	k, ok := s.kept[p]
	if !ok {
		k = &keptEntry{reasonSet: map[string]bool{}}
		s.kept[p] = k
		s.queue = append(s.queue, p)
	}
	if !k.reasonSet[reason] {
		k.reasonSet[reason] = true
		k.reasons = append(k.reasons, reason)
	}
	return true
}

func (s *selector) isExcluded(p string) bool {
	for _, re := range s.excludes {
		for q := p; q != "/"; q = path.Dir(q) {
			if re.MatchString(q) {
				return true
			}
		}
	}
	return false
}

func (s *selector) drain() {
	for len(s.queue) > 0 {
		p := s.queue[0]
		s.queue = s.queue[1:]
		s.process(p)
	}
}

// process derives what a newly kept path implies.
func (s *selector) process(p string) {
	h := s.fs.entries[p]
	if h == nil {
		return
	}
	switch h.Typeflag {
	case tar.TypeSymlink:
		// Kept by a whole directory, an include or a path: keep what it
		// points to so that it does not dangle.
		if res, err := s.fs.Resolve(p); err == nil {
			for _, l := range res.Links {
				if l != p {
					s.keep(l, "symlink:on path "+p)
				}
			}
			s.keep(res.Path, "symlink:target of "+p)
		}
	case tar.TypeDir:
		if k := s.kept[p]; k != nil && k.whole != "" {
			for _, c := range s.fs.Under(p) {
				s.keep(c, k.whole)
			}
		}
	case tar.TypeReg, tar.TypeLink:
		head := s.fs.readHead(p, shebangMax)
		if bytes.HasPrefix(head, elfMagic) {
			s.elf(p)
		} else if h.Mode&0o111 != 0 {
			if sb, ok := ParseShebang(head); ok {
				s.shebang(p, sb)
			}
		}
		s.fileHeuristics(p)
	}
}

func (s *selector) elf(p string) {
	info, err := s.loader.Info(p)
	if err != nil {
		s.warn(fmt.Sprintf("%s: unreadable ELF: %v", p, err))
		return
	}
	s.noteELF(p, info)
	deps, err := s.loader.Closure(p)
	if err != nil {
		s.warn(fmt.Sprintf("%s: ELF closure: %v", p, err))
		return
	}
	for _, d := range deps {
		var reason string
		switch {
		case d.Path == "":
			s.warn(fmt.Sprintf("%s needs %s: not found in the image", d.From, d.Name))
			continue
		case d.Kind == "interp":
			reason = "elf:interpreter of " + d.From
		case d.Via == "hwcaps variant":
			reason = fmt.Sprintf("elf:%s (hwcaps variant) needed by %s", d.Name, d.From)
		default:
			reason = fmt.Sprintf("elf:%s needed by %s", d.Name, d.From)
		}
		_ = s.need(d.Path, reason, false)
	}
}

func (s *selector) shebang(p string, sb Shebang) {
	if !strings.HasPrefix(sb.Interp, "/") {
		s.warn(fmt.Sprintf("%s: relative interpreter %q", p, sb.Interp))
		return
	}
	if err := s.need(sb.Interp, "shebang:interpreter of "+p, false); err != nil {
		s.warn(fmt.Sprintf("%s: interpreter %s: %v", p, sb.Interp, err))
	}
	if prog := sb.EnvProgram(); prog != "" {
		if found := s.fs.LookPath(prog, envPath(s.env)); found != "" {
			_ = s.need(found, fmt.Sprintf("shebang:%s run by env in %s", prog, p), false)
		} else {
			s.warn(fmt.Sprintf("%s: %s (via env) not found along PATH", p, prog))
		}
	}
}

func (s *selector) includes() {
	for _, g := range s.cfg.includes {
		reason := "include:" + g
		if !strings.ContainsAny(g, `*?[`) {
			if err := s.need(g, reason, true); err != nil {
				s.warn(fmt.Sprintf("include %s: %v", g, err))
			}
			continue
		}
		res, err := s.globRegexps(g)
		if err != nil {
			s.warn(fmt.Sprintf("include %q: %v", g, err))
			continue
		}
		dir, _ := literalPrefix(cleanAbs(g))
		if r, err := s.fs.Resolve(dir); err == nil {
			dir = r.Path
		}
		n := 0
		for _, p := range s.fs.Under(dir) {
			for _, re := range res {
				if re.MatchString(p) {
					_ = s.need(p, reason, true)
					n++
					break
				}
			}
		}
		if n == 0 {
			s.warn(fmt.Sprintf("include %s matched nothing", g))
		}
	}
}

// globRegexps compiles glob g, plus a variant whose literal directory prefix
// is resolved in the image (so "/lib/**" also matches the real "/usr/lib/..."
// paths under merged /usr).
func (s *selector) globRegexps(g string) ([]*regexp.Regexp, error) {
	re, err := globRegexp(g)
	if err != nil {
		return nil, err
	}
	out := []*regexp.Regexp{re}
	dir, rest := literalPrefix(cleanAbs(g))
	if r, err := s.fs.Resolve(dir); err == nil && r.Path != dir {
		if re2, err := globRegexp(path.Join(r.Path, rest)); err == nil {
			out = append(out, re2)
		}
	}
	return out, nil
}

// shellTools are kept by WithKeepShell when the image has them.
var shellTools = []string{"sh", "bash", "busybox", "ls", "cat", "env", "id", "ps", "grep", "head", "tail",
	"find", "stat", "echo", "sleep", "which", "less", "vi", "mkdir", "rm", "cp", "mv", "chmod", "df", "du", "wc"}

func (s *selector) keepShell() {
	if !s.cfg.keepShell {
		return
	}
	dirs := append(envPath(s.env), strings.Split(defaultPath, ":")...)
	for _, t := range shellTools {
		if p := s.fs.LookPath(t, dirs); p != "" {
			_ = s.need(p, "keep-shell", false)
		}
	}
}

// parents keeps the ancestors of every kept path.
func (s *selector) parents() {
	for p := range s.kept {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			k, ok := s.kept[d]
			if !ok {
				k = &keptEntry{reasonSet: map[string]bool{}}
				s.kept[d] = k
			}
			if len(k.reasons) == 0 {
				k.reasons = append(k.reasons, "parent")
				k.reasonSet["parent"] = true
			}
		}
	}
}

func (s *selector) plan() *Plan {
	pl := &Plan{Skipped: s.skipped, Warnings: s.warnings, ByReason: map[string]int64{}, Totals: map[string]ReasonTotal{}}
	kept := map[string]int{}
	for p := range s.excluded {
		pl.Excluded = append(pl.Excluded, p)
	}
	sort.Strings(pl.Excluded)
	for p := range s.mounted {
		pl.MountExcluded = append(pl.MountExcluded, p)
	}
	sort.Strings(pl.MountExcluded)
	paths := make([]string, 0, len(s.kept))
	for p := range s.kept {
		if p != "/" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		h := s.fs.entries[p]
		k := s.kept[p]
		kf := KeptFile{Path: p, Mode: h.FileInfo().Mode(), Reasons: k.reasons}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeLink:
			kf.Size = h.Size
		case tar.TypeSymlink:
			kf.Linkname = h.Linkname
		}
		pl.Files = append(pl.Files, kf)
		first := ReasonKind(k.reasons[0])
		if kf.Size > 0 {
			pl.ByReason[first] += kf.Size
		}
		t := pl.Totals[first]
		t.Files++
		t.Bytes += kf.Size
		pl.Totals[first] = t
		seen := map[string]bool{}
		for _, r := range k.reasons {
			if kind := ReasonKind(r); !seen[kind] {
				seen[kind] = true
				kept[kind]++
			}
		}
	}
	for _, h := range AllHeuristics {
		pl.Heuristics = append(pl.Heuristics, HeuristicReport{Name: h, Enabled: s.on(h), Evidence: s.evidences[h], Kept: kept[string(h)]})
	}
	return pl
}

// ReasonKind is the kind of a reason: the part before its first ':'.
func ReasonKind(reason string) string {
	kind, _, _ := strings.Cut(reason, ":")
	return kind
}

// globRegexp compiles a glob over absolute paths: '*' and '?' never cross '/',
// "**" matches across directories ("/a/**/b" also matches "/a/b"), [...] is a
// character class.
func globRegexp(g string) (*regexp.Regexp, error) {
	g = cleanAbs(g)
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case c == '*' && i+1 < len(g) && g[i+1] == '*':
			i++
			if i+1 < len(g) && g[i+1] == '/' {
				i++
				b.WriteString("(?:.*/)?")
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(g[i+1:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated character class")
			}
			class := g[i+1 : i+1+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += j + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
