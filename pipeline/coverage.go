package pipeline

import (
	"errors"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/cover/node"
)

// coverOptions narrow or widen the coverage scope: patterns with a slash
// or a .py suffix name files (Python), others Go packages or symbols; the
// coverage applies the ones its kind uses.
func (s *session) coverOptions() []cover.Option {
	var opts []cover.Option
	for _, rt := range coverRuntimes() {
		opts = append(opts, cover.WithRuntime(rt))
	}
	pats := s.run.cfg.CoverPatterns
	if len(pats) == 0 {
		return opts
	}
	return append(opts, cover.WithPackages(pats...), cover.WithSymbols(pats...), cover.WithPythonFiles(pats...))
}

// coverRuntimes are the runtimes whose coverage is not the tracer's
// uprobes alone, tried in order before native and Python coverage.
func coverRuntimes() []cover.Runtime {
	return []cover.Runtime{node.New()}
}

// instrumentation is what the traced run of img gets on top of its own
// configuration for the runtimes' mechanisms (Node.js's inspector on the
// container's loopback); the other runs never get it.
func instrumentation(img *probe.Image) []probe.Option {
	var env []string
	for _, rt := range coverRuntimes() {
		if in, ok := rt.(cover.Instrumenter); ok {
			env = append(env, in.Env(img.Env)...)
		}
	}
	if len(env) == 0 {
		return nil
	}
	return []probe.Option{probe.WithEnv(env...)}
}

// startCoverage takes the coverage the first traced start began: the
// target's own code (its main executable, or the Python application
// through the interpreter's USDT probes). Without it the fuzzer still has
// files, syscalls and answers to go by; the report says so.
func (s *session) startCoverage() {
	r := s.run
	cov, err := s.traced.Coverage()
	switch {
	case errors.Is(err, cover.ErrNoUSDT):
		s.rep.Trace.Coverage = "files only: the Python interpreter has no USDT probes"
		r.logf(event.LevelWarn, "python: no USDT probes in the interpreter, file-level coverage only")
		return
	case err != nil:
		s.rep.Trace.Coverage = "files only: " + err.Error()
		r.logf(event.LevelWarn, "no code coverage, falling back to file-level coverage: %v", err)
		return
	}
	s.cov = cov
	st := cov.Stats()
	s.rep.Trace.Coverage = string(st.Kind) + " from " + st.Source + " via " + st.Attach
	r.logf(event.LevelInfo, "coverage: %d functions of %s probed (%s, %s)", st.Total, st.Binary, st.Source, st.Attach)
	if sc := st.Scope; sc.From != "" {
		s.rep.Trace.CoverageScope = &report.CoverageScope{Root: sc.Root, From: sc.From, Detail: sc.Detail,
			Patterns: sc.Packages, Exclude: sc.Exclude, Packages: sc.InScope, Functions: sc.Functions}
		r.logf(event.LevelInfo, "coverage scope: %s", sc)
	}
	if st.NoMulti != nil {
		r.logf(event.LevelWarn, "coverage: no uprobe_multi links on this kernel (Linux 6.6+), attaching one uprobe per address instead: %v", st.NoMulti)
	}
	if pr, ok := cov.(interface{ Problems() []cover.ProbeProblem }); ok {
		for _, p := range pr.Problems() {
			r.logf(event.LevelWarn, "coverage: %v", p)
		}
	}
}

// recordCoverage copies the coverage counters into the report.
func (s *session) recordCoverage() {
	if s.cov == nil {
		return
	}
	st := s.cov.Stats()
	s.rep.Trace.Functions, s.rep.Trace.FunctionsTotal = st.Hit, st.Total
}

// pythonDuty switches Python line coverage on for part of the time only:
// while it is on every executed line traps (~8x slower requests), so the
// fuzzer gets coverage feedback on a sample of its requests and runs at full
// speed otherwise.
type pythonDuty struct {
	cov     cover.Source
	on, off time.Duration
	enabled bool
	since   time.Time
}

func newPythonDuty(cov cover.Source) *pythonDuty {
	return &pythonDuty{cov: cov, on: time.Second, off: 3 * time.Second, enabled: true, since: time.Now()}
}

// tick flips the probe when its phase is over. It is called between requests.
func (d *pythonDuty) tick() {
	limit := d.off
	if d.enabled {
		limit = d.on
	}
	if time.Since(d.since) < limit {
		return
	}
	d.enabled = !d.enabled
	d.since = time.Now()
	_ = d.cov.Enable(d.enabled)
}
