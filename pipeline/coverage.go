package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/cover/jvm"
	"github.com/whittle-dev/whittle/tracer/cover/node"
)

// coverOptions narrow or widen the coverage scope: patterns with a slash
// or a .py or .js suffix name files (Python, Node.js), others Go packages
// or symbols; the coverage applies the ones its kind uses. The single
// pattern "none" switches code coverage off (files only), to compare.
func (s *session) coverOptions() []cover.Option {
	if slices.Equal(s.run.cfg.CoverPatterns, []string{"none"}) {
		return []cover.Option{cover.WithoutCode()}
	}
	var opts []cover.Option
	for _, rt := range s.coverRuntimes() {
		opts = append(opts, cover.WithRuntime(rt))
	}
	pats := s.run.cfg.CoverPatterns
	if len(pats) == 0 {
		return opts
	}
	return append(opts, cover.WithPackages(pats...), cover.WithSymbols(pats...), cover.WithPythonFiles(pats...))
}

// coverRuntimes are the runtimes whose coverage is not the tracer's
// uprobes alone, tried in order before native and Python coverage. They
// are made once per run: a runtime may hold what its traced containers
// share (the JVM's agent).
func (s *session) coverRuntimes() []cover.Runtime {
	if s.runtimes == nil {
		s.runtimes = []cover.Runtime{node.New(), jvm.New(jvm.WithScope(s.run.cfg.CoverPatterns...))}
	}
	return s.runtimes
}

// prepareRuntimes lets the runtimes that instrument only the images that
// need it (a JVM's agent) read the image's configuration.
func (s *session) prepareRuntimes() {
	if slices.Equal(s.run.cfg.CoverPatterns, []string{"none"}) {
		return
	}
	img := cover.ImageConfig{Entrypoint: s.image.Entrypoint, Cmd: s.image.Cmd, Env: s.image.Env}
	for _, rt := range s.coverRuntimes() {
		p, ok := rt.(cover.Preparer)
		if !ok {
			continue
		}
		why, err := p.Prepare(img)
		switch {
		case err != nil:
			s.run.logf(event.LevelWarn, "%s: no coverage: %v", rt.Name(), err)
		case why != "":
			s.run.logf(event.LevelInfo, "%s: %s; %s", rt.Name(), why, instrumentationSummary(rt, img.Env))
		}
	}
}

// instrumentationSummary says what a runtime's traced containers get.
func instrumentationSummary(rt cover.Runtime, imageEnv []string) string {
	var what []string
	if m, ok := rt.(cover.Mounter); ok {
		for _, mt := range m.Mounts() {
			what = append(what, "a directory mounted read-only at "+mt.Target)
		}
	}
	if in, ok := rt.(cover.Instrumenter); ok {
		what = append(what, in.Env(imageEnv)...)
	}
	return "the traced containers only get " + strings.Join(what, ", ")
}

// closeRuntimes releases what the runtimes hold (the JVM's agent file).
func (s *session) closeRuntimes() {
	for _, rt := range s.runtimes {
		if c, ok := rt.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				s.run.logf(event.LevelWarn, "%s: %v", rt.Name(), err)
			}
		}
	}
}

// instrumentation is what the traced run of img gets on top of its own
// configuration for the runtimes' mechanisms (Node.js's inspector on the
// container's loopback, a JVM's agent); the other runs never get it. It is
// asked at each start: a runtime may be prepared late (a JVM the image's
// configuration did not show) or drop its instrumentation (an image that
// claimed a JVM but runs none).
func (s *session) instrumentation(img *probe.Image) []probe.Option {
	if slices.Equal(s.run.cfg.CoverPatterns, []string{"none"}) {
		return nil
	}
	var env []string
	var opts []probe.Option
	for _, rt := range s.coverRuntimes() {
		if in, ok := rt.(cover.Instrumenter); ok {
			env = append(env, in.Env(img.Env)...)
		}
		if m, ok := rt.(cover.Mounter); ok {
			for _, mt := range m.Mounts() {
				opts = append(opts, probe.WithInstrumentationDir(mt.Source, mt.Target))
			}
		}
	}
	if len(env) > 0 {
		opts = append(opts, probe.WithEnv(env...))
	}
	return opts
}

// isInstrumentation reports whether a traced path is whittle's own, mounted
// into the traced containers only (the JVM agent): never the image's.
func isInstrumentation(p string) bool {
	return p == jvm.MountPoint || strings.HasPrefix(p, jvm.MountPoint+"/")
}

