// Package compose runs a service of a compose file the way whittle needs
// it: the file is read with the compose specification's own loader
// (interpolation, .env, profiles, extends), and every container of the
// target gets companion services of its own — a private network, fresh
// volumes, the services it depends on started through the Engine API in
// depends_on order and waited for as their conditions say. No docker
// compose command is needed, and no image of a companion is changed.
package compose

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"

	"github.com/whittle-dev/whittle/internal/remedy"
	"github.com/whittle-dev/whittle/probe"
)

// Errors of Load, for errors.Is.
var (
	ErrBadFile   = errors.New("compose file cannot be used")
	ErrNoService = errors.New("no such service")
	ErrNoImage   = errors.New("service has no image")
	ErrWidens    = errors.New("service asks for more than default confinement")
)

// Remedies, in this package's words.
const (
	FixFile    = "correct the compose file"
	FixService = "name one of the file's services"
	FixImage   = "build the image and name it in the service's image key: whittle runs images, it builds none"
	FixWidens  = "remove it from the service: whittle runs every container with the engine's default confinement"
)

// Conditions of depends_on.
const (
	ServiceStarted   = "service_started"
	ServiceHealthy   = "service_healthy"
	ServiceCompleted = "service_completed_successfully"
)

// Project is a compose file read for one target service.
type Project struct {
	File string
	Name string
	// Target is the service to whittle; Deps are the services it depends
	// on, directly or not, in an order that starts dependencies first.
	Target Service
	Deps   []Service
	// Warnings name settings whittle does not apply (restart policies,
	// published ports of companions, resource limits, ...).
	Warnings []string
}

// Service is one service as whittle starts it.
type Service struct {
	Name  string
	Image string
	// Run holds the service's environment, mounts (named volumes by their
	// key in the file; each start gets fresh ones), entrypoint, command,
	// user and working directory.
	Run probe.RunConfig
	// Aliases are the names the service answers to on the network: its
	// name, its aliases, its container name and hostname, link aliases.
	Aliases []string
	Health  *container.HealthConfig
	// DependsOn are its depends_on entries, sorted by service.
	DependsOn []Dependency
	// Port is the first container TCP port of ports or expose (0: none).
	Port int
	// volumes are the project volumes it mounts (key in the file): fresh
	// for each start unless external.
	volumes map[string]bool
}

// Dependency is one depends_on entry.
type Dependency struct {
	Service   string
	Condition string
	Required  bool
}

// Load reads file (with the .env file beside it and the environment for
// interpolation) and prepares service for starting. Every profile is
// active: naming a service is enough to use it.
func Load(ctx context.Context, file, service string) (*Project, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		return nil, remedy.New(fmt.Errorf("%w: %s: %v", ErrBadFile, file, oneLine(err)), FixFile)
	}
	var proj *types.Project
	warnings := collectWarnings(func() { proj, err = opts.LoadProject(ctx) })
	if err != nil {
		return nil, remedy.New(fmt.Errorf("%w: %s: %v", ErrBadFile, file, oneLine(err)), FixFile)
	}
	if _, ok := proj.Services[service]; !ok {
		names := proj.ServiceNames()
		sort.Strings(names)
		return nil, remedy.New(fmt.Errorf("%w %q in %s (its services: %s)", ErrNoService, service, file, strings.Join(names, ", ")), FixService)
	}
	p := &Project{File: file, Name: proj.Name, Warnings: warnings}
	conv := converter{proj: proj, p: p}
	p.Target, err = conv.service(service)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{service: true}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		svc := proj.Services[name]
		deps := make([]string, 0, len(svc.DependsOn))
		for d := range svc.DependsOn {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, d := range deps {
			for _, q := range path {
				if q == d {
					return remedy.New(fmt.Errorf("%w: %s: depends_on cycle %s -> %s", ErrBadFile, file, strings.Join(path, " -> "), d), FixFile)
				}
			}
			if seen[d] {
				continue
			}
			if _, ok := proj.Services[d]; !ok {
				if !svc.DependsOn[d].Required {
					continue
				}
				return remedy.New(fmt.Errorf("%w: %s: service %s depends on %s, which the file does not define", ErrBadFile, file, name, d), FixFile)
			}
			if err := visit(d, append(path, d)); err != nil {
				return err
			}
			seen[d] = true
			dep, err := conv.service(d)
			if err != nil {
				return err
			}
			p.Deps = append(p.Deps, dep)
		}
		return nil
	}
	if err := visit(service, []string{service}); err != nil {
		return nil, err
	}
	return p, nil
}

// Images lists the images of the target's companion services.
func (p *Project) Images() []string {
	var out []string
	for _, d := range p.Deps {
		out = append(out, d.Image)
	}
	return out
}

type converter struct {
	proj *types.Project
	p    *Project
}

func (c converter) warn(format string, args ...any) {
	c.p.Warnings = append(c.p.Warnings, fmt.Sprintf(format, args...))
}

