// Package probe inspects container images and runs them as fuzzing targets:
// it starts a container with its port published on 127.0.0.1 only, waits until
// it answers, sends HTTP requests to it, notices when it dies, and always
// removes it.
package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/whittle-dev/whittle/internal/remedy"
)

// Sentinel errors, checked with errors.Is by callers that map them to exit codes.
var (
	ErrNoEngine      = errors.New("no Docker engine answers")
	ErrImageNotFound = errors.New("image not found")
	ErrNoPort        = errors.New("image exposes no TCP port")
	ErrExited        = errors.New("target exited")
	ErrNotReady      = errors.New("target never became ready")
	ErrEngineAPI     = errors.New("unsupported Docker engine API version")
)

// Remedies of the errors above, in this package's words (*remedy.Error
// carries them); a command may say them with its own options.
const (
	FixStartEngine = "start dockerd"
	FixPort        = "name the port the service listens on"
	FixNotReady    = "name the port if the service listens on another one, or allow a longer ready timeout"
)

// MinAPIVersion is the oldest engine API whittle's calls are written for
// (Docker 19.03): older versions accept the calls but differ in meaning
// (container wait conditions, for one), which would show as false crashes.
const MinAPIVersion = "1.40"

// LabelRun marks every container whittle creates; its value is the run id.
const LabelRun = "dev.whittle.run"

// LabelOwner records the whittle process that owns a container (pid and start
// time), so a later run can tell leftovers of a dead run from a live run's.
const LabelOwner = "dev.whittle.owner"

// Engine is a connection to a Docker engine.
type Engine struct {
	cli *client.Client
}

// Connect reaches the engine named by the environment (DOCKER_HOST) or the
// default socket, negotiating the API version (engines here speak 1.41).
func Connect(ctx context.Context) (*Engine, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, remedy.New(fmt.Errorf("%w: %v", ErrNoEngine, err), FixStartEngine)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping, err := cli.Ping(pingCtx)
	if err != nil {
		_ = cli.Close()
		return nil, remedy.New(fmt.Errorf("%w at %s", ErrNoEngine, cli.DaemonHost()), FixStartEngine)
	}
	if err := checkAPIVersion(os.Getenv(client.EnvOverrideAPIVersion), ping.APIVersion, cli.DaemonHost()); err != nil {
		_ = cli.Close()
		return nil, err
	}
	return &Engine{cli: cli}, nil
}

var apiVersionRe = regexp.MustCompile(`^v?[0-9]+\.[0-9]+$`)

// checkAPIVersion refuses API versions whittle cannot work with: one forced
// with DOCKER_API_VERSION (the client then does not negotiate) that is
// malformed, older than MinAPIVersion or newer than the engine's, or an
// engine older than MinAPIVersion.
func checkAPIVersion(forced, engine, host string) error {
	const unset = "unset DOCKER_API_VERSION: whittle negotiates the version with the engine"
	if forced != "" {
		v := strings.TrimPrefix(forced, "v")
		switch {
		case !apiVersionRe.MatchString(forced):
			return fmt.Errorf("%w: DOCKER_API_VERSION=%q is not an API version such as %s (fix: %s)", ErrEngineAPI, forced, MinAPIVersion, unset)
		case versions.LessThan(v, MinAPIVersion):
			return fmt.Errorf("%w: DOCKER_API_VERSION=%s is older than whittle needs (%s or newer) (fix: %s)", ErrEngineAPI, forced, MinAPIVersion, unset)
		case engine != "" && versions.GreaterThan(v, engine):
			return fmt.Errorf("%w: DOCKER_API_VERSION=%s is newer than the engine at %s speaks (%s) (fix: %s)", ErrEngineAPI, forced, host, engine, unset)
		}
		return nil
	}
	if engine != "" && versions.LessThan(engine, MinAPIVersion) {
		return fmt.Errorf("%w: the engine at %s speaks API %s; whittle needs %s or newer (fix: upgrade Docker to 19.03 or later)", ErrEngineAPI, host, engine, MinAPIVersion)
	}
	return nil
}

// Client exposes the engine client to packages that need more of the API (rebuild).
func (e *Engine) Client() *client.Client { return e.cli }

// Close releases the connection.
func (e *Engine) Close() error { return e.cli.Close() }

