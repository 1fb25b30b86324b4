package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/spf13/pflag"
)

// The target is hostile input's first victim and whittle runs as root: it
// must run confined as Docker confines any container by default, reachable
// only from this machine. Every container of a whole run (the traced
// original, the reference replays, the minimal image under its seccomp
// profile) is inspected while it exists.
func TestTargetContainment(t *testing.T) {
	cli := requireGopets(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seen, images, code, stderr := watchRun(ctx, t, cli, nil, "run", gopetsImage, "--spec", gopetsSpec, "--auto", "--seed", "1", "--duration", "3s",
		"--tag", testTag(t, cli, "containment"))
	// Containment is the point here, not the verdict (exit 3: diverged).
	if code != exitOK && code != exitDiverged {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if len(images) < 2 {
		t.Fatalf("inspected %d running containers of %d images: want the original and the minimal image at least", len(seen), len(images))
	}
	t.Logf("inspected %d running containers of %d images", len(seen), len(images))
	// On cgroup v1 the engine's default cgroup namespace mode is "host"
	// (Docker's documented default): whittle asks for nothing, so that is
	// the engine's confinement, not a widening.
	engine, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, info := range seen {
		checkContained(t, id[:12], info, engine.CgroupVersion)
	}
}

// watchRun runs whittle with args and inspects every container of the run
// while it runs (onSeen, when not nil, is called then); it returns them by
// id, their images, the exit code and whittle's stderr.
func watchRun(ctx context.Context, t *testing.T, cli *client.Client, onSeen func(container.InspectResponse),
	args ...string) (map[string]container.InspectResponse, map[string]bool, int, string) {
	t.Helper()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, strings.NewReader(""), &stdout, &stderr) }()
	seen := map[string]container.InspectResponse{}
	images := map[string]bool{}
	for {
		select {
		case code := <-done:
			return seen, images, code, stderr.String()
		case <-time.After(50 * time.Millisecond):
		}
		for _, c := range containersOf(t, cli, os.Getpid()) {
			if _, ok := seen[c.ID]; ok || c.State != "running" {
				continue
			}
			info, err := cli.ContainerInspect(ctx, c.ID)
			if err != nil {
				continue // removed meanwhile
			}
			seen[c.ID] = info
			images[info.Image] = true
			if onSeen != nil {
				onSeen(info)
			}
		}
	}
}

func checkContained(t *testing.T, id string, info container.InspectResponse, cgroupVersion string) {
	t.Helper()
	hc := info.HostConfig
	if hc == nil {
		t.Fatalf("%s: no host config", id)
	}
	if hc.Privileged {
		t.Errorf("%s runs privileged", id)
	}
	if len(hc.CapAdd) > 0 {
		t.Errorf("%s has added capabilities %v", id, hc.CapAdd)
	}
	checkMounts(t, id, info)
	if len(hc.Devices) > 0 || len(hc.DeviceCgroupRules) > 0 {
		t.Errorf("%s has host devices %v %v", id, hc.Devices, hc.DeviceCgroupRules)
	}
	for what, mode := range map[string]string{"network": string(hc.NetworkMode), "pid": string(hc.PidMode), "ipc": string(hc.IpcMode),
		"uts": string(hc.UTSMode), "userns": string(hc.UsernsMode), "cgroupns": string(hc.CgroupnsMode)} {
		if what == "cgroupns" && mode == "host" && cgroupVersion == "1" {
			continue
		}
		if mode == "host" || strings.HasPrefix(mode, "container:") {
			t.Errorf("%s shares the %s namespace: %q", id, what, mode)
		}
	}
	for _, o := range hc.SecurityOpt {
		if !strings.HasPrefix(o, "seccomp=") || o == "seccomp=unconfined" {
			t.Errorf("%s has security option %.60q: only whittle's own seccomp profile may be set", id, o)
		}
	}
	if len(hc.MaskedPaths) == 0 || len(hc.ReadonlyPaths) == 0 {
		t.Errorf("%s lacks Docker's default masked/read-only /proc paths", id)
	}
	if hc.PublishAllPorts {
		t.Errorf("%s publishes all ports", id)
	}
	for port, bindings := range hc.PortBindings {
		for _, b := range bindings {
			if b.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s on %q: only 127.0.0.1 is allowed", id, port, b.HostIP)
			}
		}
	}
	if info.NetworkSettings != nil {
		for port, bindings := range info.NetworkSettings.Ports {
			for _, b := range bindings {
				if b.HostIP != "127.0.0.1" {
					t.Errorf("%s is reachable on %s:%s (%s)", id, b.HostIP, b.HostPort, port)
				}
			}
		}
	}
}

// No option of `whittle run` widens the target's containment today. A new
// option must be classified here; one that widens it (capabilities, mounts,
// devices, host namespaces, ports beyond 127.0.0.1) must make whittle warn
// when it is used, and get a test of that warning.
func TestNoRunOptionWidensContainment(t *testing.T) {
	reviewed := []string{
		// None of these touches how the target container is run.
		"auth", "auto", "base-path", "corpus", "cover", "cover-binary", "duration", "exclude", "fail-on", "header",
		"include", "keep-shell", "keep-state", "max-requests", "once", "output", "output-dir", "plateau", "port", "ready-path",
		"ready-timeout", "request-timeout", "seed", "spec", "tag", "without-heuristic", "workers", "help",
		"shard", "fuzz-only", "cover-path-map",
		// A bench hook (hidden): plain GETs of one path to the traced target, as the fuzzer sends.
		"measure-capacity",
		// How the target starts, within the default confinement; and host commands, not containers.
		"env", "env-file", "entrypoint", "cmd", "workdir", "bake-run-config", "service", "driver",
		// Widening, warned when used: host paths mounted (--mount, a compose file's bind volumes),
		// root as the target's user (TestConfiguredServiceEndToEnd checks the warnings).
		"mount", "compose", "user",
	}
	cmd := newRunCommand()
	cmd.InitDefaultHelpFlag()
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !slices.Contains(reviewed, f.Name) {
			t.Errorf("new option --%s: classify it in this test; if it widens the target's containment, whittle must warn when it is used", f.Name)
		}
	})
}