func (c converter) service(name string) (Service, error) {
	svc := c.proj.Services[name]
	s := Service{Name: name, Image: svc.Image, volumes: map[string]bool{}}
	if s.Image == "" {
		return s, remedy.New(fmt.Errorf("%w: %s in %s", ErrNoImage, name, c.p.File), FixImage)
	}
	if err := c.confined(name, svc); err != nil {
		return s, err
	}
	var env []string
	for k, v := range svc.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	sort.Strings(env)
	s.Run.Env = env
	if svc.Entrypoint != nil {
		s.Run.Entrypoint = append([]string{}, svc.Entrypoint...)
		if len(s.Run.Entrypoint) == 0 {
			s.Run.Entrypoint = []string{""}
		}
	}
	if svc.Command != nil {
		s.Run.Cmd = append([]string{}, svc.Command...)
	}
	s.Run.User, s.Run.WorkingDir = svc.User, svc.WorkingDir
	for _, v := range svc.Volumes {
		m := probe.Mount{Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeBind:
			m.Source = v.Source
		case types.VolumeTypeVolume:
			m.Volume = true
			if v.Source != "" {
				if vc, ok := c.proj.Volumes[v.Source]; ok && bool(vc.External) {
					m.Source = vc.Name
					if m.Source == "" {
						m.Source = v.Source
					}
				} else {
					m.Source = v.Source
					s.volumes[v.Source] = true
				}
			}
		case types.VolumeTypeTmpfs:
			m.Tmpfs = true
		default:
			c.warn("service %s: volume of type %s on %s is not supported: left out", name, v.Type, v.Target)
			continue
		}
		s.Run.Mounts = append(s.Run.Mounts, m)
	}
	for _, t := range svc.Tmpfs {
		target, _, _ := strings.Cut(t, ":")
		s.Run.Mounts = append(s.Run.Mounts, probe.Mount{Target: target, Tmpfs: true})
	}
	s.Aliases = c.aliases(name, svc)
	s.Health = health(svc.HealthCheck)
	for d, dep := range svc.DependsOn {
		cond := dep.Condition
		if cond == "" {
			cond = ServiceStarted
		}
		s.DependsOn = append(s.DependsOn, Dependency{Service: d, Condition: cond, Required: dep.Required})
	}
	sort.Slice(s.DependsOn, func(i, j int) bool { return s.DependsOn[i].Service < s.DependsOn[j].Service })
	for _, pc := range svc.Ports {
		if pc.Protocol == "" || pc.Protocol == "tcp" {
			s.Port = int(pc.Target)
			break
		}
	}
	if s.Port == 0 {
		for _, e := range svc.Expose {
			port, proto, _ := strings.Cut(e, "/")
			if n, err := strconv.Atoi(port); err == nil && (proto == "" || proto == "tcp") {
				s.Port = n
				break
			}
		}
	}
	if svc.Restart != "" && svc.Restart != "no" {
		c.warn("service %s: restart %s is not applied (a crash must stay visible)", name, svc.Restart)
	}
	return s, nil
}

// confined refuses what would widen a container's confinement.
func (c converter) confined(name string, svc types.ServiceConfig) error {
	var asks []string
	if svc.Privileged {
		asks = append(asks, "privileged")
	}
	if len(svc.CapAdd) > 0 {
		asks = append(asks, "cap_add "+strings.Join(svc.CapAdd, ","))
	}
	if len(svc.Devices) > 0 {
		asks = append(asks, "devices")
	}
	if len(svc.SecurityOpt) > 0 {
		asks = append(asks, "security_opt "+strings.Join(svc.SecurityOpt, ","))
	}
	if svc.NetworkMode != "" {
		asks = append(asks, "network_mode "+svc.NetworkMode)
	}
	for key, v := range map[string]string{"pid": svc.Pid, "ipc": svc.Ipc, "uts": svc.Uts, "userns_mode": svc.UserNSMode, "cgroup": svc.Cgroup} {
		if v == "host" {
			asks = append(asks, key+" host")
		}
	}
	if svc.UseAPISocket {
		asks = append(asks, "use_api_socket")
	}
	if len(asks) == 0 {
		return nil
	}
	sort.Strings(asks)
	return remedy.New(fmt.Errorf("%w: service %s in %s asks for %s", ErrWidens, name, c.p.File, strings.Join(asks, "; ")), FixWidens)
}

func (c converter) aliases(name string, svc types.ServiceConfig) []string {
	set := map[string]bool{name: true}
	for _, n := range svc.Networks {
		if n == nil {
			continue
		}
		for _, a := range n.Aliases {
			set[a] = true
		}
	}
	for _, x := range []string{svc.ContainerName, svc.Hostname} {
		if x != "" {
			set[x] = true
		}
	}
	// A service linked as "db:database" by another answers to database too.
	for _, other := range c.proj.Services {
		for _, l := range other.Links {
			svcName, alias, ok := strings.Cut(l, ":")
			if svcName == name && ok && alias != "" {
				set[alias] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func health(h *types.HealthCheckConfig) *container.HealthConfig {
	if h == nil {
		return nil
	}
	if h.Disable {
		return &container.HealthConfig{Test: []string{"NONE"}}
	}
	out := &container.HealthConfig{Test: h.Test}
	dur := func(d *types.Duration) time.Duration {
		if d == nil {
			return 0
		}
		return time.Duration(*d)
	}
	out.Interval, out.Timeout, out.StartPeriod = dur(h.Interval), dur(h.Timeout), dur(h.StartPeriod)
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out
}

// oneLine keeps the first line of a loader's message: the one that says
// what is wrong and where.
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
