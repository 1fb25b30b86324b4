package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/whittle-dev/whittle/internal/remedy"
	"github.com/whittle-dev/whittle/probe"
)

// ErrDependency is wrapped by the error of a companion service that did
// not reach its condition.
var ErrDependency = errors.New("companion service failed")

// FixDependency is its remedy, in this package's words.
const FixDependency = "check the service's settings and health check in the compose file, or allow a longer ready timeout"

// State is what a companion service is doing, for interfaces and reports.
type State struct {
	Service   string
	Image     string
	Condition string
	// State is "creating", "starting", "waiting (healthy)", "waiting
	// (completed)", "healthy", "running", "completed", "failed" or
	// "removed".
	State string
	// Ready is how long the service took to reach its condition (set with
	// "healthy", "running", "completed").
	Ready  time.Duration
	Detail string
}

// UpOption configures Up.
type UpOption func(*upConfig)

type upConfig struct {
	observe func(State)
	timeout time.Duration
	extra   []probe.Option
}

// WithObserver is told every state change of every companion service.
func WithObserver(f func(State)) UpOption { return func(c *upConfig) { c.observe = f } }

// WithTimeout bounds the wait for each companion's condition (default 2m).
func WithTimeout(d time.Duration) UpOption { return func(c *upConfig) { c.timeout = d } }

// WithProbeOptions adds options to every companion container.
func WithProbeOptions(opts ...probe.Option) UpOption {
	return func(c *upConfig) { c.extra = append(c.extra, opts...) }
}

// Stack is one start of the target's companion services: a private network,
// fresh volumes and containers, all labelled as the run's (a killed run's
// are removed by the next one).
type Stack struct {
	p       *Project
	eng     *probe.Engine
	cfg     upConfig
	runID   string
	network string
	volumes map[string]string // volume key in the file -> created volume
	started []*probe.Target
	byName  map[string]*probe.Target
	ready   map[string]bool
}

var stackSeq atomic.Int64

// Up starts the target's companion services for one container of the
// target: creates the network and volumes, then starts each dependency
// after its own, waiting for each depends_on condition of the target and of
// the dependencies. On failure everything it created is removed and the
// error names the service and shows its last log lines.
func (p *Project) Up(ctx context.Context, eng *probe.Engine, runID string, opts ...UpOption) (*Stack, error) {
	cfg := upConfig{timeout: 2 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	n := stackSeq.Add(1)
	st := &Stack{p: p, eng: eng, cfg: cfg, runID: runID, volumes: map[string]string{},
		byName: map[string]*probe.Target{}, ready: map[string]bool{}}
	base := fmt.Sprintf("whittle-%s-%d", shortRun(runID), n)
	var err error
	if st.network, err = eng.CreateNetwork(ctx, base, runID); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = st.Down(context.WithoutCancel(ctx))
		}
	}()
	for _, svc := range append(append([]Service{}, p.Deps...), p.Target) {
		for key := range svc.volumes {
			if _, done := st.volumes[key]; done {
				continue
			}
			name, err := eng.CreateVolume(ctx, base+"-"+key, runID)
			if err != nil {
				return nil, err
			}
			st.volumes[key] = name
		}
	}
	deps := map[string]Service{}
	for _, d := range p.Deps {
		deps[d.Name] = d
	}
	// p.Deps is in start order: each one's dependencies come before it.
	for _, d := range p.Deps {
		if err := st.waitFor(ctx, d.DependsOn, deps); err != nil {
			return nil, err
		}
		if err := st.start(ctx, d, dependencyCondition(p, d.Name)); err != nil {
			return nil, err
		}
	}
	if err := st.waitFor(ctx, p.Target.DependsOn, deps); err != nil {
		return nil, err
	}
	ok = true
	return st, nil
}

// dependencyCondition is the strictest condition anything waits for on
// service name (what the observer shows it waiting for).
func dependencyCondition(p *Project, name string) string {
	rank := map[string]int{ServiceStarted: 0, ServiceHealthy: 1, ServiceCompleted: 2}
	cond := ServiceStarted
	for _, s := range append(append([]Service{}, p.Deps...), p.Target) {
		for _, d := range s.DependsOn {
			if d.Service == name && rank[d.Condition] > rank[cond] {
				cond = d.Condition
			}
		}
	}
	return cond
}

func shortRun(id string) string {
	if len(id) > 24 {
		return id[len(id)-24:]
	}
	return id
}

func (st *Stack) observe(s State) {
	if st.cfg.observe != nil {
		st.cfg.observe(s)
	}
}

// start creates and starts one companion on the stack's network.
func (st *Stack) start(ctx context.Context, svc Service, cond string) error {
	state := State{Service: svc.Name, Image: svc.Image, Condition: cond}
	state.State = "creating"
	st.observe(state)
	img, err := st.eng.Inspect(ctx, svc.Image)
	if err != nil {
		state.State, state.Detail = "failed", err.Error()
		st.observe(state)
		return fmt.Errorf("companion service %s: %w", svc.Name, err)
	}
	opts := append([]probe.Option{
		probe.WithRun(st.runID),
		probe.WithoutPort(),
		probe.WithNetwork(st.network, svc.Aliases...),
		probe.WithRunConfig(st.runConfig(svc)),
		probe.WithLabel("dev.whittle.service", svc.Name),
	}, st.cfg.extra...)
	if svc.Health != nil {
		opts = append(opts, probe.WithHealthcheck(svc.Health))
	}
	c, err := st.eng.Create(ctx, img, opts...)
	if err != nil {
		state.State, state.Detail = "failed", err.Error()
		st.observe(state)
		return fmt.Errorf("companion service %s: %w", svc.Name, err)
	}
	st.started = append(st.started, c)
	st.byName[svc.Name] = c
	state.State = "starting"
	st.observe(state)
	if err := c.Start(ctx); err != nil {
		state.State, state.Detail = "failed", err.Error()
		st.observe(state)
		return fmt.Errorf("companion service %s: %w", svc.Name, err)
	}
	return nil
}

