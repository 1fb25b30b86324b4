package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/whittle-dev/whittle/tracer/cover/jvm"
)

const jvmshopImage = "whittle-fixture/jvmshop:latest"

// agentOption is what JAVA_TOOL_OPTIONS holds in a traced JVM container.
const agentOption = "-agentpath:" + jvm.MountPoint + "/libwhittlejvm.so"

// checkMounts: no host mount, but one: a traced container of a JVM image
// gets whittle's coverage agent, its host directory (holding the agent
// alone, not writable by the container's users) mounted read-only at
// jvm.MountPoint, and named in JAVA_TOOL_OPTIONS. It reports whether the
// container had it.
func checkMounts(t *testing.T, id string, info container.InspectResponse) (agent bool) {
	t.Helper()
	hc := info.HostConfig
	if len(hc.Binds) > 0 || len(hc.VolumesFrom) > 0 {
		t.Errorf("%s has host mounts: binds %v, volumes-from %v", id, hc.Binds, hc.VolumesFrom)
	}
	var env []string
	if info.Config != nil {
		env = info.Config.Env
	}
	named := false
	for _, kv := range env {
		named = named || strings.HasPrefix(kv, "JAVA_TOOL_OPTIONS=") && strings.Contains(kv, agentOption)
	}
	for _, m := range hc.Mounts {
		if m.Type != mount.TypeBind || m.Target != jvm.MountPoint || !m.ReadOnly || !named {
			t.Errorf("%s has a host mount other than the JVM agent's read-only directory: %+v", id, m)
			continue
		}
		agent = true
	}
	if len(hc.Mounts) > 1 {
		t.Errorf("%s has %d host mounts, at most the agent's", id, len(hc.Mounts))
	}
	for _, m := range info.Mounts {
		if m.Type == "bind" && (m.Destination != jvm.MountPoint || m.RW || !agent) {
			t.Errorf("%s mounts host path %s at %s (read-write: %v)", id, m.Source, m.Destination, m.RW)
		}
	}
	if named != agent {
		t.Errorf("%s: JAVA_TOOL_OPTIONS names the agent: %v, the agent is mounted: %v", id, named, agent)
	}
	return agent
}

// checkAgentDir: the mounted directory holds the agent alone, and the
// container's users cannot write there.
func checkAgentDir(t *testing.T, id, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "libwhittlejvm.so" {
		t.Errorf("%s: the agent's directory %s holds %v (%v), want the agent alone", id, dir, entries, err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "libwhittlejvm.so")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", id, err)
		} else if fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s: %s is writable by others than its owner: %v", id, p, fi.Mode())
		}
	}
}

// A JVM target: the traced containers (and only those) carry the agent,
// read-only, and are otherwise confined like every other.
func TestTargetContainmentJVM(t *testing.T) {
	cli := requireGopets(t)
	if _, err := cli.ImageInspect(context.Background(), jvmshopImage); err != nil {
		t.Skipf("SKIP: fixture %s not built (scripts/fixtures.sh jvmshop): %v", jvmshopImage, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The agent's directory exists while a traced container runs.
	onSeen := func(info container.InspectResponse) {
		for _, m := range info.HostConfig.Mounts {
			checkAgentDir(t, info.ID[:12], m.Source)
		}
	}
	seen, images, code, stderr := watchRun(ctx, t, cli, onSeen, "run", jvmshopImage, "--auto", "--seed", "1", "--duration", "5s",
		"--tag", testTag(t, cli, "containment-jvm"))
	if code != exitOK && code != exitDiverged {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	original, err := cli.ImageInspect(ctx, jvmshopImage)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var traced, untraced, minimal int
	for id, info := range seen {
		checkContained(t, id[:12], info, engine.CgroupVersion)
		agent := len(info.HostConfig.Mounts) > 0
		switch {
		case info.Image != original.ID && agent:
			t.Errorf("%s, a container of the minimal image, carries the agent", id[:12])
		case info.Image != original.ID:
			minimal++
		case agent:
			traced++
		default:
			untraced++
		}
	}
	t.Logf("inspected %d containers of %d images: %d traced with the agent, %d untraced of the original, %d of the minimal image",
		len(seen), len(images), traced, untraced, minimal)
	if traced == 0 || untraced == 0 || minimal == 0 {
		t.Errorf("want traced containers with the agent, the reference replays' without, and the minimal image's without")
	}
	if !strings.Contains(stderr, "jvm: the command runs java: method coverage through whittle's agent") {
		t.Errorf("the log does not say why the agent was used:\n%s", stderr)
	}
}
