package cover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// Kind says what a Coverage measures.
type Kind string

const (
	// NativeFunctions: entry uprobes on the functions of an ELF binary
	// (Go, C, C++, Rust); units are function symbols.
	NativeFunctions Kind = "native-functions"
	// PythonLines: the CPython interpreter's USDT line probe; units
	// are "file:function:line", Hit and Total count functions.
	PythonLines Kind = "python-lines"
)

// ErrNoUSDT: the interpreter was built without USDT probes, so there is no
// code coverage for it; the file-level view (the tracer's FilesSince:
// which .py files were opened) is all there is.
var ErrNoUSDT = fmt.Errorf("%w: the Python interpreter has no USDT line probe (built without --with-dtrace): file-level coverage only", tracer.ErrNotSupported)

// Function is a unit of coverage: a function, or a line or block of one
// (Level). Fields a runtime does not know are zero.
type Function struct {
	// Name is the symbol (native: "main.(*server).handleBreed"), the Python
	// function name (co_name, e.g. "list_pets", "<module>") or the
	// JavaScript function name ("" for an anonymous one; a block carries
	// its function's name).
	Name string
	// Package is the Go package path of a Go function, "" for other native
	// code, and the file (absolute, in the container) of a Python function.
	Package string
	// Line is the line of a Python line unit, the first line of a function
	// or block where known; 0 otherwise.
	Line int
	// File is the source file (absolute in the container, or the script's
	// URL for V8) where known.
	File string
	// EndLine is the last line of a block or function where known.
	EndLine int
	// Start and End are the unit's byte offsets in File where the runtime
	// gives them (V8); End is 0 otherwise.
	Start, End int
	// Level says whether the unit is a function, a line or a block.
	Level Level
}

// Unit is the string NewSince reports: the symbol for native code,
// "file:function:line" for Python lines, "file:function@start-end" for
// units located by byte offsets (V8 functions and blocks).
func (f Function) Unit() string {
	switch {
	case f.End > 0:
		return fmt.Sprintf("%s:%s@%d-%d", f.File, f.Name, f.Start, f.End)
	case f.Line != 0 && f.Level == LevelLine, strings.HasPrefix(f.Package, "/"):
		return fmt.Sprintf("%s:%s:%d", f.Package, f.Name, f.Line)
	}
	return f.Name
}

// Option configures Attach and NewStarter.
type Option func(*config)

type config struct {
	packages, symbols, exclude []string
	pyFiles                    []string
	chunk                      int
	pruneEvery                 time.Duration
	mode                       Kind
	runtimes                   []Runtime
	off                        bool
}

// WithPackages replaces the default scope (a Go binary's application, see
// elfsym.GoAppScope; a C/C++/Rust executable's own functions) by Go package patterns:
// "example.com/mod/..." for a package and its sub-packages, "main", or
// globs over the package path (* matches '/' too).
func WithPackages(patterns ...string) Option {
	return func(c *config) { c.packages = append(c.packages, patterns...) }
}

// WithSymbols adds symbol-name globs to the scope ("net/http.(*conn).*",
// "handle_*"); with WithPackages, a function in either is in scope.
func WithSymbols(globs ...string) Option {
	return func(c *config) { c.symbols = append(c.symbols, globs...) }
}

// WithExclude removes functions whose symbol or package matches a glob.
func WithExclude(globs ...string) Option {
	return func(c *config) { c.exclude = append(c.exclude, globs...) }
}

// WithPythonFiles sets which Python files count, as globs over their
// absolute in-container path ("/app/*"; * matches '/' too). Default: the
// files under the interpreter's working directory (the image's WorkingDir),
// or everything outside the standard library when that is "/".
func WithPythonFiles(globs ...string) Option {
	return func(c *config) { c.pyFiles = append(c.pyFiles, globs...) }
}

// WithProbeChunk sets how many functions share one uprobe_multi link
// (default 64). Smaller chunks make unprobing cheaper.
func WithProbeChunk(n int) Option { return func(c *config) { c.chunk = n } }

