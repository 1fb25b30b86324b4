package jvm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
)

var (
	// ErrNoAgent: no JVM of the traced containers runs whittle's agent (the
	// container's start-up replaced JAVA_TOOL_OPTIONS, or the JVM refused
	// the agent), so there is no method coverage.
	ErrNoAgent = errors.New("no JVM loaded whittle's coverage agent")
	// ErrNoScope: the agent could not tell the application's classes from
	// the JVM's (no main class), so it set no breakpoint.
	ErrNoScope = errors.New("the JVM agent found no application classes to cover")
)

// Option configures Attach.
type Option func(*config)

type config struct {
	replayWait time.Duration
}

// WithReplayWait bounds how long Attach waits for a JVM's agent to report
// what it saw before the probe was attached (default 5 s).
func WithReplayWait(d time.Duration) Option { return func(c *config) { c.replayWait = d } }

// Method is an in-scope method of the application and its first call.
type Method struct {
	Class  string // "com.example.shop.Cart", nested classes with '$'
	Name   string // "add", "<init>", "lambda$list$0"
	Desc   string // the JVM descriptor, "(Lcom/example/shop/Item;I)V"
	File   string // source path by package, "com/example/shop/Cart.java"; "" when not compiled in
	Line   int    // the method's first line; 0 without line numbers
	HitAt  time.Time
	Hit    bool
	JVMPid uint32 // host pid of the JVM that called it first
}

// Unit is the method's coverage unit: "com.example.shop.Cart.add(Item,int)".
func (m Method) Unit() string { return m.Class + "." + m.Name + javaParams(m.Desc) }

// Function is the method as a cover.Function: Name is its Unit (unique,
// as a Go function's symbol), Package "com.example.shop", File the source
// path by package where known.
func (m Method) Function() cover.Function {
	pkg, _ := splitClass(m.Class)
	return cover.Function{Name: m.Unit(), Package: pkg, File: m.File, Line: m.Line}
}

// Scope is how the agent chose the application's classes.
type Scope struct {
	// How is "Main-Class" or "Start-Class" (of the jar's manifest), "main
	// class" (java [options] CLASS), or "options" (given to whittle).
	How string
	// Detail says what was read: "com.example.shop.Main in /app/shop.jar".
	Detail string
	// Prefixes are the class name prefixes in scope ("com/example/shop/");
	// DefaultPackage: classes without a package too.
	Prefixes       []string
	DefaultPackage bool
	// Packages are the Java packages whose classes the JVM loaded, sorted;
	// Classes and Methods count them.
	Packages         []string
	Classes, Methods int
}

func (s Scope) String() string {
	var what []string
	for _, p := range s.Prefixes {
		what = append(what, strings.ReplaceAll(strings.TrimSuffix(p, "/"), "/", ".")+".**")
	}
	if s.DefaultPackage {
		what = append(what, "the default package")
	}
	return fmt.Sprintf("%s (%d methods in %d classes of %d packages loaded so far), from the %s %s",
		strings.Join(what, ", "), s.Methods, s.Classes, len(s.Packages), s.How, s.Detail)
}

// jvmMethod is a method id in one JVM.
type jvmMethod struct {
	tgid uint32
	id   uint32
}

// Coverage is the method coverage of the JVMs that loaded one Agent (every
// traced container of the image), a cover.Source. Its methods are safe for
// concurrent use.
type Coverage struct {
	tr    *tracer.Tracer
	set   *messageSet
	agent *Agent
	ex    *link.Executable
	cfg   config

	replayed     chan struct{}
	replayedOnce sync.Once

	linkMu sync.Mutex // serialises Enable and Close

	mu       sync.Mutex
	l        link.Link // the message probe; nil while disabled
	ready    link.Link // the ready probe, attached after l is complete
	detached time.Time // when the probe was last detached
	closed   bool
	vm       [3]string // name, version, home
	scope    *Scope
	methods  []Method
	index    map[string]int // class + name + desc -> methods
	ids      map[jvmMethod]int
	classes  map[string]bool
	order    []int        // first-hit order, append-only
	ledger   cover.Ledger // the same, for NewSince, Baseline and the report
	problems []string
	jvms     map[uint32]bool
	replays  int
	bad      uint64
}

