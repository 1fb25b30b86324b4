package probe

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/internal/loopback"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/internal/remedy"
)

// Option configures how a target is run.
type Option func(*runConfig)

type runConfig struct {
	port         string // "8080/tcp"
	readyPath    string
	readyTimeout time.Duration
	reqTimeout   time.Duration
	maxBody      int64
	runID        string
	owner        string
	name         string
	env          []string
	securityOpt  []string
	run          RunConfig
	network      string   // a network of the run to join instead of the default bridge
	aliases      []string // names the container answers to on that network
	noPort       bool     // a companion service: nothing published, no HTTP
	health       *container.HealthConfig
	labels       map[string]string
	mounts       []mount.Mount // WithInstrumentationDir's read-only directories, nothing else
}

// WithPort publishes the given container port instead of the image's exposed one.
func WithPort(port int) Option {
	return func(c *runConfig) { c.port = strconv.Itoa(port) + "/tcp" }
}

// WithReadyPath sets the HTTP path polled for readiness (any HTTP answer counts).
func WithReadyPath(path string) Option { return func(c *runConfig) { c.readyPath = path } }

// WithReadyTimeout bounds the wait for the first HTTP answer.
func WithReadyTimeout(d time.Duration) Option { return func(c *runConfig) { c.readyTimeout = d } }

// WithRequestTimeout bounds each request sent to the target.
func WithRequestTimeout(d time.Duration) Option { return func(c *runConfig) { c.reqTimeout = d } }

// WithMaxBody caps how much of an answer's body is read (default
// limits.AnswerBodyBytes).
func WithMaxBody(n int64) Option { return func(c *runConfig) { c.maxBody = n } }

// WithRun labels the container with the run id; the owner is this process.
func WithRun(runID string) Option {
	return func(c *runConfig) { c.runID = runID }
}

// withOwnerPID makes another process the owner (tests of leftover removal).
func withOwnerPID(pid int) Option {
	return func(c *runConfig) { c.owner = ownerToken(pid) }
}

// WithName names the container (the engine picks one otherwise).
func WithName(name string) Option { return func(c *runConfig) { c.name = name } }

// WithSeccompProfile runs the container under a seccomp profile given as
// JSON (the engine API takes the profile's content, not a file name).
func WithSeccompProfile(profileJSON []byte) Option {
	return func(c *runConfig) { c.securityOpt = append(c.securityOpt, "seccomp="+string(profileJSON)) }
}

// WithEnv adds environment variables (KEY=VALUE) to the image's own.
func WithEnv(env ...string) Option { return func(c *runConfig) { c.env = append(c.env, env...) } }

// WithRunConfig starts the container with the user's run configuration
// (environment, mounts, entrypoint, command, user, working directory).
func WithRunConfig(rc RunConfig) Option { return func(c *runConfig) { c.run = rc } }

// WithNetwork attaches the container to a network of the run (CreateNetwork)
// under the given aliases; its port, if any, is still published on
// 127.0.0.1 only.
func WithNetwork(name string, aliases ...string) Option {
	return func(c *runConfig) { c.network, c.aliases = name, aliases }
}

// WithoutPort makes a companion container (a database beside the target):
// no port is published and none is required; Start does not look for one.
func WithoutPort() Option { return func(c *runConfig) { c.noPort = true } }

// WithHealthcheck replaces the image's health check (Test ["NONE"]
// disables it).
func WithHealthcheck(h *container.HealthConfig) Option { return func(c *runConfig) { c.health = h } }

// WithLabel adds a label to the container (whittle's own labels win).
func WithLabel(key, value string) Option {
	return func(c *runConfig) {
		if c.labels == nil {
			c.labels = map[string]string{}
		}
		c.labels[key] = value
	}
}

// Target is a running container of an image, reachable on 127.0.0.1.
type Target struct {
	engine *Engine
	cfg    runConfig

	ID       string
	Image    *Image
	Port     string // container port, "8080/tcp"
	HostPort int
	BaseURL  string // http://127.0.0.1:HOSTPORT
	Pid      int    // host pid of the container's init process

	client *http.Client
	// fresh opens a connection per request; freshOnly makes Send use it
	// (UseFreshConnections).
	fresh     *http.Client
	freshOnly atomic.Bool

	exitOnce sync.Once
	exited   chan struct{}
	exitCode int64

	removeOnce sync.Once
	removeErr  error
}

