package pipeline

import (
	"strings"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/rebuild"
	"github.com/whittle-dev/whittle/report"
)

// recordRunConfig puts the user's run configuration into the report
// (variables by name only) once the run starts.
func (s *session) recordRunConfig() {
	cfg := s.run.cfg
	rc := cfg.Run
	if rc.IsZero() && cfg.Compose == "" {
		return
	}
	out := &report.RunConfig{
		Entrypoint: rc.Entrypoint, Cmd: rc.Cmd, User: rc.User, WorkingDir: rc.WorkingDir,
		Baked: cfg.BakeRunConfig, Compose: cfg.Compose, Service: cfg.Service,
	}
	seen := map[string]bool{}
	for _, kv := range rc.Env {
		k, _, _ := strings.Cut(kv, "=")
		if !seen[k] {
			seen[k] = true
			out.Env = append(out.Env, k)
		}
	}
	for _, m := range rc.Mounts {
		rm := report.Mount{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly, Kind: "bind",
			Note: "nothing beneath " + m.Target + " is in the minimal image: mount it there when running it"}
		switch {
		case m.Tmpfs:
			rm.Kind = "tmpfs"
		case m.Volume:
			rm.Kind = "volume"
		}
		out.Mounts = append(out.Mounts, rm)
	}
	s.rep.RunConfig = out
}

// noteRunConfig records what the build did with the run configuration.
func (s *session) noteRunConfig(res *rebuild.Result) {
	rc := s.rep.RunConfig
	if rc == nil {
		return
	}
	rc.MountExcluded = res.MountExcluded
	rc.Baked = res.Baked
	if n := len(res.MountExcluded); n > 0 {
		s.run.logf(event.LevelInfo, "rebuild: %d path(s) the target used beneath mount points left out of the minimal image (%s)",
			n, strings.Join(firstN(res.MountExcluded, 3), ", "))
	}
}

func firstN(xs []string, n int) []string {
	if len(xs) > n {
		return append(append([]string{}, xs[:n]...), "...")
	}
	return xs
}

// warnWidening says, once, what the user asked for that reaches beyond
// the default confinement: host paths mounted into the target or its
// companions (a writable one lets them change host files), root as the
// target's user.
func (s *session) warnWidening() {
	r := s.run
	for _, m := range r.cfg.Run.Mounts {
		if !m.Volume && !m.Tmpfs {
			r.logf(event.LevelWarn, "host path %s is mounted into the target at %s (%s), as asked", m.Source, m.Target, accessOf(m.ReadOnly))
		}
	}
	if u := r.cfg.Run.User; u == "0" || u == "root" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		r.logf(event.LevelWarn, "the target runs as root (user %s), as asked", u)
	}
	if s.deps == nil {
		return
	}
	for _, d := range s.deps.proj.Deps {
		for _, m := range d.Run.Mounts {
			if !m.Volume && !m.Tmpfs {
				r.logf(event.LevelWarn, "host path %s is mounted into companion service %s at %s (%s), as the compose file says", m.Source, d.Name, m.Target, accessOf(m.ReadOnly))
			}
		}
	}
}

func accessOf(readOnly bool) string {
	if readOnly {
		return "read-only"
	}
	return "writable"
}