// startCoverage takes the coverage the first traced start began: the
// target's own code (its main executable, the Python application through
// the interpreter's USDT probes, a Node.js application through V8's
// inspector). Without it the fuzzer still has files, syscalls and answers
// to go by; the log, the report and the dashboard say why.
func (s *session) startCoverage(ctx context.Context) error {
	r := s.run
	cov, err := s.traced.Coverage()
	if errors.Is(err, cover.ErrRestart) {
		r.logf(event.LevelInfo, "coverage: %v: restarting the target", err)
		if err := s.orig.Restart(ctx); err != nil {
			return err
		}
		base := s.orig.BaseURL()
		r.ctr.update(func(p *event.Progress) { p.TargetURL = base })
		cov, err = s.traced.Coverage()
	}
	for _, rt := range s.runtimes {
		if d, ok := rt.(interface{ Dropped() string }); ok && d.Dropped() != "" {
			r.logf(event.LevelInfo, "%s: %s: its next containers get no instrumentation", rt.Name(), d.Dropped())
		}
	}
	if err != nil {
		why := err.Error()
		if errors.Is(err, cover.ErrNoUSDT) {
			why = "the Python interpreter has no USDT probes"
		}
		s.rep.Trace.Coverage = "files only: " + why
		s.rep.Trace.CodeCoverage = &report.CodeCoverage{Why: why}
		r.ctr.update(func(p *event.Progress) { p.CoverageWhy = why })
		r.logf(event.LevelWarn, "no code coverage, falling back to file-level coverage: %s", why)
		return nil
	}
	s.cov = cov
	st := cov.Stats()
	s.rep.Trace.Coverage = string(st.Kind) + " via " + st.Mechanism
	if st.Source != "" {
		s.rep.Trace.Coverage += " (" + st.Source + ")"
	}
	if st.Attach != "" {
		// How the probes were attached matters on kernels without
		// uprobe_multi: one link per address costs more to attach.
		s.rep.Trace.Coverage += ", attached by " + st.Attach
	}
	mechanism := st.Mechanism
	if st.Processes > 1 {
		mechanism = fmt.Sprintf("%s, %d processes", mechanism, st.Processes)
	}
	r.ctr.update(func(p *event.Progress) { p.CoverageMechanism = mechanism })
	what := st.Binary
	if what == "" {
		what = "the application"
	}
	r.logf(event.LevelInfo, "coverage: %s: %d functions of %s in scope (%s)", st.Mechanism, st.Total, what, st.Attach)
	if st.Processes > 0 {
		r.logf(event.LevelInfo, "coverage: %d processes covered", st.Processes)
	}
	if sc := st.Scope; sc.From != "" {
		s.recordScope(st)
		if d, ok := cov.(interface{ ScopeDescription() string }); ok {
			r.logf(event.LevelInfo, "coverage scope: %s", d.ScopeDescription())
		} else {
			r.logf(event.LevelInfo, "coverage scope: %s", sc)
		}
	}
	if st.ScopeFrom != "" {
		r.logf(event.LevelInfo, "coverage scope: %d files: %s", len(st.ScopeFiles), st.ScopeFrom)
		const shown = 20
		files := st.ScopeFiles
		if len(files) > shown {
			files = append(files[:shown:shown], fmt.Sprintf("... (%d more)", len(st.ScopeFiles)-shown))
		}
		if len(files) > 0 {
			r.logf(event.LevelInfo, "coverage scope files: %s", strings.Join(files, " "))
		}
	}
	if st.Inactive != "" {
		r.logf(event.LevelWarn, "coverage: inactive: %s", st.Inactive)
	}
	if st.NoMulti != nil {
		r.logf(event.LevelWarn, "coverage: no uprobe_multi links on this kernel (Linux 6.6+), attaching one uprobe per address instead: %v", st.NoMulti)
	}
	if pr, ok := cov.(interface{ Problems() []cover.ProbeProblem }); ok {
		for _, p := range pr.Problems() {
			r.logf(event.LevelWarn, "coverage: %v", p)
		}
	}
	if pr, ok := cov.(interface{ Problems() []string }); ok {
		for _, p := range pr.Problems() {
			r.logf(event.LevelWarn, "coverage: %s", p)
		}
	}
	return nil
}

// recordScope writes the coverage's default scope, and how it was chosen,
// into the report. It is written again at the end: a runtime's scope grows
// as the application loads code (a JVM's classes).
func (s *session) recordScope(st cover.Stats) {
	if sc := st.Scope; sc.From != "" {
		s.rep.Trace.CoverageScope = &report.CoverageScope{Root: sc.Root, From: sc.From, Detail: sc.Detail,
			Patterns: sc.Packages, Exclude: sc.Exclude, Packages: sc.InScope, Functions: sc.Functions}
	}
}

// recordCoverage copies the coverage into the report: the counters, and
// function by function what was reached, when and by which operation
// (fb's attribution; nil: none).
func (s *session) recordCoverage(fb *traceFeedback) {
	if s.cov == nil {
		return
	}
	st := s.cov.Stats()
	s.rep.Trace.Functions, s.rep.Trace.FunctionsTotal = st.Hit, st.Total
	s.recordScope(st)
	hits := s.cov.Hits()
	cc := summarizeCoverage(st, hits)
	var firstBy map[string]string
	if fb != nil {
		firstBy = fb.firstBy
	}
	cc.ByFunction = coverageByFunction(st, s.cov.Scope(), hits, firstBy, s.rep.StartedAt, s.starts.during)
	cc.Operations = cc.ByFunction.Operations()
	// Start-up as the function table tells it: it also knows the start-up
	// code later containers ran (coverageByFunction).
	_, _, cc.FunctionsAtStartup, cc.FunctionsByRequests = cc.ByFunction.Totals()
	s.rep.Trace.CodeCoverage = &cc
}

