package rebuild

import (
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// RunConfig is how the traced containers were started beyond their image's
// config: the user's command, user and working directory, and the paths
// covered by mounts.
type RunConfig struct {
	Entrypoint []string // nil: the image's
	Cmd        []string // nil: the image's
	User       string
	WorkingDir string
	Env        []string
	// Mounts are container paths mounts covered: nothing beneath them goes
	// into the minimal image (what the container read there came from the
	// host or a volume, not from the image).
	Mounts []string
}

// WithRunConfig tells the selection how the containers were run: the
// config heuristics consider the run's entrypoint, working directory and
// user as they do the image's, and paths beneath mount points are left out
// (Result.MountExcluded). With bake, the minimal image's config takes the
// run's entrypoint, command, user, working directory and environment;
// without it, the original image's config is kept as it is.
func WithRunConfig(rc RunConfig, bake bool) Option {
	return func(c *config) {
		c.run = rc
		c.bake = bake
		for _, m := range rc.Mounts {
			if m = path.Clean("/" + m); m != "/" {
				c.mounts = append(c.mounts, m)
			}
		}
	}
}

// underMount returns the mount point p is at or beneath, or "".
func (c *config) underMount(p string) string {
	for _, m := range c.mounts {
		if p == m || strings.HasPrefix(p, m+"/") {
			return m
		}
	}
	return ""
}

// runNeeds applies the config heuristics to the run's own settings.
func (s *selector) runNeeds() {
	rc := s.cfg.run
	if s.on(HeuristicConfig) {
		argv := rc.Entrypoint
		if len(argv) == 1 && argv[0] == "" {
			argv = nil
		}
		if len(argv) == 0 {
			argv = rc.Cmd
		}
		if len(argv) > 0 && argv[0] != "" {
			prog := argv[0]
			wd := rc.WorkingDir
			if wd == "" && s.fs.Config != nil {
				wd = s.fs.Config.Config.WorkingDir
			}
			if strings.Contains(prog, "/") && !strings.HasPrefix(prog, "/") {
				prog = path.Join("/", wd, prog)
			}
			if p := s.fs.LookPath(prog, envPath(append(append([]string{}, s.env...), rc.Env...))); p != "" {
				s.evidence(HeuristicConfig, "run entrypoint "+argv[0])
				_ = s.need(p, "config:run entrypoint", false)
			}
		}
		if rc.WorkingDir != "" {
			s.evidence(HeuristicConfig, "run working directory "+rc.WorkingDir)
			_ = s.need(rc.WorkingDir, "config:run working directory", false)
		}
	}
	if s.on(HeuristicUser) && userIsName(rc.User) {
		s.evidence(HeuristicUser, "run user "+rc.User+" is a name the engine resolves at start")
		for _, p := range []string{"/etc/passwd", "/etc/group"} {
			_ = s.need(p, "user:run user "+rc.User+" is a name", false)
		}
	}
}

// bakeConfig writes the run's settings into the image config.
func bakeConfig(cf *v1.ConfigFile, rc RunConfig) {
	c := &cf.Config
	if rc.Entrypoint != nil {
		c.Entrypoint = rc.Entrypoint
		if len(rc.Entrypoint) == 1 && rc.Entrypoint[0] == "" {
			c.Entrypoint = nil
		}
		if rc.Cmd == nil {
			c.Cmd = nil // as docker run --entrypoint: the image's command goes with its entrypoint
		}
	}
	if rc.Cmd != nil {
		c.Cmd = rc.Cmd
	}
	if rc.User != "" {
		c.User = rc.User
	}
	if rc.WorkingDir != "" {
		c.WorkingDir = rc.WorkingDir
	}
	if len(rc.Env) > 0 {
		c.Env = mergeEnv(c.Env, rc.Env)
	}
}

// mergeEnv is base with the variables of over added or replaced, sorted
// by name after base's own order.
func mergeEnv(base, over []string) []string {
	idx := map[string]int{}
	out := append([]string{}, base...)
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		idx[k] = i
	}
	var added []string
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = -1
		added = append(added, kv)
	}
	sort.Strings(added)
	return append(out, added...)
}