// runConfig is svc's run configuration with its volumes made this stack's.
func (st *Stack) runConfig(svc Service) probe.RunConfig {
	rc := svc.Run
	rc.Mounts = append([]probe.Mount{}, rc.Mounts...)
	for i, m := range rc.Mounts {
		if m.Volume && svc.volumes[m.Source] {
			rc.Mounts[i].Source = st.volumes[m.Source]
		}
	}
	return rc
}

// waitFor waits until each dependency reaches its condition.
func (st *Stack) waitFor(ctx context.Context, deps []Dependency, known map[string]Service) error {
	for _, d := range deps {
		c := st.byName[d.Service]
		if c == nil {
			if !d.Required {
				continue
			}
			return fmt.Errorf("companion service %s was not started", d.Service)
		}
		key := d.Service + "\x00" + d.Condition
		if st.ready[key] {
			continue
		}
		if err := st.wait(ctx, c, known[d.Service], d.Condition); err != nil {
			return err
		}
		st.ready[key] = true
	}
	return nil
}

// wait polls a companion until cond holds, it fails, or the timeout passes.
func (st *Stack) wait(ctx context.Context, c *probe.Target, svc Service, cond string) error {
	began := time.Now()
	state := State{Service: svc.Name, Image: svc.Image, Condition: cond}
	fail := func(why string) error {
		state.State, state.Detail = "failed", why
		st.observe(state)
		e := remedy.New(fmt.Errorf("%w: %s %s", ErrDependency, svc.Name, why), FixDependency)
		if logs, _ := c.Logs(context.WithoutCancel(ctx), 10); strings.TrimSpace(logs) != "" {
			e.Detail = "; last log lines:\n" + indent(strings.TrimSpace(logs), "    ")
		}
		return e
	}
	switch cond {
	case ServiceHealthy:
		state.State = "waiting (healthy)"
	case ServiceCompleted:
		state.State = "waiting (completed)"
	default:
		state.State = "waiting (running)"
	}
	st.observe(state)
	deadline := began.Add(st.cfg.timeout)
	lastCheck := ""
	for {
		h, err := c.Health(ctx)
		if h.Check != "" {
			lastCheck = h.Check
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fail(err.Error())
		}
		switch cond {
		case ServiceCompleted:
			if h.Exited {
				if h.ExitCode != 0 {
					return fail(fmt.Sprintf("exited with status %d (service_completed_successfully wants 0)", h.ExitCode))
				}
				state.State, state.Ready = "completed", time.Since(began)
				st.observe(state)
				return nil
			}
		case ServiceHealthy:
			switch {
			case h.Exited:
				return fail(fmt.Sprintf("exited with status %d before it was healthy", h.ExitCode))
			case h.Status == "healthy":
				state.State, state.Ready = "healthy", time.Since(began)
				st.observe(state)
				return nil
			case h.Status == "unhealthy":
				return fail(fmt.Sprintf("is unhealthy (its health check: %s)", clip(lastCheck, 160)))
			case h.Status == "":
				return fail("has no health check, but service_healthy waits for one")
			}
		default:
			if h.Running || h.Exited {
				state.State, state.Ready = "running", time.Since(began)
				if h.Exited {
					state.State = fmt.Sprintf("exited %d", h.ExitCode)
				}
				st.observe(state)
				return nil
			}
		}
		if time.Now().After(deadline) {
			what := map[string]string{ServiceHealthy: "healthy", ServiceCompleted: "completed"}[cond]
			if what == "" {
				what = "running"
			}
			why := fmt.Sprintf("never became %s within %s", what, st.cfg.timeout)
			if cond == ServiceHealthy && lastCheck != "" {
				why += fmt.Sprintf(" (its health check: %s)", clip(lastCheck, 160))
			}
			return fail(why)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Network is the stack's network, for the target to join.
func (st *Stack) Network() string { return st.network }

// TargetOptions are the options of the target container in this stack:
// its compose settings (volumes made this stack's) and the network with
// its aliases. rc is the target's run configuration as the run merged it
// (the compose file's, then the user's options).
func (st *Stack) TargetOptions(rc probe.RunConfig) []probe.Option {
	t := st.p.Target
	t.Run = rc
	return []probe.Option{
		probe.WithRunConfig(st.runConfig(t)),
		probe.WithNetwork(st.network, t.Aliases...),
	}
}

// Down removes the stack's containers (last started first), its volumes
// and its network. It keeps working after ctx is cancelled.
func (st *Stack) Down(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for i := len(st.started) - 1; i >= 0; i-- {
		if err := st.started[i].Remove(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, v := range st.volumes {
		if err := st.eng.RemoveVolume(ctx, v); err != nil {
			errs = append(errs, err)
		}
	}
	if st.network != "" {
		if err := st.eng.RemoveNetwork(ctx, st.network); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// clip keeps the first line of s, at most n bytes of it.
func clip(s string, n int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