// storeCoverage adds the run's coverage by function to its corpus (nil:
// none), where resumed runs and merged shards add theirs.
func (s *session) storeCoverage(store *corpus.Store) {
	cc := s.rep.Trace.CodeCoverage
	if store == nil || cc == nil || cc.ByFunction == nil {
		return
	}
	if err := store.AddCoverage(cc.ByFunction); err != nil {
		s.run.logf(event.LevelWarn, "corpus: %v", err)
	}
}

// summarizeCoverage counts what start-up covered and what requests added,
// by unit and by function (a Python line counts for its function; V8
// blocks for none).
func summarizeCoverage(st cover.Stats, hits []cover.FirstHit) report.CodeCoverage {
	cc := report.CodeCoverage{Kind: string(st.Kind), Mechanism: st.Mechanism, Why: st.Inactive, Processes: st.Processes,
		ScopeFrom: st.ScopeFrom, ScopeFiles: st.ScopeFiles, FunctionsTotal: st.Total}
	seen := map[string]bool{}
	for _, h := range hits {
		cc.Units++
		switch {
		case h.Startup:
			cc.UnitsAtStartup++
		case !h.Background:
			cc.UnitsByRequests++
		}
		key := ""
		switch h.Level {
		case cover.LevelFunction:
			key = h.Unit()
		case cover.LevelLine:
			if strings.HasPrefix(h.Name, "<") && h.Name != "<module>" {
				continue // comprehensions, lambdas: not counted as functions
			}
			key = h.File + "\x00" + h.Name
		}
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		cc.Functions++
		switch {
		case h.Startup:
			cc.FunctionsAtStartup++
		case !h.Background:
			cc.FunctionsByRequests++
		}
	}
	return cc
}

// dutyCycle switches a costly coverage on for part of the time only: while
// Python's line probe is on every executed line traps (~8x slower
// requests); V8's coverage costs an inspector round trip per node process
// after every answer. The fuzzer gets coverage feedback on a sample of its
// requests and runs at full speed otherwise.
//
// The first container started after the first (a restart, a spare) that
// comes up runs with it on: their start-up code (module bodies, class
// definitions) is the only start-up a probe attached to a running
// container can see, and it should not be left to the phase's luck. The
// tracer marks those hits as start-up, no request's.
type dutyCycle struct {
	cov     cover.Source
	on, off time.Duration

	mu       sync.Mutex // tick runs in the fuzzing loop, holds in spare starts
	enabled  bool
	since    time.Time
	held     int  // starts in progress that keep it on
	switched bool // switched on by a start: see switchedByStart
	samples  int  // starts seen with it on
}

// startupSamples is how many later containers start with the costly
// coverage on: module bodies run the same at every start, and a second
// sample is no longer free. The first is usually a restart the fuzzer waits
// for anyway; the next, the spare that restart starts in the background,
// would slow every request in flight about 8x for the seconds an
// interpreter takes to start (slowdb: 5 s at ~100/s instead of ~850/s).
const startupSamples = 1

func newDutyCycle(cov cover.Source) *dutyCycle {
	return &dutyCycle{cov: cov, on: time.Second, off: 3 * time.Second, enabled: true, since: time.Now()}
}

// tick flips the probe when its phase is over. It is called between requests.
// It reports true when it switched the coverage on.
func (d *dutyCycle) tick() (switchedOn bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	limit := d.off
	if d.enabled {
		limit = d.on
	}
	if d.held > 0 || time.Since(d.since) < limit {
		return false
	}
	d.enabled = !d.enabled
	d.since = time.Now()
	_ = d.cov.Enable(d.enabled)
	return d.enabled
}

// isOn reports whether the coverage is on now.
func (d *dutyCycle) isOn() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.enabled
}

// switchedByStart reports, once, that a start switched the coverage on
// since the last call: what was counted meanwhile (V8 counts while off)
// belongs to no single request.
func (d *dutyCycle) switchedByStart() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	was := d.switched
	d.switched = false
	return was
}

// holdForStart keeps the coverage on while a container starts, for the
// first startupSamples starts that come up; release ends the hold (up:
// the container answered, so the sample counts), and the on phase runs on
// from there while the start-up's last hits are read.
func (d *dutyCycle) holdForStart() (release func(up bool)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.samples+d.held >= startupSamples {
		return func(bool) {}
	}
	d.held++
	if !d.enabled {
		d.enabled, d.switched = true, true
		_ = d.cov.Enable(true)
	}
	var once sync.Once
	return func(up bool) {
		once.Do(func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.held--
			if up {
				d.samples++
			}
			d.since = time.Now()
		})
	}
}

// pause switches the coverage off until resume, whatever its phase.
func (d *dutyCycle) pause() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.enabled = false
	_ = d.cov.Enable(false)
}

// resume switches the coverage on and starts its on phase afresh.
func (d *dutyCycle) resume() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.enabled = true
	d.since = time.Now()
	_ = d.cov.Enable(true)
}