// WithPruneInterval sets how often the probes of functions already hit are
// removed (default 200ms); 0 disables automatic pruning (Prune still works).
func WithPruneInterval(d time.Duration) Option {
	return func(c *config) { c.pruneEvery = d }
}

// WithKind forces native or Python coverage instead of detecting it.
func WithKind(k Kind) Option { return func(c *config) { c.mode = k } }

// WithRuntime adds a runtime the Starter tries, in the order given, before
// native and Python coverage (NewStarter only; Attach ignores it).
func WithRuntime(rt Runtime) Option { return func(c *config) { c.runtimes = append(c.runtimes, rt) } }

// WithoutCode makes the Starter measure no code at all (Coverage returns
// ErrCoverageOff): the file-level view only, e.g. to measure what code
// coverage costs.
func WithoutCode() Option { return func(c *config) { c.off = true } }

// ErrCoverageOff: code coverage was switched off (WithoutCode).
var ErrCoverageOff = errors.New("code coverage switched off")

// patterns are the user's scope patterns, for a Runtime.
func (c *config) patterns() []string {
	var out []string
	for _, p := range slices.Concat(c.packages, c.symbols, c.pyFiles) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Coverage is the code coverage of one binary (all containers bound to the
// tracer that run it). Its methods are safe for concurrent use.
type Coverage struct {
	tr     *tracer.Tracer
	set    *coverSet
	kind   Kind
	binary string // in-container path
	cfg    config

	// native: units are fixed; base is their first index in cover_hits.
	base uint32
	// attach says how probes are attached; noMulti why not uprobe_multi.
	attach  string
	noMulti error
	nat     *nativeCover
	py      *pythonCover

	// ledger holds the first hits in order; units and hit index them by
	// unit number (native: cookie - base).
	ledger Ledger

	mu     sync.Mutex
	units  []Function
	hit    []bool
	lost   uint64 // first hits found in the hit array, not in records
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

// Attach starts code coverage of binary (its path inside the container of
// the host process pid, e.g. "/usr/local/bin/gopets"; "" for the process's
// own executable; a bare name is looked up in the process's PATH). It
// detects a Python interpreter with USDT probes (in the executable or a
// mapped libpython) and measures Python lines; anything else gets function
// entry probes. Only processes of bound mount namespaces count, so bind
// first (Starter does it all in order). Probes attach to the file's inode:
// every bound container running the same image file is covered by this one
// Coverage. Closing the tracer closes it.
//
// Native coverage starts with every in-scope function probed; hit
// functions are unprobed in the background (WithPruneInterval). Python
// coverage starts enabled; Enable(false) detaches the probe.
func Attach(ctx context.Context, tr *tracer.Tracer, pid int, binary string, opts ...Option) (*Coverage, error) {
	cfg := config{chunk: 64, pruneEvery: 200 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.chunk <= 0 {
		cfg.chunk = 64
	}
	if len(tr.Bound()) == 0 {
		return nil, errors.New("cover: bind the tracer to the target's container first (only bound mount namespaces are covered)")
	}
	set, err := setFor(tr)
	if err != nil {
		return nil, err
	}
	if binary == "" {
		pid = applicationPid(procfs.Host, pid)
	}
	target, err := openTarget(procfs.Host, pid, binary)
	if err != nil {
		return nil, err
	}
	defer target.unpin()
	c := &Coverage{tr: tr, set: set, binary: target.inside, cfg: cfg,
		stop: make(chan struct{}), done: make(chan struct{})}
	mode := cfg.mode
	var pyErr error
	if mode == "" || mode == PythonLines {
		c.py, pyErr = newPythonCover(ctx, set, target, cfg)
		switch {
		case pyErr == nil:
			mode = PythonLines
		case mode == PythonLines || errors.Is(pyErr, ErrNoUSDT):
			target.close()
			return nil, pyErr
		}
	}
	if mode == "" || mode == NativeFunctions {
		mode = NativeFunctions
		if c.nat, err = newNativeCover(target, cfg); err != nil {
			target.close()
			return nil, err
		}
	}
	c.kind = mode
	c.attach, c.noMulti = "uprobe_multi", set.noMulti
	if !set.multi {
		c.attach = "uprobe per address"
	}
	if err := set.register(c); err != nil {
		c.closeProbes()
		return nil, err
	}
	if c.nat != nil {
		if err := c.attachNative(ctx, set); err != nil {
			set.unregister(c)
			c.closeProbes()
			return nil, err
		}
		go func() {
			defer panics.Catch("tracer: coverage pruner", nil)
			c.pruneLoop()
		}()
	} else {
		close(c.done)
		if err := c.Enable(true); err != nil {
			set.unregister(c)
			c.closeProbes()
			return nil, err
		}
	}
	return c, nil
}

// Kind says what the coverage measures.
func (c *Coverage) Kind() Kind { return c.kind }

// Binary is the covered file's path inside the container.
func (c *Coverage) Binary() string { return c.binary }

// Total is the number of units that can be hit: probed functions (native);
// functions found in the in-scope source files (Python, an estimate from
// their def statements plus one "<module>" per file).
func (c *Coverage) Total() int {
	if c.py != nil {
		return c.py.total
	}
	return len(c.nat.funcs)
}

// HitCount is the number of units hit (Python: lines).
func (c *Coverage) HitCount() int { return c.ledger.Len() }

// Hit returns the functions hit, in first-hit order (Python: each function
// once, with Line 0; its lines are in Units).
func (c *Coverage) Hit() []Function {
	var out []Function
	seen := map[string]bool{}
	for _, h := range c.ledger.Hits() {
		f := h.Function
		if c.kind == PythonLines {
			f = pythonFunction(f)
			if strings.HasPrefix(f.Name, "<") && f.Name != "<module>" {
				continue // comprehensions, lambdas: not counted as functions
			}
		}
		if k := f.Unit(); !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// pythonFunction is the function a Python line unit belongs to.
func pythonFunction(f Function) Function {
	return Function{Name: f.Name, Package: f.Package, File: f.File}
}

// Units returns every unit hit, in first-hit order.
func (c *Coverage) Units() []Function {
	hits := c.ledger.Hits()
	out := make([]Function, len(hits))
	for i, h := range hits {
		out[i] = h.Function
	}
	return out
}

// Hits returns every unit hit with the time of its first hit, in first-hit
// order.
func (c *Coverage) Hits() []FirstHit { return c.ledger.Hits() }

// Scope returns the functions that can be hit: the probed functions
// (native), the functions of the in-scope source files (Python: their def
// statements, with File and Line, and one "<module>" per file).
func (c *Coverage) Scope() []Function {
	if c.py != nil {
		return slices.Clone(c.py.scope)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.units)
}

// Sync returns at once: coverage records come through the tracer's ring
// buffer, which the tracer's Sync has read up to the call.
func (c *Coverage) Sync(context.Context) error { return nil }

// NewSince returns the units (Function.Unit) first hit at or after cursor,
// background ones excluded, and the next cursor: like FilesSince, Sync the
// tracer after the request's answer, then ask what is new.
func (c *Coverage) NewSince(cursor int) (units []string, next int) {
	return c.ledger.NewSince(cursor)
}

// NewHitsSince is NewSince with the first hits, each by the thread whose
// record it was.
func (c *Coverage) NewHitsSince(cursor int) ([]FirstHit, int) { return c.ledger.NewHitsSince(cursor) }

// Baseline waits idle for d (no requests should be sent meanwhile), syncs
// the tracer and marks every unit hit so far (start-up, timers, health
// goroutines) as background: never reported by NewSince. It returns the
// cursor to start from and the background units.
func (c *Coverage) Baseline(ctx context.Context, d time.Duration) (cursor int, background []string, err error) {
	return c.ledger.Baseline(ctx, d, c.tr.Sync)
}

// MarkBackground marks the units first hit at or after cursor as background
// and returns them with the next cursor. For callers that know no request
// was in flight meanwhile (Sync first), e.g. between two requests of a
// slow fuzzing loop: a timer firing then is not the next request's merit.
func (c *Coverage) MarkBackground(cursor int) (units []string, next int) {
	return c.ledger.MarkBackground(cursor)
}

// Background returns the units marked by Baseline and MarkBackground.
func (c *Coverage) Background() []string { return c.ledger.Background() }

// markHit records the first hit of unit i (a cover record or the hit array).
// Called with c.mu held.
func (c *Coverage) markHit(i int) bool { return c.markHitBy(i, hitStamp{}) }

// hitStamp is what a record says of a hit: the thread and kernel time, and
// whether a container made it while starting (a restart, a spare):
// start-up work, no request's.
type hitStamp struct {
	thread   uint32
	mono     uint64
	starting bool
}

// markHitBy is markHit for a hit a record stamped.
func (c *Coverage) markHitBy(i int, st hitStamp) bool {
	if i < 0 || i >= len(c.hit) || c.hit[i] {
		return false
	}
	c.hit[i] = true
	c.ledger.AddStamped(c.units[i], time.Now(), st.thread, st.mono, st.starting)
	return true
}

// Close detaches the coverage's probes; what was hit stays readable.
func (c *Coverage) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	<-c.done
	c.set.unregister(c)
	return c.closeProbes()
}

func (c *Coverage) closeProbes() error {
	var errs []error
	if c.nat != nil {
		errs = append(errs, c.nat.close())
	}
	if c.py != nil {
		errs = append(errs, c.py.close())
	}
	return errors.Join(errs...)
}

// coverSet is the tracer's coverage BPF object (loaded on the first Attach,
// a tracer.Extension) and the coverages sharing its hit array.
type coverSet struct {
	tr   *tracer.Tracer // whose start-up spans tell a starting container's hits
	maps *coverMaps
	// entry and pyLine are the programs of the attach mode in use: multi,
	// uprobe_multi links (Linux 6.6+); else one classic uprobe per address.
	entry, pyLine *ebpf.Program
	multi         bool
	noMulti       error  // why uprobe_multi is not used
	hits          []byte // cover_hits, mapped read-only (unmapped by close)

	mu     sync.Mutex
	next   uint32 // first free index in cover_hits
	covs   []*Coverage
	pySpec uint32 // next free usdt_specs slot
}

// setFor returns tr's coverage object, loading it on first use.
func setFor(tr *tracer.Tracer) (*coverSet, error) {
	ext, err := tr.Extend("cover", []uint8{evCover, evPyLine}, func() (tracer.Extension, error) {
		return loadSet(tr)
	})
	if err != nil {
		return nil, err
	}
	return ext.(*coverSet), nil
}

// loadSet loads the coverage programs, sharing the tracer's ring buffer,
// bound namespace set and counters.
func loadSet(tr *tracer.Tracer) (*coverSet, error) {
	if err := faults.At(faults.Uprobe); err != nil { // tests: a kernel without uprobes
		return nil, fmt.Errorf("%w: uprobes: %v", tracer.ErrNotSupported, err)
	}
	noMulti := faults.At(faults.UprobeMulti) // tests: a kernel without uprobe_multi
	if noMulti == nil {
		noMulti = features.HaveBPFLinkUprobeMulti()
	}
	spec, err := loadCover()
	if err != nil {
		return nil, err
	}
	shared := tr.SharedMaps()
	spec.Maps["events"].MaxEntries = shared["events"].MaxEntries()
	opts := &ebpf.CollectionOptions{MapReplacements: shared}
	set := &coverSet{tr: tr, multi: noMulti == nil, noMulti: noMulti}
	// Only the programs of one mode are loaded: a kernel without
	// uprobe_multi refuses the others.
	if set.multi {
		var objs struct {
			coverMaps
			Entry  *ebpf.Program `ebpf:"cover_entry"`
			PyLine *ebpf.Program `ebpf:"py_line"`
		}
		err = spec.LoadAndAssign(&objs, opts)
		set.maps, set.entry, set.pyLine = &objs.coverMaps, objs.Entry, objs.PyLine
	} else {
		var objs struct {
			coverMaps
			Entry  *ebpf.Program `ebpf:"cover_entry_single"`
			PyLine *ebpf.Program `ebpf:"py_line_single"`
		}
		err = spec.LoadAndAssign(&objs, opts)
		set.maps, set.entry, set.pyLine = &objs.coverMaps, objs.Entry, objs.PyLine
	}
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) || errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: loading the coverage programs: %v", tracer.ErrNotSupported, err)
		}
		return nil, fmt.Errorf("loading the coverage programs: %w", err)
	}
	// Mapped here rather than with Map.Memory, whose mapping is only
	// released by the garbage collector and keeps the map alive after Close.
	mem, err := unix.Mmap(set.maps.CoverHits.FD(), 0, int(set.maps.CoverHits.MaxEntries())*8, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		set.closeObjects()
		return nil, fmt.Errorf("mapping the coverage hit array: %w", err)
	}
	set.hits = mem
	return set, nil
}

// maxCover mirrors MAX_COVER in bpf/records.h.
const maxCover = 1 << 18

func (s *coverSet) register(c *Coverage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.nat != nil {
		n := uint32(len(c.nat.funcs))
		if uint64(s.next)+uint64(n) > maxCover {
			return fmt.Errorf("cover: %d functions exceed the %d the hit array holds", uint64(s.next)+uint64(n), maxCover)
		}
		c.base = s.next
		s.next += n
		c.units = make([]Function, n)
		for i, f := range c.nat.funcs {
			c.units[i] = Function{Name: f.Name, Package: f.Package, File: f.File, Line: f.Line}
		}
		c.hit = make([]bool, n)
	}
	s.covs = append(s.covs, c)
	return nil
}

func (s *coverSet) unregister(c *Coverage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.covs = slices.DeleteFunc(s.covs, func(x *Coverage) bool { return x == c })
}

// Handle applies a coverage record; the tracer's ring buffer reader calls
// it, so records are applied in order with Sync markers.
func (s *coverSet) Handle(raw []byte) error {
	var r record
	if err := r.decode(raw); err != nil {
		return err
	}
	s.mu.Lock()
	covs := s.covs
	s.mu.Unlock()
	st := hitStamp{thread: r.thread, mono: r.ts, starting: s.tr != nil && s.tr.DuringStart(r.mntns, r.ts)}
	for _, c := range covs {
		switch {
		case r.typ == evCover && c.nat != nil && r.idx >= c.base && r.idx-c.base < uint32(len(c.nat.funcs)):
			c.mu.Lock()
			c.markHitBy(int(r.idx-c.base), st)
			c.mu.Unlock()
			return nil
		case r.typ == evPyLine && c.py != nil:
			c.py.record(c, &r, st)
		}
	}
	return nil
}

// Close closes every coverage and unloads the programs (Tracer.Close).
func (s *coverSet) Close() error {
	s.mu.Lock()
	covs := slices.Clone(s.covs)
	s.mu.Unlock()
	var errs []error
	for _, c := range covs {
		errs = append(errs, c.Close())
	}
	s.mu.Lock()
	if s.hits != nil {
		errs = append(errs, unix.Munmap(s.hits))
		s.hits = nil
	}
	s.mu.Unlock()
	errs = append(errs, s.closeObjects())
	return errors.Join(errs...)
}

func (s *coverSet) closeObjects() error {
	return errors.Join(s.entry.Close(), s.pyLine.Close(), s.maps.Close())
}