// Attach starts method coverage of the JVMs that loaded agent: a uprobe on
// the agent's message function, then one on its ready function, which
// makes every such JVM (those running already, and those started later)
// replay what it saw since its start.
// It returns once one JVM has replayed, or fails with ErrNoAgent. Closing
// the tracer closes it.
func Attach(ctx context.Context, tr *tracer.Tracer, agent *Agent, opts ...Option) (*Coverage, error) {
	cfg := config{replayWait: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	set, err := setFor(tr)
	if err != nil {
		return nil, err
	}
	ex, err := link.OpenExecutable(agent.File)
	if err != nil {
		return nil, fmt.Errorf("cover: opening the JVM agent: %w", err)
	}
	c := &Coverage{tr: tr, set: set, agent: agent, ex: ex, cfg: cfg, replayed: make(chan struct{}),
		index: map[string]int{}, ids: map[jvmMethod]int{}, classes: map[string]bool{}, jvms: map[uint32]bool{}}
	if err := set.register(c); err != nil {
		return nil, err
	}
	if err := c.Enable(true); err != nil {
		set.unregister(c)
		return nil, err
	}
	fail := func(err error) (*Coverage, error) {
		_ = c.Close()
		return nil, err
	}
	select {
	case <-c.replayed:
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(cfg.replayWait):
		return fail(fmt.Errorf("cover: %w (it did not answer within %v of the probe's attach: was JAVA_TOOL_OPTIONS replaced by the container's start-up?)", ErrNoAgent, cfg.replayWait))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.scope == nil:
		return fail(fmt.Errorf("cover: %w: the agent reported no scope", ErrNoScope))
	case c.scope.How == "none":
		return fail(fmt.Errorf("cover: %w: %s", ErrNoScope, c.scope.Detail))
	case len(c.methods) == 0 && len(c.problems) > 0:
		return fail(fmt.Errorf("cover: %w: %s", ErrNoScope, strings.Join(c.problems, "; ")))
	}
	return c, nil
}

// Enable attaches (true) or detaches the probe. Attaching makes every JVM
// replay its messages (duplicates are ignored); detached, the agents keep
// their breakpoints and messages, and nothing reaches whittle.
func (c *Coverage) Enable(on bool) error {
	c.linkMu.Lock()
	defer c.linkMu.Unlock()
	c.mu.Lock()
	closed, l, detached := c.closed, c.l, c.detached
	c.mu.Unlock()
	switch {
	case closed:
		return errors.New("cover: closed")
	case on == (l != nil):
		return nil
	case !on:
		c.mu.Lock()
		ready := c.ready
		c.l, c.ready, c.detached = nil, nil, time.Now()
		c.mu.Unlock()
		return errors.Join(ready.Close(), l.Close())
	}
	// An agent replays when it sees the probes appear: a detach and an
	// attach between two of its looks would go unnoticed.
	if wait := agentWatch - time.Since(detached); wait > 0 {
		time.Sleep(wait)
	}
	// The ready probe goes on once the message probe's program is attached:
	// the agent replays when it sees both (before, a replay would be lost).
	prog, offs := c.set.objs.JvmMessage, c.agent.offsets
	l, err := c.ex.Uprobe("", prog, &link.UprobeOptions{Address: offs.message, RefCtrOffset: offs.counter})
	if err != nil {
		return fmt.Errorf("cover: attaching to the JVM agent: %w", err)
	}
	ready, err := c.ex.Uprobe("", prog, &link.UprobeOptions{Address: offs.ready})
	if err != nil {
		return errors.Join(fmt.Errorf("cover: attaching to the JVM agent: %w", err), l.Close())
	}
	c.mu.Lock()
	c.l, c.ready = l, ready
	c.mu.Unlock()
	return nil
}

// agentWatch is twice the period at which the agent looks at its counter
// (WATCH_MS in agent/agent.c).
const agentWatch = 40 * time.Millisecond

// apply applies one message (the ring buffer reader's goroutine).
func (c *Coverage) apply(r record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jvms[r.tgid] = true
	m := r.msg
	switch m.kind {
	case 'V':
		if c.vm[0] == "" {
			c.vm = [3]string{m.vm, m.version, m.home}
		}
	case 'S':
		s := &Scope{How: m.how, Detail: m.detail, Prefixes: m.prefixes, DefaultPackage: m.defaultPackage}
		switch {
		case c.scope == nil:
			c.scope = s
		case c.scope.How != s.How || !slices.Equal(c.scope.Prefixes, s.Prefixes):
			c.problem(fmt.Sprintf("the JVM (pid %d) chose another scope: %s %s", r.tgid, s.How, s.Detail))
		}
	case 'M':
		c.declare(r.tgid, m)
	case 'H':
		i, ok := c.ids[jvmMethod{r.tgid, m.id}]
		if !ok || c.methods[i].Hit {
			return
		}
		c.methods[i].Hit, c.methods[i].HitAt, c.methods[i].JVMPid = true, wallTime(m.at), r.tgid
		c.order = append(c.order, i)
		// A JVM still starting (a restart, a spare) runs its start-up code
		// while requests to the current one are in flight: no request's
		// merit. When the hit was made tells (a replayed record came later):
		// the JVM's clock is the kernel's monotonic one.
		starting := c.tr != nil && c.tr.DuringStart(r.mntns, m.at)
		// A hit sent long after it happened was replayed (made before
		// whittle attached) by another thread than the one that made it.
		var thread uint32
		if r.ts >= m.at && r.ts-m.at < uint64(replayedAfter) {
			thread = r.thread
		}
		c.ledger.AddStamped(c.methods[i].Function(), c.methods[i].HitAt, thread, m.at, starting)
	case 'E':
		c.problem(m.text)
	case 'R':
		c.replays++
		c.replayedOnce.Do(func() { close(c.replayed) })
	}
}

// replayedAfter: a hit message sent later than this after its hit was
// replayed, not sent by the hitting thread.
const replayedAfter = 20 * time.Millisecond

// maxMethods bounds what a JVM can make whittle hold: the agent runs in
// the target, which may call its message function with anything.
const maxMethods = 1 << 20

// declare records an in-scope method. Called with c.mu held.
func (c *Coverage) declare(tgid uint32, m message) {
	class := strings.ReplaceAll(m.class, "/", ".")
	key := class + "." + m.name + m.desc
	i, ok := c.index[key]
	if len(c.ids) >= 4*maxMethods || !ok && len(c.methods) >= maxMethods {
		c.problem(fmt.Sprintf("more than %d methods declared: the others are not covered", maxMethods))
		return
	}
	if !ok {
		i = len(c.methods)
		c.index[key] = i
		meth := Method{Class: class, Name: m.name, Desc: m.desc, Line: m.line}
		if m.source != "" {
			meth.File = m.class[:strings.LastIndex(m.class, "/")+1] + m.source
		}
		c.methods = append(c.methods, meth)
		c.classes[class] = true
	}
	c.ids[jvmMethod{tgid, m.id}] = i
}

func (c *Coverage) problem(text string) {
	if !slices.Contains(c.problems, text) && len(c.problems) < 32 {
		c.problems = append(c.problems, text)
	}
}

// malformed counts a message that could not be parsed (Problems says how
// many).
func (c *Coverage) malformed() {
	c.mu.Lock()
	c.bad++
	c.mu.Unlock()
}

// wallTime converts a CLOCK_MONOTONIC reading (the agent's JVMTI GetTime)
// to wall-clock time.
func wallTime(mono uint64) time.Time {
	var ts unix.Timespec
	now := time.Now()
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return now
	}
	return now.Add(-time.Duration(uint64(ts.Nano()) - mono))
}