// Image is what whittle needs to know of an image to run it.
type Image struct {
	Ref          string
	ID           string
	Size         int64
	Entrypoint   []string
	Cmd          []string
	Env          []string
	WorkingDir   string
	User         string
	ExposedPorts []string // "8080/tcp", sorted
}

// Inspect reads an image's configuration.
func (e *Engine) Inspect(ctx context.Context, ref string) (*Image, error) {
	info, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s (build or load it first; `docker images` lists what the engine has)", ErrImageNotFound, ref)
		}
		return nil, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	img := &Image{Ref: ref, ID: info.ID, Size: info.Size}
	if cfg := info.Config; cfg != nil {
		img.Entrypoint = cfg.Entrypoint
		img.Cmd = cfg.Cmd
		img.Env = cfg.Env
		img.WorkingDir = cfg.WorkingDir
		img.User = cfg.User
		for p := range cfg.ExposedPorts {
			img.ExposedPorts = append(img.ExposedPorts, p)
		}
		sort.Strings(img.ExposedPorts)
	}
	return img, nil
}

// Leftovers are what RemoveLeftovers removed.
type Leftovers struct {
	Containers, Networks, Volumes []string
}

// Empty reports whether nothing was removed.
func (l Leftovers) Empty() bool {
	return len(l.Containers)+len(l.Networks)+len(l.Volumes) == 0
}

// String says what was removed, for a log line: "2 container(s), 1 network(s)".
func (l Leftovers) String() string {
	var parts []string
	for _, x := range []struct {
		n    int
		what string
	}{{len(l.Containers), "container(s)"}, {len(l.Networks), "network(s)"}, {len(l.Volumes), "volume(s)"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.what))
		}
	}
	return strings.Join(parts, ", ")
}

// RemoveLeftovers removes the containers, networks and volumes created by
// earlier whittle runs whose owning process is gone (killed with SIGKILL,
// or a zombie its parent has not reaped yet), whatever their image. It
// goes on past what it cannot remove and returns the first such error
// with what it did remove.
func (e *Engine) RemoveLeftovers(ctx context.Context) (Leftovers, error) {
	return e.removeLabelled(ctx, filters.NewArgs(filters.Arg("label", LabelRun)), func(labels map[string]string) bool {
		return !ownerAlive(labels[LabelOwner])
	})
}

// RemoveRun removes every container, network and volume labelled with
// runID, whatever holds it. A run calls it last, so that a step that failed
// (or panicked) between creating a container and handing it over leaves
// nothing behind.
func (e *Engine) RemoveRun(ctx context.Context, runID string) (Leftovers, error) {
	return e.removeLabelled(ctx, filters.NewArgs(filters.Arg("label", LabelRun+"="+runID)), func(map[string]string) bool { return true })
}

// removeLabelled removes what byLabel lists and remove accepts: containers
// first, then the networks and volumes they used. It goes on past what it
// cannot remove and returns the first such error with what it did remove.
func (e *Engine) removeLabelled(ctx context.Context, byLabel filters.Args, remove func(labels map[string]string) bool) (Leftovers, error) {
	var out Leftovers
	var errs []error
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: byLabel})
	if err != nil {
		return out, fmt.Errorf("listing leftover containers: %w", err)
	}
	for _, c := range list {
		if !remove(c.Labels) {
			continue
		}
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing leftover container %s: %w", shortID(c.ID), err))
			continue
		}
		out.Containers = append(out.Containers, c.ID)
	}
	nets, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: byLabel})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing leftover networks: %w", err))
	}
	for _, n := range nets {
		if !remove(n.Labels) {
			continue
		}
		if err := e.cli.NetworkRemove(ctx, n.ID); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing leftover network %s: %w", n.Name, err))
			continue
		}
		out.Networks = append(out.Networks, n.Name)
	}
	vols, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: byLabel})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing leftover volumes: %w", err))
	}
	for _, v := range vols.Volumes {
		if v == nil || !remove(v.Labels) {
			continue
		}
		if err := e.cli.VolumeRemove(ctx, v.Name, true); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("removing leftover volume %s: %w", v.Name, err))
			continue
		}
		out.Volumes = append(out.Volumes, v.Name)
	}
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
