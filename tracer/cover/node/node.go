// Package node measures the coverage of Node.js applications: V8's precise
// coverage (functions and blocks) of the application's own scripts, read
// through the inspector of each node process (cluster workers and forked
// children included) after every request.
//
// The traced run alone starts node with an inspector on the container's
// own loopback at a port of node's choosing (Env: NODE_OPTIONS), which no
// port publishes; whittle reaches it by creating its connection inside the
// container's network namespace (loopback.NewClientInNetwork). The
// minimal image and the verification runs never get it.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// Kind: V8 functions and blocks.
const Kind cover.Kind = "v8-blocks"

// InspectorOption is what the traced run's NODE_OPTIONS gets: an inspector
// on the container's loopback, on a port node picks (cluster workers and
// children pick their own).
const InspectorOption = "--inspect=127.0.0.1:0"

// Runtime recognises node processes and covers them (a cover.Runtime).
type Runtime struct {
	poll      time.Duration
	functions bool // functions only, no blocks
}

// Option configures a Runtime.
type Option func(*Runtime)

// WithPollInterval sets how often new node processes (workers forked
// later, restarted containers) are looked for; default 500ms.
func WithPollInterval(d time.Duration) Option { return func(r *Runtime) { r.poll = d } }

// WithFunctionsOnly measures functions without their blocks (cheaper
// takes: V8 reports no ranges inside functions).
func WithFunctionsOnly() Option { return func(r *Runtime) { r.functions = true } }