// Kind is cover.JVMMethods.
func (c *Coverage) Kind() cover.Kind { return cover.JVMMethods }

// Methods returns every in-scope method the JVMs declared (their classes
// were loaded), hit or not, in declaration order.
func (c *Coverage) Methods() []Method {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.methods)
}

// HitMethods returns the methods called, in first-call order.
func (c *Coverage) HitMethods() []Method {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Method, len(c.order))
	for k, i := range c.order {
		out[k] = c.methods[i]
	}
	return out
}

// Hits returns the methods called (cover.Function of Method.Function), in
// first-call order.
func (c *Coverage) Hits() []cover.FirstHit { return c.ledger.Hits() }

// Sync does nothing: the messages come through the tracer's ring buffer,
// so after the tracer's Sync every method called so far is known.
func (c *Coverage) Sync(context.Context) error { return nil }

// NewSince returns the methods (Method.Unit) first called at or after
// cursor, background ones excluded, and the next cursor: Sync the tracer
// after the request's answer, then ask what is new.
func (c *Coverage) NewSince(cursor int) (units []string, next int) { return c.ledger.NewSince(cursor) }

// NewHitsSince is NewSince with the first hits, each by the thread whose
// breakpoint it was.
func (c *Coverage) NewHitsSince(cursor int) ([]cover.FirstHit, int) {
	return c.ledger.NewHitsSince(cursor)
}

// Baseline waits idle for d (no requests should be sent meanwhile), syncs
// the tracer and marks every method called so far (start-up, timers) as
// background: never reported by NewSince. It returns the cursor to start
// from and the background units.
func (c *Coverage) Baseline(ctx context.Context, d time.Duration) (cursor int, background []string, err error) {
	return c.ledger.Baseline(ctx, d, c.tr.Sync)
}

// MarkBackground marks the methods first called at or after cursor as
// background and returns them with the next cursor.
func (c *Coverage) MarkBackground(cursor int) (units []string, next int) {
	return c.ledger.MarkBackground(cursor)
}

// Scope returns every in-scope method the JVMs declared so far (their
// classes were loaded), hit or not.
func (c *Coverage) Scope() []cover.Function {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]cover.Function, len(c.methods))
	for i, m := range c.methods {
		out[i] = m.Function()
	}
	return out
}

