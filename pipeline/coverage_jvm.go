package pipeline

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/cover/jvm"
)

// codeCoverage is what the run uses of the coverage of a target's code:
// native functions or Python lines (cover.Coverage), JVM methods
// (jvm.Coverage).
type codeCoverage interface {
	Kind() cover.Kind
	Stats() cover.Stats
	NewSince(cursor int) ([]string, int)
	Baseline(ctx context.Context, d time.Duration) (int, []string, error)
	MarkBackground(cursor int) ([]string, int)
	Enable(on bool) error
	Close() error
}

// jvmState is the JVM method coverage of a run: whittle's agent, mounted
// read-only into the traced containers (and only those) of an image that
// runs a JVM, and loaded through JAVA_TOOL_OPTIONS.
type jvmState struct {
	agent       *jvm.Agent
	why         string // what showed that the image runs a JVM
	toolOptions string // JAVA_TOOL_OPTIONS of the traced containers
	cov         *jvm.Coverage
}

// prepareJVM installs the agent when the image's configuration shows a JVM.
func (s *session) prepareJVM() {
	if s.run.cfg.noCodeCoverage {
		return
	}
	img := s.image
	if why := jvm.DetectJVM(append(slices.Clone(img.Entrypoint), img.Cmd...), img.Env); why != "" {
		s.installJVMAgent(why)
	}
}

// javaPackage is a --cover pattern the agent can take as a package
// ("com.example.shop", "com/example/shop/**").
var javaPackage = regexp.MustCompile(`^[A-Za-z_$][\w$]*([./][A-Za-z_$][\w$]*)*([./]\*\*?)?$`)

func (s *session) installJVMAgent(why string) bool {
	r := s.run
	a, err := jvm.InstallAgent("")
	if err != nil {
		r.logf(event.LevelWarn, "jvm: no method coverage: %v", err)
		return false
	}
	var scope []string
	for _, p := range r.cfg.CoverPatterns {
		if javaPackage.MatchString(p) {
			scope = append(scope, p)
		}
	}
	opts, err := a.JavaToolOptions(s.image.Env, scope...)
	if err != nil {
		a.Remove()
		r.logf(event.LevelWarn, "jvm: no method coverage: %v", err)
		return false
	}
	s.jvm = &jvmState{agent: a, why: why, toolOptions: opts}
	r.logf(event.LevelInfo, "jvm: %s: method coverage through whittle's agent, mounted read-only at %s in the traced containers only (JAVA_TOOL_OPTIONS=%s)",
		why, jvm.MountPoint, opts)
	return true
}

// tracedOptions are the container options of the traced starts alone.
func (s *session) tracedOptions() []probe.Option {
	if s.jvm == nil {
		return nil
	}
	return []probe.Option{probe.WithJVMAgent(s.jvm.agent.Dir, jvm.MountPoint, s.jvm.toolOptions)}
}

// startCodeCoverage begins the coverage of the target's code: JVM methods
// when it runs a JVM (a container that turns out to run one although its
// configuration did not say so is replaced by one with the agent), else
// what the first traced start began (startCoverage).
func (s *session) startCodeCoverage(ctx context.Context) error {
	r := s.run
	if r.cfg.noCodeCoverage {
		s.rep.Trace.Coverage = "files only: code coverage switched off"
		return nil
	}
	lib, ran, err := s.ranJVM(ctx)
	if err != nil {
		return err
	}
	if s.jvm == nil && ran && s.installJVMAgent("the container loaded "+lib) {
		r.logf(event.LevelInfo, "jvm: restarting the target with the coverage agent")
		if err := s.orig.Restart(ctx); err != nil {
			return err
		}
	}
	if s.jvm == nil {
		s.startCoverage()
		return nil
	}
	cov, err := jvm.Attach(ctx, s.tracer, s.jvm.agent)
	switch {
	case err != nil && !ran:
		// The image has a JVM, the target runs something else: its next
		// containers need no agent.
		r.logf(event.LevelInfo, "jvm: the target runs no JVM (%v): covering its own code", err)
		s.removeJVMAgent()
		s.jvm = nil
		s.startCoverage()
		return nil
	case err != nil:
		s.rep.Trace.Coverage = "files only: " + err.Error()
		r.logf(event.LevelWarn, "no method coverage, falling back to file-level coverage: %v", err)
		return nil
	}
	s.cov, s.jvm.cov = cov, cov
	st := cov.Stats()
	s.rep.Trace.Coverage = string(st.Kind) + " from " + st.Source + " via " + st.Attach
	r.logf(event.LevelInfo, "coverage: %d methods of %s loaded at start-up, %d called (%s)", st.Total, st.Binary, st.Hit, st.Source)
	r.logf(event.LevelInfo, "coverage scope: %s", cov.Scope())
	s.recordJVMScope()
	for _, p := range cov.Problems() {
		r.logf(event.LevelWarn, "coverage: jvm agent: %s", p)
	}
	return nil
}

// ranJVM reports whether the traced containers loaded a JVM (libjvm.so),
// and which.
func (s *session) ranJVM(ctx context.Context) (string, bool, error) {
	if err := s.tracer.Sync(ctx); err != nil {
		return "", false, err
	}
	var paths []string
	for _, f := range s.tracer.Files() {
		if f.Errno == 0 {
			paths = append(paths, f.Path)
		}
	}
	lib, ran := jvm.RanJVM(paths)
	return lib, ran, nil
}

// recordJVMScope writes the scope the agent chose, with the packages and
// methods the JVMs loaded so far, into the report.
func (s *session) recordJVMScope() {
	if s.jvm == nil || s.jvm.cov == nil {
		return
	}
	sc := s.jvm.cov.Scope()
	s.rep.Trace.CoverageScope = &report.CoverageScope{Root: s.jvm.cov.Stats().Scope.Root, From: sc.How, Detail: sc.Detail,
		Patterns: sc.Prefixes, Packages: sc.Packages, Functions: sc.Methods}
}

// isInstrumentation reports whether a traced path is whittle's own, mounted
// into the traced containers only (the JVM agent): never the image's.
func isInstrumentation(p string) bool {
	return p == jvm.MountPoint || strings.HasPrefix(p, jvm.MountPoint+"/")
}

// removeJVMAgent deletes the agent's directory (the containers are gone).
func (s *session) removeJVMAgent() {
	if s.jvm != nil {
		s.jvm.agent.Remove()
	}
}
