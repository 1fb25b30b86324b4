package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/compose"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/verify"
)

// companions are the target's compose services: loaded before anything
// starts, started fresh beside every container of the target.
type companions struct {
	proj *compose.Project

	mu    sync.Mutex
	stats map[string]*report.Dependency
	ready map[string]time.Duration
	order []string
}

// loadCompose reads the compose file (bad input fails here, before the
// tracer or any container) and makes the service's settings the run's:
// its image when none was named, its environment, command and mounts
// (the user's options added on top), its port.
func (s *session) loadCompose(ctx context.Context) error {
	r := s.run
	proj, err := compose.Load(ctx, r.cfg.Compose, r.cfg.Service)
	if err != nil {
		return err
	}
	s.deps = &companions{proj: proj, stats: map[string]*report.Dependency{}, ready: map[string]time.Duration{}}
	for _, w := range proj.Warnings {
		r.logf(event.LevelWarn, "compose: %s", w)
	}
	if r.cfg.Image == "" {
		r.cfg.Image = proj.Target.Image
		s.rep.Original.Ref = r.cfg.Image
		r.ctr.update(func(p *event.Progress) { p.Image = r.cfg.Image })
	}
	if r.cfg.Port == 0 {
		r.cfg.Port = proj.Target.Port
	}
	// The compose file's credentials are the run's secrets too.
	r.secrets.AddSensitiveEnv(proj.Target.Run.Env)
	for _, d := range proj.Deps {
		r.secrets.AddSensitiveEnv(d.Run.Env)
	}
	r.cfg.Run = MergeRunConfig(proj.Target.Run, r.cfg.Run)
	for _, d := range proj.Deps {
		cond := compose.ServiceStarted
		for _, dep := range proj.Target.DependsOn {
			if dep.Service == d.Name {
				cond = dep.Condition
			}
		}
		s.deps.stats[d.Name] = &report.Dependency{Service: d.Name, Image: d.Image, Condition: cond, State: "not started"}
		s.deps.order = append(s.deps.order, d.Name)
	}
	return nil
}

// MergeRunConfig is the compose service's settings with the user's on top:
// variables and mounts added (the user's win), command, user and working
// directory replaced when the user gave them.
func MergeRunConfig(svc, user probe.RunConfig) probe.RunConfig {
	out := svc
	out.Env = append(append([]string{}, svc.Env...), user.Env...)
	out.Mounts = append(append([]probe.Mount{}, svc.Mounts...), user.Mounts...)
	if user.Entrypoint != nil {
		out.Entrypoint = user.Entrypoint
	}
	if user.Cmd != nil {
		out.Cmd = user.Cmd
	}
	if user.User != "" {
		out.User = user.User
	}
	if user.WorkingDir != "" {
		out.WorkingDir = user.WorkingDir
	}
	return out
}

// checkCompanionImages makes sure every companion's image exists before
// anything starts (whittle pulls nothing and changes no companion image).
func (s *session) checkCompanionImages(ctx context.Context) error {
	if s.deps == nil {
		return nil
	}
	for _, d := range s.deps.proj.Deps {
		if _, err := s.engine.Inspect(ctx, d.Image); err != nil {
			return fmt.Errorf("companion service %s: %w", d.Name, err)
		}
	}
	return nil
}

// withCompanions wraps a start of the target: its companions first (a
// fresh network, volumes and containers), then the target joined to them;
// removing the target removes its companions.
func (s *session) withCompanions(start func(extra []probe.Option) verify.StartFunc) verify.StartFunc {
	if s.deps == nil {
		return start(nil)
	}
	cfg := s.run.cfg
	return WithCompanions(s.engine, s.deps.proj, s.run.runID, cfg.Run, start,
		compose.WithObserver(s.observeCompanion), compose.WithTimeout(cfg.ReadyTimeout))
}

// WithCompanions is start (a start of the target given the options that
// join it to its companions) with the compose project's companions
// started fresh before each container of the target and removed with it.
// rc is the target's run configuration (the file's merged with the user's).
func WithCompanions(eng *probe.Engine, proj *compose.Project, runID string, rc probe.RunConfig,
	start func(extra []probe.Option) verify.StartFunc, opts ...compose.UpOption) verify.StartFunc {
	return func(ctx context.Context) (verify.Instance, error) {
		st, err := proj.Up(ctx, eng, runID, opts...)
		if err != nil {
			return nil, err
		}
		inst, err := start(st.TargetOptions(rc))(ctx)
		if inst == nil {
			return nil, errors.Join(err, st.Down(ctx))
		}
		return &withStack{Instance: inst, stack: st}, err
	}
}

// withStack is a target container with its companion services.
type withStack struct {
	verify.Instance
	stack *compose.Stack
}

func (w *withStack) Remove(ctx context.Context) error {
	return errors.Join(w.Instance.Remove(ctx), w.stack.Down(ctx))
}

// observeCompanion publishes a companion's state and keeps its statistics
// for the report.
func (s *session) observeCompanion(st compose.State) {
	c := s.deps
	c.mu.Lock()
	d := c.stats[st.Service]
	if d == nil {
		d = &report.Dependency{Service: st.Service, Image: st.Image, Condition: st.Condition}
		c.stats[st.Service] = d
		c.order = append(c.order, st.Service)
	}
	if st.State == "creating" {
		d.Starts++
	}
	if st.Ready > 0 {
		c.ready[st.Service] += st.Ready
		d.Ready = (c.ready[st.Service] / time.Duration(max(1, d.Starts))).Seconds()
	}
	d.State = st.State
	if st.State == "failed" {
		d.State = "failed: " + firstLine(st.Detail)
	}
	starts := d.Starts
	c.mu.Unlock()
	s.run.bus.Publish(event.Dependency{Stamp: event.Now(), Service: st.Service, Image: st.Image,
		State: st.State, Detail: s.run.secrets.Redact(firstLine(st.Detail)), Starts: starts})
}

// recordCompanions puts the companions into the report.
func (s *session) recordCompanions() {
	if s.deps == nil {
		return
	}
	c := s.deps
	c.mu.Lock()
	defer c.mu.Unlock()
	s.rep.Dependencies = s.rep.Dependencies[:0]
	for _, name := range c.order {
		d := *c.stats[name]
		d.Ready = float64(int64(d.Ready*1000)) / 1000
		s.rep.Dependencies = append(s.rep.Dependencies, d)
	}
}

// companionNames lists the companions for a phase's detail.
func (s *session) companionNames() string {
	if s.deps == nil || len(s.deps.proj.Deps) == 0 {
		return ""
	}
	var names []string
	for _, d := range s.deps.proj.Deps {
		names = append(names, d.Name)
	}
	sort.Strings(names)
	return " beside " + strings.Join(names, ", ")
}