// Create makes (but does not start) a container of img with its port published
// on 127.0.0.1 at a free port and default capabilities.
func (e *Engine) Create(ctx context.Context, img *Image, opts ...Option) (*Target, error) {
	cfg := runConfig{
		readyPath:    "/",
		readyTimeout: 60 * time.Second,
		reqTimeout:   10 * time.Second,
		maxBody:      limits.AnswerBodyBytes.Value,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var port string
	if !cfg.noPort {
		var err error
		if port, err = choosePort(img, cfg.port); err != nil {
			return nil, err
		}
	}
	if cfg.owner == "" {
		cfg.owner = ownerToken(os.Getpid())
	}
	labels := map[string]string{}
	for k, v := range cfg.labels {
		labels[k] = v
	}
	labels[LabelRun], labels[LabelOwner] = cfg.runID, cfg.owner
	rc := cfg.run
	ccfg := &container.Config{
		Image:       img.ID,
		Env:         append(append([]string{}, rc.Env...), cfg.env...),
		Labels:      labels,
		Entrypoint:  rc.Entrypoint,
		Cmd:         rc.Cmd,
		User:        rc.User,
		WorkingDir:  rc.WorkingDir,
		Healthcheck: cfg.health,
	}
	hcfg := &container.HostConfig{
		// No restart policy: a crash must stay visible as a crash.
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		SecurityOpt:   cfg.securityOpt,
		Mounts:        append(engineMounts(rc.Mounts), cfg.mounts...),
	}
	if port != "" {
		ccfg.ExposedPorts = nat.PortSet{nat.Port(port): struct{}{}}
		hcfg.PortBindings = nat.PortMap{nat.Port(port): []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: ""}}}
	}
	var ncfg *network.NetworkingConfig
	if cfg.network != "" {
		hcfg.NetworkMode = container.NetworkMode(cfg.network)
		ncfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			cfg.network: {Aliases: cfg.aliases},
		}}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The request is not cancelled half-way: the engine may create the
	// container anyway, and whittle would not know its id to remove it.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	created, err := e.cli.ContainerCreate(createCtx, ccfg, hcfg, ncfg, nil, cfg.name)
	if err != nil {
		return nil, fmt.Errorf("creating container of %s: %w", img.Ref, err)
	}
	t := &Target{engine: e, cfg: cfg, ID: created.ID, Image: img, Port: port, exited: make(chan struct{}), exitCode: -1}
	t.client = loopback.NewClient(cfg.reqTimeout)
	t.fresh = loopback.NewClient(cfg.reqTimeout, loopback.WithoutKeepAlive())
	if err := ctx.Err(); err != nil {
		_ = t.Remove(ctx)
		return nil, err
	}
	return t, nil
}

func choosePort(img *Image, want string) (string, error) {
	if want != "" {
		return want, nil
	}
	for _, p := range img.ExposedPorts {
		if strings.HasSuffix(p, "/tcp") {
			return p, nil
		}
	}
	return "", remedy.New(fmt.Errorf("%w: %s", ErrNoPort, img.Ref), FixPort)
}

// Start starts the container, learns its published port and init pid, and
// begins watching for its exit.
func (t *Target) Start(ctx context.Context) error {
	cli := t.engine.cli
	// Registered before the start so that an immediate exit is not missed.
	waitCtx, cancelWait := context.WithCancel(context.WithoutCancel(ctx))
	waitCh, errCh := cli.ContainerWait(waitCtx, t.ID, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, t.ID, container.StartOptions{}); err != nil {
		cancelWait()
		return fmt.Errorf("starting container %s: %w", shortID(t.ID), err)
	}
	go func() {
		defer panics.Catch(string(faults.ContainerWatch), nil)
		defer cancelWait()
		_ = faults.At(faults.ContainerWatch)
		select {
		case res := <-waitCh:
			t.markExited(res.StatusCode)
		case <-errCh:
			// The watch itself failed (engine gone, container removed): ask directly.
			if info, err := cli.ContainerInspect(context.Background(), t.ID); err == nil && info.State != nil && !info.State.Running {
				t.markExited(int64(info.State.ExitCode))
			}
		}
	}()
	info, err := cli.ContainerInspect(ctx, t.ID)
	if err != nil {
		return fmt.Errorf("inspecting container %s: %w", shortID(t.ID), err)
	}
	if info.State != nil {
		t.Pid = info.State.Pid
	}
	if t.cfg.noPort {
		return nil
	}
	if info.NetworkSettings != nil {
		for _, b := range info.NetworkSettings.Ports[nat.Port(t.Port)] {
			if b.HostIP == "127.0.0.1" {
				t.HostPort, _ = strconv.Atoi(b.HostPort)
			}
		}
	}
	if t.HostPort == 0 {
		if info.State != nil && !info.State.Running {
			// It exited before its port was published: wait for the
			// watcher to learn its status, for the error to tell it.
			select {
			case <-t.exited:
			case <-time.After(5 * time.Second):
			}
		}
		if t.Exited() {
			return t.exitError(ctx, "during start-up")
		}
		return fmt.Errorf("container %s: port %s was not published on 127.0.0.1", shortID(t.ID), t.Port)
	}
	t.BaseURL = "http://127.0.0.1:" + strconv.Itoa(t.HostPort)
	return nil
}

