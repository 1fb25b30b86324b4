package cover

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/whittle-dev/whittle/tracer/elfsym"
	"github.com/whittle-dev/whittle/tracer/internal/procfs"
	"github.com/whittle-dev/whittle/tracer/usdt"
)

// errNotPython: the target is not a CPython interpreter (native coverage).
var errNotPython = errors.New("not a Python interpreter")

// pythonCover is CPython line coverage through the python:line USDT probe.
//
// The probe sits in the interpreter's eval loop behind a semaphore: while
// no uprobe is attached the semaphore is 0 and the interpreter skips it at
// full speed; attaching (Enable(true)) raises it, and every executed line
// then traps. BPF deduplicates (file, function, line) triples, so each is
// read once.
type pythonCover struct {
	tg         *target // the file holding the probes (interpreter or libpython)
	probes     string  // its path inside the container
	sites      []usdt.Probe
	slots      []uint32 // usdt_specs slot (cookie) per site
	ex         *link.Executable
	prog       *ebpf.Program
	multi      bool       // one uprobe_multi link; else a classic uprobe per site
	cwd        string     // the interpreter's working directory (relative file names)
	files      []string   // scope globs
	scopeFrom  string     // how they were found
	scope      []Function // the functions of the in-scope files
	scopeFiles []string   // the in-scope source files
	total      int

	mu      sync.Mutex
	l       io.Closer // the line probe's link(s) while enabled
	enabled bool

	// guarded by the Coverage's mu
	unitIdx    map[string]int
	outOfScope uint64
}

// newPythonCover finds python:line in tg or in a libpython mapped by the
// process. errNotPython when tg is no Python interpreter; ErrNoUSDT when it
// is one without the probe.
func newPythonCover(ctx context.Context, set *coverSet, tg *target, cfg config) (*pythonCover, error) {
	probeFile := tg
	sites, err := pythonLineSites(tg)
	if err != nil {
		return nil, err
	}
	isPy := len(sites) > 0 || looksLikePython(tg)
	if len(sites) == 0 {
		if lib := mappedLibpython(tg); lib != "" {
			isPy = true
			lt := &target{pid: tg.pid, inside: lib, root: tg.root, proc: tg.proc}
			if f, err := tg.root.Open(lib); err == nil {
				lt.file = f
				if sites, err = pythonLineSites(lt); err != nil || len(sites) == 0 {
					lt.close()
				} else {
					probeFile = lt
				}
			}
		}
	}
	if !isPy {
		return nil, errNotPython
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("cover: %s: %w", tg.inside, ErrNoUSDT)
	}
	p := &pythonCover{tg: probeFile, probes: probeFile.inside, sites: sites, prog: set.pyLine, multi: set.multi,
		unitIdx: map[string]int{}}
	if probeFile != tg {
		tg.close()
	}
	if p.ex, err = probeFile.executable(); err != nil {
		probeFile.close()
		return nil, fmt.Errorf("cover: %w", err)
	}
	for _, s := range sites {
		slot, err := set.addUSDTSpec(s)
		if err != nil {
			probeFile.close()
			return nil, err
		}
		p.slots = append(p.slots, slot)
	}
	p.cwd, _ = tg.proc.Cwd(uint32(tg.pid))
	p.files, p.scopeFrom = cfg.pyFiles, "the scope patterns given"
	if len(p.files) == 0 {
		p.files, p.scopeFrom = defaultPythonScope(tg, p.cwd)
	}
	p.scope, p.scopeFiles = pythonScope(ctx, tg.root, p.files)
	p.total = len(p.scope)
	return p, nil
}

// defaultPythonScope finds the application's code from the interpreter's
// command line (findPythonApp), else takes its working directory, else
// everything outside the standard library.
func defaultPythonScope(tg *target, cwd string) (globs []string, from string) {
	cmd := pyCommand{root: tg.proc.Root(uint32(tg.pid)), cwd: cwd, exe: tg.inside}
	pid := uint32(tg.pid)
	if raw, err := os.ReadFile(tg.proc.PidPath(pid, "cmdline")); err == nil {
		cmd.args = strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	}
	if raw, err := os.ReadFile(tg.proc.PidPath(pid, "environ")); err == nil {
		cmd.env = strings.Split(string(raw), "\x00")
	}
	if exe, ok := tg.proc.Exe(pid); ok {
		cmd.exe = exe
	}
	if app, ok := findPythonApp(cmd); ok {
		return app.globs, app.from
	}
	if cwd == "" || cwd == "/" {
		return []string{"!/usr/lib/python3*", "!/usr/local/lib/python3*", "!<*"}, "no application found from the command line: everything outside the standard library"
	}
	return []string{strings.TrimSuffix(cwd, "/") + "/*"}, "no application found from the command line: the working directory " + cwd
}

