package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/mount"

	"github.com/whittle-dev/whittle/internal/remedy"
)

// RunConfig is how the containers of a run are started beyond what their
// image says: the user's environment, mounts and command. Every container
// of a run (the traced one, the reference replays', the spare and the
// minimal image's) gets the same.
type RunConfig struct {
	// Env is added to the image's environment (KEY=VALUE; later ones win).
	Env []string
	// Mounts are host paths or named volumes mounted into the container.
	Mounts []Mount
	// Entrypoint and Cmd replace the image's when not nil; an Entrypoint of
	// one empty string clears the image's (as docker run --entrypoint "").
	Entrypoint []string
	Cmd        []string
	// User and WorkingDir replace the image's when not empty.
	User       string
	WorkingDir string
}

// IsZero reports whether rc changes nothing of the image's config.
func (rc RunConfig) IsZero() bool {
	return len(rc.Env) == 0 && len(rc.Mounts) == 0 && rc.Entrypoint == nil && rc.Cmd == nil && rc.User == "" && rc.WorkingDir == ""
}

// MountTargets are the paths inside the container that mounts cover.
func (rc RunConfig) MountTargets() []string {
	out := make([]string, 0, len(rc.Mounts))
	for _, m := range rc.Mounts {
		out = append(out, m.Target)
	}
	return out
}

// Mount is one mount of a container.
type Mount struct {
	// Source is an absolute host path, or a volume's name when Volume is
	// set (empty: a volume of the container's own, removed with it).
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
	Volume   bool   `json:"volume,omitempty"`
	// Tmpfs is a memory file system (Source unused).
	Tmpfs bool `json:"tmpfs,omitempty"`
}

func (m Mount) String() string {
	s := m.Source + ":" + m.Target
	switch {
	case m.Tmpfs:
		s = "tmpfs:" + m.Target
	case m.Volume && m.Source == "":
		s = "volume:" + m.Target
	}
	if m.ReadOnly {
		s += ":ro"
	}
	return s
}

// Errors of the run configuration, for errors.Is.
var (
	ErrBadMount    = errors.New("bad mount")
	ErrNoSuchMount = errors.New("mount source does not exist")
	ErrBadEnv      = errors.New("bad environment variable")
)

// Remedies of those errors, in this package's words.
const (
	FixMountSyntax = "write a mount as SOURCE:TARGET or SOURCE:TARGET:ro, SOURCE a host path or a volume name and TARGET an absolute path in the container"
	FixMountSource = "create the file or directory, or correct the path"
	FixEnvSyntax   = "write each variable as NAME=VALUE"
)

var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ParseMount reads SOURCE:TARGET[:ro|:rw]. A SOURCE starting with "/", "."
// or "~" is a host path (made absolute from the working directory; "~/"
// is the home directory), anything else names a volume. The host path is
// not checked here: CheckMounts does.
func ParseMount(s string) (Mount, error) {
	bad := func(why string) (Mount, error) {
		return Mount{}, remedy.New(fmt.Errorf("%w %q: %s", ErrBadMount, s, why), FixMountSyntax)
	}
	parts := strings.Split(s, ":")
	var m Mount
	switch len(parts) {
	case 2:
	case 3:
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return bad(fmt.Sprintf("unknown mode %q (ro or rw)", parts[2]))
		}
	default:
		return bad("want SOURCE:TARGET[:ro]")
	}
	src, dst := parts[0], parts[1]
	switch {
	case src == "":
		return bad("no source")
	case !strings.HasPrefix(dst, "/"):
		return bad(fmt.Sprintf("target %q is not an absolute path", dst))
	case filepath.Clean(dst) == "/":
		return bad("cannot mount over /")
	}
	m.Target = filepath.Clean(dst)
	switch {
	case strings.HasPrefix(src, "~/") || src == "~":
		home, err := os.UserHomeDir()
		if err != nil {
			return bad("no home directory for ~")
		}
		src = filepath.Join(home, strings.TrimPrefix(src, "~"))
		fallthrough
	case strings.HasPrefix(src, "/") || strings.HasPrefix(src, "."):
		abs, err := filepath.Abs(src)
		if err != nil {
			return bad(err.Error())
		}
		m.Source = abs
	case volumeName.MatchString(src):
		m.Source, m.Volume = src, true
	default:
		return bad(fmt.Sprintf("%q is neither a path nor a volume name", src))
	}
	return m, nil
}

// CheckMounts makes sure every host path to mount exists, before any
// container starts: the engine would otherwise create an empty directory
// there (as root) and the service would fail in a less clear way.
func CheckMounts(ms []Mount) error {
	for _, m := range ms {
		if m.Volume || m.Tmpfs {
			continue
		}
		if _, err := os.Stat(m.Source); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return remedy.New(fmt.Errorf("%w: %s (to mount on %s)", ErrNoSuchMount, m.Source, m.Target), FixMountSource)
			}
			return fmt.Errorf("mount source %s: %w", m.Source, err)
		}
	}
	return nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// ParseEnv checks one NAME=VALUE.
func ParseEnv(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", remedy.New(fmt.Errorf("%w %q: no '='", ErrBadEnv, s), FixEnvSyntax)
	}
	if !envName.MatchString(name) {
		return "", "", remedy.New(fmt.Errorf("%w: %q is not a variable name", ErrBadEnv, clip(name, 40)), FixEnvSyntax)
	}
	return name, value, nil
}

// ParseEnvFile reads an environment file as docker run --env-file does:
// one NAME=VALUE per line, the value taken verbatim (no quotes removed),
// blank lines and lines starting with # ignored. Unlike docker, a line
// without '=' is an error (docker would take the value from whittle's own
// environment, which a run must not depend on silently). name is used in
// errors.
func ParseEnvFile(name string, data []byte) ([]string, error) {
	var env []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		k, v, ok := strings.Cut(trimmed, "=")
		if !ok {
			return nil, remedy.New(fmt.Errorf("%w: %s:%d: %q has no '='", ErrBadEnv, name, i+1, clip(trimmed, 40)), FixEnvSyntax)
		}
		k = strings.TrimRight(k, " \t")
		if !envName.MatchString(k) {
			return nil, remedy.New(fmt.Errorf("%w: %s:%d: %q is not a variable name", ErrBadEnv, name, i+1, clip(k, 40)), FixEnvSyntax)
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// engineMounts turns mounts into the engine's form.
func engineMounts(ms []Mount) []mount.Mount {
	var out []mount.Mount
	for _, m := range ms {
		em := mount.Mount{Target: m.Target, ReadOnly: m.ReadOnly}
		switch {
		case m.Tmpfs:
			em.Type = mount.TypeTmpfs
		case m.Volume:
			em.Type, em.Source = mount.TypeVolume, m.Source
		default:
			em.Type, em.Source = mount.TypeBind, m.Source
		}
		out = append(out, em)
	}
	return out
}