// New returns the Node.js runtime.
func New(opts ...Option) *Runtime {
	r := &Runtime{poll: 500 * time.Millisecond}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Name is "node".
func (r *Runtime) Name() string { return "node" }

// Env returns the variables the traced container gets on top of the
// image's own (imageEnv, KEY=VALUE): its NODE_OPTIONS with the inspector
// added. Processes other than node ignore it.
func (r *Runtime) Env(imageEnv []string) []string {
	opts := ""
	for _, kv := range imageEnv {
		if v, ok := strings.CutPrefix(kv, "NODE_OPTIONS="); ok {
			opts = v
		}
	}
	return []string{"NODE_OPTIONS=" + strings.TrimSpace(opts+" "+InspectorOption)}
}

// Attach covers the node processes of p's container: ErrOtherRuntime when
// it runs none; an error when none of them has a reachable inspector.
func (r *Runtime) Attach(ctx context.Context, p cover.Process) (cover.Source, error) {
	proc := procfs.Host
	ns, err := proc.Mntns(uint32(p.Pid))
	if err != nil {
		return nil, fmt.Errorf("node: reading the mount namespace of pid %d: %w", p.Pid, err)
	}
	found := findNodeProcesses(proc, []uint64{ns})
	if len(found) == 0 {
		return nil, fmt.Errorf("node: no node process in the container of pid %d: %w", p.Pid, cover.ErrOtherRuntime)
	}
	c := &Coverage{tr: p.Tracer, proc: proc, rt: r, enabled: true,
		scripts: map[string]*script{}, decided: map[string]bool{}, sessions: map[procKey]*process{}, failed: map[procKey]*attempts{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, pat := range p.Patterns {
		if strings.Contains(pat, "/") || strings.HasSuffix(pat, ".js") || strings.HasSuffix(pat, ".mjs") || strings.HasSuffix(pat, ".cjs") {
			c.rules.globs = append(c.rules.globs, pat)
		}
	}
	for _, np := range found {
		cwd, _ := proc.Cwd(uint32(np.pid))
		c.rules.addMain(proc.Root(uint32(np.pid)), np, cwd)
	}
	c.scopeFiles = listScopeFiles(proc.Root(uint32(p.Pid)), &c.rules)
	c.estimates, c.declared = estimateFunctions(proc.Root(uint32(p.Pid)), c.scopeFiles)
	c.connect(ctx, found)
	c.mu.Lock()
	n, why := len(c.sessions), c.lastErr
	c.mu.Unlock()
	if n == 0 {
		return nil, fmt.Errorf("node: %d node process(es), none with a reachable inspector: %w", len(found), why)
	}
	go func() {
		defer panics.Catch("tracer: node coverage watcher", nil)
		c.watch()
	}()
	return c, nil
}

// Coverage is the V8 coverage of a target's node processes (a
// cover.Source). Its methods are safe for concurrent use.
type Coverage struct {
	tr     *tracer.Tracer
	proc   procfs.FS
	rt     *Runtime
	ledger cover.Ledger

	mu         sync.Mutex
	rules      scopeRules
	scopeFiles []string                    // in-scope script files found under the roots
	estimates  map[string]int              // functions of scope files V8 has not compiled yet, estimated
	declared   map[string][]cover.Function // what those files declare, from their source
	scripts    map[string]*script          // in-scope scripts V8 reported, by path
	decided    map[string]bool             // path → in scope
	sessions   map[procKey]*process
	failed     map[procKey]*attempts // connections that failed so far
	lastErr    error
	enabled    bool
	closed     bool
	takes      int64
	takeTime   time.Duration
	stop, done chan struct{}
}

type procKey struct {
	pid     int
	started uint64
}

// process is a node process with an open inspector session.
type process struct {
	nodeProcess
	root string // its /proc/PID/root
	s    *session
}

// A process is given up after failing for connectGrace and maxAttempts
// times (it may have no inspector at all: node run with other options);
// a young one is still starting its inspector.
const (
	connectGrace = 30 * time.Second
	maxAttempts  = 5
)

type attempts struct {
	first time.Time
	n     int
}

func (a *attempts) givenUp() bool {
	return a != nil && a.n >= maxAttempts && time.Since(a.first) > connectGrace
}

// connect opens sessions to the processes not connected yet.
func (c *Coverage) connect(ctx context.Context, found []nodeProcess) {
	for _, np := range found {
		key := procKey{np.pid, np.started}
		c.mu.Lock()
		_, have := c.sessions[key]
		failed := c.failed[key]
		c.mu.Unlock()
		if have || failed.givenUp() {
			continue
		}
		p, err := c.open(ctx, np)
		c.mu.Lock()
		if err != nil {
			if failed == nil {
				failed = &attempts{first: time.Now()}
				c.failed[key] = failed
			}
			failed.n++
			c.lastErr = err
		} else if c.closed {
			p.s.close()
		} else {
			c.sessions[key] = p
			delete(c.failed, key)
		}
		c.mu.Unlock()
	}
}

// open connects to a process's inspector, records what it ran before
// (best-effort coverage: start-up) and starts precise coverage.
func (c *Coverage) open(ctx context.Context, np nodeProcess) (*process, error) {
	port, err := inspectorPort(c.proc, np.pid)
	if err != nil {
		return nil, fmt.Errorf("node pid %d: %w", np.pid, err)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := dialInspector(dctx, np.pid, port)
	if err != nil {
		return nil, err
	}
	p := &process{nodeProcess: np, root: c.proc.Root(uint32(np.pid)), s: s}
	if err := s.call(dctx, "Profiler.enable", nil, nil); err != nil {
		s.close()
		return nil, err
	}
	var startup json.RawMessage
	if err := s.call(dctx, "Profiler.getBestEffortCoverage", nil, &startup); err == nil {
		if scripts, err := parseCoverage(startup); err == nil {
			c.apply(p, scripts, true)
		}
	}
	if err := c.start(dctx, s); err != nil {
		s.close()
		return nil, err
	}
	return p, nil
}

// start switches V8 to binary precise coverage: each take then reports
// what ran since the previous one.
func (c *Coverage) start(ctx context.Context, s *session) error {
	return s.call(ctx, "Profiler.startPreciseCoverage", map[string]any{"callCount": false, "detailed": !c.rt.functions}, nil)
}

// watch connects to node processes that appear later (cluster workers
// forked again, restarted containers) and forgets those that are gone.
func (c *Coverage) watch() {
	defer close(c.done)
	tick := time.NewTicker(c.rt.poll)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		c.reap()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		c.connect(ctx, findNodeProcesses(c.proc, c.tr.Bound()))
		cancel()
	}
}

// reap closes the sessions whose connection ended (the process exited).
func (c *Coverage) reap() {
	c.mu.Lock()
	var dead []*process
	for k, p := range c.sessions {
		if !p.s.alive() {
			dead = append(dead, p)
			delete(c.sessions, k)
		}
	}
	c.mu.Unlock()
	for _, p := range dead {
		p.s.close()
	}
}

// Sync takes the coverage of every node process: what ran since the
// previous take. A process that is gone is dropped, not an error.
func (c *Coverage) Sync(ctx context.Context) error {
	c.mu.Lock()
	if !c.enabled || c.closed {
		c.mu.Unlock()
		return nil
	}
	procs := make([]*process, 0, len(c.sessions))
	for _, p := range c.sessions {
		procs = append(procs, p)
	}
	c.mu.Unlock()
	began := time.Now()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var raw json.RawMessage
			tctx, cancel := context.WithTimeout(ctx, takeTimeout)
			err := p.s.call(tctx, "Profiler.takePreciseCoverage", nil, &raw)
			cancel()
			if err != nil {
				if ctx.Err() == nil && p.s.alive() {
					// A process that stopped answering (frozen, hostile)
					// must not stall every request: reap drops it.
					_ = p.s.conn.CloseNow()
				}
				return // gone, or cancelled: reap and ctx say so
			}
			if scripts, err := parseCoverage(raw); err == nil {
				c.apply(p, scripts, false)
			}
		}()
	}
	wg.Wait()
	c.mu.Lock()
	c.takes++
	c.takeTime += time.Since(began)
	c.mu.Unlock()
	return ctx.Err()
}

// apply records a take's hits of in-scope scripts.
func (c *Coverage) apply(p *process, scripts []scriptCoverage, startup bool) {
	now := time.Now()
	var hits []cover.Function
	c.mu.Lock()
	for _, sc := range scripts {
		s := c.script(p, sc.URL)
		if s == nil {
			continue
		}
		for _, fc := range sc.Functions {
			hits = append(hits, s.apply(fc)...)
		}
	}
	c.mu.Unlock()
	for _, h := range hits {
		if startup {
			c.ledger.AddStartup(h, now)
		} else {
			c.ledger.Add(h, now)
		}
	}
}

// takeTimeout bounds one process's take.
const takeTimeout = 5 * time.Second

// maxSource bounds a script read to number its lines.
const maxSource = 16 << 20

// script returns the in-scope script of url, nil when it is not one.
// Called with c.mu held.
func (c *Coverage) script(p *process, url string) *script {
	file, ok := scriptPath(url)
	if !ok {
		return nil
	}
	if s := c.scripts[file]; s != nil {
		return s
	}
	in, known := c.decided[file]
	if !known {
		in = c.rules.inScope(file)
		c.decided[file] = in
	}
	if !in {
		return nil
	}
	s := &script{path: file, funcs: map[block]string{}, blocks: map[block][]block{}}
	if src, err := cover.ReadContainerFile(p.root, file, maxSource); err == nil {
		s.lines = newLineIndex(src)
	}
	c.scripts[file] = s
	return s
}

// Kind is Kind.
func (c *Coverage) Kind() cover.Kind { return Kind }

// Scope returns the functions of the in-scope scripts V8 knows (those it
// compiled, and those it created but never compiled: never called), then
// the blocks V8 reported in them (LevelBlock: what lines a function ran;
// Stats' Total also counts an estimate for the scope's files not loaded
// yet).
func (c *Coverage) Scope() []cover.Function {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out, blocks []cover.Function
	for _, p := range c.sortedScripts() {
		out = append(out, c.scripts[p].functions()...)
		blocks = append(blocks, c.scripts[p].knownBlocks()...)
	}
	// Scope files no process loaded: V8 knows nothing of them, their
	// source says what they declare.
	for _, f := range c.scopeFiles {
		if c.scripts[f] == nil {
			out = append(out, c.declared[f]...)
		}
	}
	return append(out, blocks...)
}

func (c *Coverage) sortedScripts() []string {
	paths := make([]string, 0, len(c.scripts))
	for p := range c.scripts {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// Hits returns the functions and blocks hit, in first-hit order.
func (c *Coverage) Hits() []cover.FirstHit { return c.ledger.Hits() }

// NewSince: see cover.Source.
func (c *Coverage) NewSince(cursor int) ([]string, int) { return c.ledger.NewSince(cursor) }

// NewHitsSince is NewSince with the first hits (V8 tells no thread).
func (c *Coverage) NewHitsSince(cursor int) ([]cover.FirstHit, int) {
	return c.ledger.NewHitsSince(cursor)
}

// MarkBackground: see cover.Source.
func (c *Coverage) MarkBackground(cursor int) ([]string, int) { return c.ledger.MarkBackground(cursor) }

// Baseline: see cover.Source.
func (c *Coverage) Baseline(ctx context.Context, d time.Duration) (int, []string, error) {
	return c.ledger.Baseline(ctx, d, c.Sync)
}

// Enable switches the takes on or off. V8 keeps counting meanwhile (its
// mode stays: switching it would deoptimise the application's code every
// time); the first take after switching on holds what ran while off.
func (c *Coverage) Enable(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("node: coverage closed")
	}
	c.enabled = on
	return nil
}

// Stats returns the counters and the mechanism.
func (c *Coverage) Stats() cover.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Costly: a take costs an inspector round trip per process (about 5 ms
	// here, mostly V8 walking its functions), several times what an Express
	// request takes: takes are switched on for part of the time.
	s := cover.Stats{Kind: Kind, Mechanism: "V8 precise coverage through the inspector", Enabled: c.enabled, Costly: true,
		Processes: len(c.sessions), ScopeFrom: c.rules.String(), Attach: "inspector on the container's loopback"}
	if c.rt.functions {
		s.Mechanism += " (functions)"
	} else {
		s.Mechanism += " (functions and blocks)"
	}
	s.Source = "NODE_OPTIONS=" + InspectorOption
	files := slices.Clone(c.scopeFiles)
	for _, p := range c.sortedScripts() {
		s.Total += len(c.scripts[p].funcs)
		if !slices.Contains(files, p) {
			files = append(files, p)
		}
	}
	for p, n := range c.estimates {
		if c.scripts[p] == nil { // not loaded yet: its functions estimated
			s.Total += n
		}
	}
	sort.Strings(files)
	s.ScopeFiles = files
	for _, h := range c.ledger.Hits() {
		s.Units++
		if h.Level == cover.LevelFunction {
			s.Hit++
		}
	}
	s.Probed = s.Total
	if len(c.sessions) == 0 {
		s.Inactive = "no node process with a reachable inspector"
		if c.lastErr != nil {
			s.Inactive += ": " + c.lastErr.Error()
		}
	}
	return s
}

// TakeTime is the mean time a Sync took (all processes in parallel).
func (c *Coverage) TakeTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.takes == 0 {
		return 0
	}
	return c.takeTime / time.Duration(c.takes)
}

// Close ends every inspector session (node stops precise coverage then).
func (c *Coverage) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	procs := c.sessions
	c.sessions = map[procKey]*process{}
	c.mu.Unlock()
	<-c.done
	for _, p := range procs {
		p.s.close()
	}
	return nil
}