// pythonLineSites returns the python:line probes of the file, checked.
func pythonLineSites(tg *target) ([]usdt.Probe, error) {
	probes, err := usdt.Parse(tg.file)
	if errors.Is(err, usdt.ErrNoProbes) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cover: reading the USDT notes of %s: %w", tg.inside, err)
	}
	sites := usdt.Find(probes, "python", "line")
	for _, s := range sites {
		if s.ArgErr != nil || len(s.Args) < 3 {
			return nil, fmt.Errorf("cover: %s python:line arguments %q: %v", tg.inside, s.ArgSpec, s.ArgErr)
		}
		if s.Semaphore == 0 {
			return nil, fmt.Errorf("cover: %s python:line has no semaphore", tg.inside)
		}
	}
	return sites, nil
}

// looksLikePython reports whether the ELF file exports CPython's entry points.
func looksLikePython(tg *target) bool {
	f, err := elf.NewFile(tg.file)
	if err != nil {
		return false
	}
	syms, _ := f.DynamicSymbols()
	for _, s := range syms {
		if s.Name == "Py_BytesMain" || s.Name == "Py_Main" {
			return true
		}
	}
	libs, _ := f.ImportedLibraries()
	for _, l := range libs {
		if strings.HasPrefix(l, "libpython") {
			return true
		}
	}
	return false
}

// mappedLibpython returns the in-container path of a libpython the process
// has mapped, or "".
func mappedLibpython(tg *target) string {
	f, err := os.Open(tg.proc.PidPath(uint32(tg.pid), "maps"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && strings.HasPrefix(path.Base(fields[5]), "libpython") {
			return fields[5]
		}
	}
	return ""
}

// addUSDTSpec stores a site's argument locations for the BPF program.
func (s *coverSet) addUSDTSpec(p usdt.Probe) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pySpec >= maxUSDTSpecs {
		return 0, fmt.Errorf("cover: more than %d USDT sites", maxUSDTSpecs)
	}
	var spec coverUsdtSpec
	for i := range spec.A {
		a := p.Args[i]
		spec.A[i].Kind = uint8(a.Kind)
		spec.A[i].Size = uint8(a.Size)
		if a.Signed {
			spec.A[i].IsSigned = 1
		}
		spec.A[i].RegOff = uint32(a.RegOffset)
		spec.A[i].Disp = a.Disp
	}
	slot := s.pySpec
	if err := s.maps.UsdtSpecs.Update(slot, &spec, ebpf.UpdateAny); err != nil {
		return 0, fmt.Errorf("cover: storing USDT argument specs: %w", err)
	}
	s.pySpec++
	return slot, nil
}

// maxUSDTSpecs mirrors MAX_USDT_SPECS in bpf/records.h.
const maxUSDTSpecs = 64

// enable attaches (raising the semaphore) or detaches the line probe.
func (p *pythonCover) enable(on bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.enabled {
		return nil
	}
	if !on {
		p.enabled = false
		err := p.l.Close()
		p.l = nil
		return err
	}
	var l io.Closer
	var err error
	if p.multi {
		opts := &link.UprobeMultiOptions{}
		for i, s := range p.sites {
			opts.Addresses = append(opts.Addresses, s.Offset)
			opts.RefCtrOffsets = append(opts.RefCtrOffsets, s.SemaphoreOffset)
			opts.Cookies = append(opts.Cookies, uint64(p.slots[i]))
		}
		l, err = p.ex.UprobeMulti(nil, p.prog, opts)
	} else {
		l, err = p.attachEach()
	}
	if err != nil {
		return fmt.Errorf("cover: attaching python:line of %s: %w", p.probes, err)
	}
	p.l, p.enabled = l, true
	return nil
}