// ClassScope returns the scope the agent chose, with what the JVMs loaded
// of it.
func (c *Coverage) ClassScope() Scope {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s Scope
	if c.scope != nil {
		s = *c.scope
	}
	pkgs := map[string]bool{}
	for cl := range c.classes {
		p, _ := splitClass(cl)
		pkgs[p] = true
	}
	for p := range pkgs {
		s.Packages = append(s.Packages, p)
	}
	slices.Sort(s.Packages)
	s.Classes, s.Methods = len(c.classes), len(c.methods)
	return s
}

// ScopeDescription says which classes are in scope and how the agent chose
// them, in one line.
func (c *Coverage) ScopeDescription() string { return c.ClassScope().String() }

// Problems lists what the agents could not do (a JVM without breakpoint
// support, a log that grew too large, another scope in a later JVM).
func (c *Coverage) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.problems)
	if c.bad > 0 {
		out = append(out, fmt.Sprintf("%d malformed agent messages ignored", c.bad))
	}
	return out
}

// JVMs returns the host pids of the JVMs whose agent reported, sorted:
// every traced container's, restarted ones included.
func (c *Coverage) JVMs() []uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]uint32, 0, len(c.jvms))
	for pid := range c.jvms {
		out = append(out, pid)
	}
	slices.Sort(out)
	return out
}

// liveJVMs counts the JVMs that reported and still run (a restarted
// container's JVM is gone). Called with c.mu held.
func (c *Coverage) liveJVMs() int {
	n := 0
	for pid := range c.jvms {
		if err := unix.Kill(int(pid), 0); err == nil || errors.Is(err, unix.EPERM) {
			n++
		}
	}
	return n
}

// JVM describes the first JVM that reported: "OpenJDK 64-Bit Server VM
// 17.0.19+10-Debian" and its java.home.
func (c *Coverage) JVM() (vm, home string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSpace(c.vm[0] + " " + c.vm[1]), c.vm[2]
}

// VMVersion is the java.vm.version the agent reported ("" until then).
func (c *Coverage) VMVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vm[1]
}

// FeatureVersion reads the Java feature release (17, 21) from a
// java.vm.version: "17.0.9+9-Debian-1deb12u1", "21+35". Before Java 9 that
// property was HotSpot's own version ("25.392-b08" in Java 8), reported
// as 8. It says false when it cannot tell (OpenJ9's "openj9-0.41.0").
func FeatureVersion(vmVersion string) (int, bool) {
	end := strings.IndexFunc(vmVersion, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(vmVersion)
	}
	n, err := strconv.Atoi(vmVersion[:end])
	switch {
	case err != nil:
		return 0, false
	case (n == 24 || n == 25) && strings.Contains(vmVersion, "-b"):
		return n - 17, true // HotSpot 24 and 25: Java 7 and 8
	}
	return n, true
}

// Stats returns the coverage's counters.
func (c *Coverage) Stats() cover.Stats {
	sc := c.ClassScope()
	vm, home := c.JVM()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := cover.Stats{
		Kind:      cover.JVMMethods,
		Mechanism: "JVMTI breakpoints of whittle's agent",
		Processes: c.liveJVMs(),
		Binary:    strings.TrimSuffix(home, "/") + "/bin/java",
		Source:    c.agent.InContainer() + " in " + vm,
		Attach:    "uprobe on the agent's message function",
		Total:     len(c.methods),
		Hit:       len(c.order),
		Units:     len(c.order),
		Probed:    len(c.methods) - len(c.order),
		Pruned:    len(c.order),
		Enabled:   c.l != nil,
	}
	if home == "" {
		s.Binary = ""
	}
	if vm == "" {
		s.Source = c.agent.InContainer()
	}
	var roots []string
	for _, p := range sc.Prefixes {
		roots = append(roots, strings.ReplaceAll(strings.TrimSuffix(p, "/"), "/", "."))
	}
	s.Scope.Root = strings.Join(roots, ",")
	s.Scope.From, s.Scope.Detail = sc.How, sc.Detail
	s.Scope.Packages = slices.Clone(sc.Prefixes)
	s.Scope.InScope, s.Scope.Functions = sc.Packages, sc.Methods
	return s
}

// Close detaches the probe; what was called stays readable. The agent's
// file is its owner's to remove.
func (c *Coverage) Close() error {
	c.linkMu.Lock()
	defer c.linkMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	l, ready := c.l, c.ready
	c.l, c.ready, c.closed = nil, nil, true
	c.mu.Unlock()
	c.set.unregister(c)
	if l != nil {
		return errors.Join(ready.Close(), l.Close())
	}
	return nil
}
