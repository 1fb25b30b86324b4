package jvm

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"

	"github.com/whittle-dev/whittle/tracer/cover"
)

// Runtime covers the JVMs of a run (a cover.Runtime): its traced
// containers, and only those, get the agent's directory mounted read-only
// (cover.Mounter) and JAVA_TOOL_OPTIONS naming it (cover.Instrumenter),
// once Prepare found that the image runs a JVM, or once a container turned
// out to load one (Attach then asks for a restart, cover.ErrRestart).
// Close removes the agent's directory.
type Runtime struct {
	dir   string   // where the agent is installed ("": InstallAgent's default)
	scope []string // the user's Java packages; empty: the agent's choice

	mu    sync.Mutex
	agent *Agent
	why   string // what showed that the target runs a JVM
	// dropped says why the traced containers no longer get the agent:
	// the image claimed a JVM, the target runs none.
	dropped string
}

// RuntimeOption configures a Runtime.
type RuntimeOption func(*Runtime)

// WithAgentDir installs the agent under dir instead of the system's
// temporary directory.
func WithAgentDir(dir string) RuntimeOption { return func(r *Runtime) { r.dir = dir } }

// WithScope replaces the agent's choice of the application's classes by
// these of the patterns that name Java packages ("com.example.shop",
// "com/example/shop/**"); the others (Go packages with a domain, file
// globs) are some other runtime's.
func WithScope(patterns ...string) RuntimeOption {
	return func(r *Runtime) { r.scope = JavaPackages(patterns) }
}

// javaPackage is a pattern the agent can take as a package.
var javaPackage = regexp.MustCompile(`^[A-Za-z_$][\w$]*([./][A-Za-z_$][\w$]*)*([./]\*\*?)?$`)

// JavaPackages returns the patterns that can name Java packages.
func JavaPackages(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		if javaPackage.MatchString(p) {
			out = append(out, p)
		}
	}
	return out
}

// New returns the JVM runtime.
func New(opts ...RuntimeOption) *Runtime {
	r := &Runtime{}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Name is "jvm".
func (r *Runtime) Name() string { return "jvm" }

// Prepare installs the agent when the image's configuration shows a JVM
// (DetectJVM) and says why ("the command runs java: method coverage
// through whittle's agent"); "" when it does not.
func (r *Runtime) Prepare(img cover.ImageConfig) (string, error) {
	why := DetectJVM(slices.Concat(img.Entrypoint, img.Cmd), img.Env)
	if why == "" {
		return "", nil
	}
	if err := r.install(why); err != nil {
		return "", err
	}
	return why + ": method coverage through whittle's agent", nil
}

func (r *Runtime) install(why string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.agent != nil {
		return nil
	}
	// The options are checked now rather than in Env, which cannot fail.
	if _, err := (&Agent{}).JavaToolOptions(nil, r.scope...); err != nil {
		return fmt.Errorf("jvm: %w", err)
	}
	a, err := InstallAgent(r.dir)
	if err != nil {
		return fmt.Errorf("jvm: %w", err)
	}
	r.agent, r.why = a, why
	return nil
}

// prepared returns the agent when the traced containers get it.
func (r *Runtime) prepared() *Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped != "" {
		return nil
	}
	return r.agent
}

// Env returns JAVA_TOOL_OPTIONS for the traced containers once the agent is
// installed: the image's own value (imageEnv) followed by the agent's
// -agentpath; nothing before, nor for an image that runs no JVM after all.
func (r *Runtime) Env(imageEnv []string) []string {
	a := r.prepared()
	if a == nil {
		return nil
	}
	opts, err := a.JavaToolOptions(imageEnv, r.scope...)
	if err != nil {
		return nil // checked by install
	}
	return []string{"JAVA_TOOL_OPTIONS=" + opts}
}

// Mounts returns the agent's directory, mounted read-only at MountPoint,
// under the same conditions as Env.
func (r *Runtime) Mounts() []cover.Mount {
	a := r.prepared()
	if a == nil {
		return nil
	}
	return []cover.Mount{{Source: a.Dir, Target: MountPoint}}
}

// Why says what showed that the target runs a JVM ("" before, or when it
// runs none).
func (r *Runtime) Why() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dropped != "" {
		return ""
	}
	return r.why
}

// Dropped says why the traced containers no longer get the agent (an image
// whose configuration claimed a JVM runs none); "" when they do, or never
// did.
func (r *Runtime) Dropped() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Attach covers the JVMs of p's containers through the agent's messages.
// A target that loaded no JVM is another runtime's (cover.ErrOtherRuntime;
// an image that only claimed one gets no agent in its next containers). A
// JVM started without the agent (the image's configuration did not show
// it) installs it and asks for a restart (cover.ErrRestart).
func (r *Runtime) Attach(ctx context.Context, p cover.Process) (cover.Source, error) {
	a := r.prepared()
	if a == nil {
		lib, ran, err := loadedJVM(ctx, p)
		switch {
		case err != nil:
			return nil, err
		case !ran:
			return nil, fmt.Errorf("jvm: the target loaded no libjvm.so: %w", cover.ErrOtherRuntime)
		}
		why := "the container loaded " + lib
		if err := r.install(why); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("jvm: %s, started without whittle's agent: %w", why, cover.ErrRestart)
	}
	cov, err := Attach(ctx, p.Tracer, a)
	if err == nil {
		return cov, nil
	}
	if errors.Is(err, ErrNoAgent) {
		if _, ran, lerr := loadedJVM(ctx, p); lerr == nil && !ran {
			r.mu.Lock()
			r.dropped = fmt.Sprintf("%s, but the target runs no JVM (%v)", r.why, err)
			dropped := r.dropped
			r.mu.Unlock()
			return nil, fmt.Errorf("jvm: %s: %w", dropped, cover.ErrOtherRuntime)
		}
	}
	return nil, err
}

// loadedJVM reports whether the traced containers loaded a JVM, and which.
func loadedJVM(ctx context.Context, p cover.Process) (string, bool, error) {
	if err := p.Tracer.Sync(ctx); err != nil {
		return "", false, fmt.Errorf("jvm: %w", err)
	}
	var paths []string
	for _, f := range p.Tracer.Files() {
		if f.Errno == 0 {
			paths = append(paths, f.Path)
		}
	}
	lib, ran := RanJVM(paths)
	return lib, ran, nil
}

// Close removes the agent's directory (the containers using it are gone).
func (r *Runtime) Close() error {
	r.mu.Lock()
	a := r.agent
	r.mu.Unlock()
	if a != nil {
		a.Remove()
	}
	return nil
}

var (
	_ cover.Runtime      = (*Runtime)(nil)
	_ cover.Instrumenter = (*Runtime)(nil)
	_ cover.Mounter      = (*Runtime)(nil)
	_ cover.Preparer     = (*Runtime)(nil)
	_ cover.Source       = (*Coverage)(nil)
)