// attachEach attaches a classic uprobe per site (kernels without
// uprobe_multi), all closed together.
func (p *pythonCover) attachEach() (io.Closer, error) {
	var all linkGroup
	for i, s := range p.sites {
		l, err := p.ex.Uprobe("", p.prog, &link.UprobeOptions{Address: s.Offset, RefCtrOffset: s.SemaphoreOffset, Cookie: uint64(p.slots[i])})
		if err != nil {
			return nil, errors.Join(err, all.Close())
		}
		all.links = append(all.links, l)
	}
	return &all, nil
}

// linkGroup closes several links as one.
type linkGroup struct{ links []link.Link }

func (g *linkGroup) Close() error {
	err := closeLinks(g.links)
	g.links = nil
	return err
}

func (p *pythonCover) isEnabled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.enabled
}

// record applies a python line record.
func (p *pythonCover) record(c *Coverage, r *record, st hitStamp) {
	file := r.pyFile
	if !strings.HasPrefix(file, "/") && !strings.HasPrefix(file, "<") && p.cwd != "" {
		file = path.Join(p.cwd, file)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !pyInScope(p.files, file) {
		p.outOfScope++
		return
	}
	u := Function{Name: r.pyFunc, Package: file, File: file, Line: int(r.line), Level: LevelLine}
	key := u.Unit()
	i, ok := p.unitIdx[key]
	if !ok {
		i = len(c.units)
		p.unitIdx[key] = i
		c.units = append(c.units, u)
		c.hit = append(c.hit, false)
	}
	c.markHitBy(i, st)
}

// pyInScope: a file is in scope when it matches a glob and no "!glob".
func pyInScope(globs []string, file string) bool {
	in, anyPositive := false, false
	for _, g := range globs {
		if neg, ok := strings.CutPrefix(g, "!"); ok {
			if elfsym.Glob(neg, file) {
				return false
			}
			continue
		}
		anyPositive = true
		if elfsym.Glob(g, file) {
			in = true
		}
	}
	return in || !anyPositive
}

// pyDef matches what runs as a code object of its own: functions, and
// class bodies (their code object is named after the class).
var pyDef = regexp.MustCompile(`^\s*(?:(?:async\s+)?def|class)\s+(\w+)`)

// pythonScope lists the functions of the in-scope source files: their def
// and class statements, plus one "<module>" per file. Only globs with a fixed
// directory prefix are walked.
func pythonScope(ctx context.Context, root *procfs.Root, globs []string) (scope []Function, files []string) {
	seen := map[string]bool{}
	for _, g := range globs {
		if strings.HasPrefix(g, "!") {
			continue
		}
		dir := g
		if i := strings.IndexAny(dir, "*?"); i >= 0 {
			dir = path.Dir(dir[:i] + "x")
		}
		if dir == "/" || dir == "." || seen[dir] {
			continue
		}
		seen[dir] = true
		_ = fs.WalkDir(root.FS(), strings.TrimPrefix(dir, "/"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || ctx.Err() != nil || len(files) > 5000 {
				return fs.SkipDir
			}
			if d.IsDir() && (d.Name() == "__pycache__" || strings.HasPrefix(d.Name(), ".")) {
				return fs.SkipDir
			}
			inside := "/" + p
			if d.IsDir() || !strings.HasSuffix(p, ".py") && inside != g || !pyInScope(globs, inside) {
				return nil
			}
			files = append(files, inside)
			scope = append(scope, Function{Name: "<module>", Package: inside, File: inside, Line: 1})
			scope = append(scope, pythonDefs(root, inside)...)
			return nil
		})
	}
	return scope, files
}

// pythonDefs lists the def and class statements of a source file.
func pythonDefs(root *procfs.Root, inside string) []Function {
	f, err := root.Open(inside)
	if err != nil {
		return nil
	}
	defer f.Close()
	var defs []Function
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if m := pyDef.FindSubmatch(sc.Bytes()); m != nil {
			defs = append(defs, Function{Name: string(m[1]), Package: inside, File: inside, Line: line})
		}
	}
	return defs
}

func (p *pythonCover) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	if p.l != nil {
		err = p.l.Close()
		p.l = nil
	}
	p.enabled = false
	p.tg.close()
	return err
}