// listScopeFiles lists the script files under the application roots
// (node_modules left out), at most 5000.
func listScopeFiles(root string, rules *scopeRules) []string {
	var out []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		if depth > 12 || len(out) >= 5000 {
			return
		}
		ents, err := cover.ReadContainerDir(root, dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			p := path.Join(dir, e.Name())
			switch {
			case e.IsDir():
				if e.Name() != "node_modules" && !strings.HasPrefix(e.Name(), ".") {
					walk(p, depth+1)
				}
			case e.Type().IsRegular() && isScript(e.Name()) && rules.inScope(p):
				out = append(out, p)
			}
		}
	}
	for _, r := range rules.roots {
		walk(r, 0)
	}
	return out
}

// jsFunction matches what starts a function in JavaScript source: the
// keyword (declarations, expressions, methods written with it) and arrows.
var jsFunction = regexp.MustCompile(`\bfunction\b|=>`)

// jsNamed matches the functions a file declares with a name: function
// declarations and functions or arrows assigned to a declared name.
var jsNamed = regexp.MustCompile(`(?m)^\s*(?:export\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)|^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?(?:function\b|(?:\([^()]*\)|[A-Za-z_$][\w$]*)\s*=>)`)

// estimateFunctions counts the functions of script files from their
// source, one more for the module itself: V8 knows them only once a file
// is loaded, and a file loaded by no request still belongs to the scope.
// It also lists the module and the named functions each file declares,
// with their lines, for the scope of files never loaded.
func estimateFunctions(root string, files []string) (map[string]int, map[string][]cover.Function) {
	out, declared := map[string]int{}, map[string][]cover.Function{}
	for _, f := range files {
		src, err := cover.ReadContainerFile(root, f, maxSource)
		if err != nil {
			continue
		}
		out[f] = 1 + len(jsFunction.FindAllIndex(src, -1))
		fns := []cover.Function{{File: f, Line: 1}}
		lines := newLineIndex(src)
		for _, m := range jsNamed.FindAllSubmatchIndex(src, -1) {
			name := m[2:4]
			if name[0] < 0 {
				name = m[4:6]
			}
			fns = append(fns, cover.Function{Name: string(src[name[0]:name[1]]), File: f, Line: lines.line(utf16Offset(src, name[0]))})
		}
		declared[f] = fns
	}
	return out, declared
}

// utf16Offset converts a byte offset of src into V8's UTF-16 offset.
func utf16Offset(src []byte, off int) int {
	n := 0
	for _, r := range string(src[:off]) {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func isScript(name string) bool {
	return strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".mjs") || strings.HasSuffix(name, ".cjs")
}

var _ cover.Runtime = (*Runtime)(nil)
var _ cover.Source = (*Coverage)(nil)