func (t *Target) markExited(code int64) {
	t.exitOnce.Do(func() {
		t.exitCode = code
		close(t.exited)
	})
}

// URL is BaseURL, for interfaces that hold a target (verify.Instance).
func (t *Target) URL() string { return t.BaseURL }

// Exited reports whether the container has stopped since it was started.
func (t *Target) Exited() bool {
	select {
	case <-t.exited:
		return true
	default:
		return false
	}
}

// Done is closed when the container stops.
func (t *Target) Done() <-chan struct{} { return t.exited }

// ExitCode is the container's exit status, or -1 while it runs.
func (t *Target) ExitCode() int64 {
	if !t.Exited() {
		return -1
	}
	return t.exitCode
}

func (t *Target) exitError(ctx context.Context, when string) error {
	logs, _ := t.Logs(context.WithoutCancel(ctx), 10)
	msg := fmt.Sprintf("%v %s with status %d", ErrExited, when, t.ExitCode())
	if logs = strings.TrimSpace(logs); logs != "" {
		msg += "; last log lines:\n" + indent(logs, "    ")
	}
	return &targetError{msg: msg, err: ErrExited}
}

// WaitReady polls the target until any HTTP answer comes back. It fails early
// with ErrExited (and the last log lines) if the container stops, and with
// ErrNotReady after the ready timeout.
func (t *Target) WaitReady(ctx context.Context) error {
	deadline := time.Now().Add(t.cfg.readyTimeout)
	probe := &http.Client{Timeout: 2 * time.Second, Transport: t.client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for {
		if t.Exited() {
			return t.exitError(ctx, "during start-up")
		}
		// docker-proxy accepts TCP connections before the app listens, so only
		// an HTTP answer proves readiness.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.BaseURL+t.cfg.readyPath, nil)
		if err != nil {
			return fmt.Errorf("readiness request: %w", err)
		}
		if resp, err := probe.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			logs, _ := t.Logs(context.WithoutCancel(ctx), 10)
			e := remedy.New(fmt.Errorf("%w: no HTTP answer on %s%s within %s", ErrNotReady, t.BaseURL, t.cfg.readyPath, t.cfg.readyTimeout), FixNotReady)
			if logs = strings.TrimSpace(logs); logs != "" {
				e.Detail = "; last log lines:\n" + indent(logs, "    ")
			}
			return e
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Logs returns the last n lines of the container's stdout and stderr.
func (t *Target) Logs(ctx context.Context, n int) (string, error) {
	rc, err := t.engine.cli.ContainerLogs(ctx, t.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return "", fmt.Errorf("reading logs of %s: %w", shortID(t.ID), err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return out.String(), fmt.Errorf("reading logs of %s: %w", shortID(t.ID), err)
	}
	return out.String(), nil
}

// Remove force-removes the container. It is safe to call more than once and
// keeps working after ctx is cancelled (cleanup on Ctrl-C).
func (t *Target) Remove(ctx context.Context) error {
	t.removeOnce.Do(func() {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		err := t.engine.cli.ContainerRemove(rmCtx, t.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !errdefs.IsNotFound(err) {
			t.removeErr = fmt.Errorf("removing container %s: %w", shortID(t.ID), err)
		}
		t.client.CloseIdleConnections()
	})
	return t.removeErr
}

type targetError struct {
	msg string
	err error
}

func (e *targetError) Error() string { return e.msg }
func (e *targetError) Unwrap() error { return e.err }

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}
