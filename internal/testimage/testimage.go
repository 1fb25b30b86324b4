// Package testimage builds tiny container images for integration tests, from
// Go programs compiled on the host: no registry and no base image needed.
package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// RequireDocker skips the test loudly when no engine answers or when not root.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP (-short): integration test needs Docker")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP: integration test needs root (run as root, as CI does)")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("SKIP: no Docker client: %v (run scripts/setup.sh)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Skipf("SKIP: no Docker engine answers: %v (run scripts/setup.sh)", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// GoProgram compiles a single-file Go program (statically, no cgo) and
// imports it as an image tagged name, with Dockerfile-style changes such as
// `ENTRYPOINT ["/app"]` or `EXPOSE 8080`. Extra files are added as
// path→content. The image is removed when the test ends.
func GoProgram(t testing.TB, cli *client.Client, name, source string, files map[string]string, changes ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module testprog\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building test program: %v\n%s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(path string, mode int64, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: path, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("app", 0o755, prog)
	for p, c := range files {
		add(strings.TrimPrefix(p, "/"), 0o644, []byte(c))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, name, image.ImportOptions{Changes: changes})
	if err != nil {
		t.Fatalf("importing test image %s: %v", name, err)
	}
	_, _ = bytes.NewBuffer(nil).ReadFrom(rc)
	rc.Close()
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), name, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return name
}

// Start runs a container of image (with env, "K=V") until the test ends,
// when it is removed, and returns its init process's pid on the host.
func Start(t testing.TB, cli *client.Client, image string, env ...string) int {
	t.Helper()
	ctx := context.Background()
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: image, Env: env, Labels: map[string]string{"dev.whittle.run": "test"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatalf("creating a container of %s: %v", image, err)
	}
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatalf("starting a container of %s: %v", image, err)
	}
	info, err := cli.ContainerInspect(ctx, c.ID)
	if err != nil || info.State == nil || info.State.Pid == 0 {
		t.Fatalf("inspecting the container of %s: %v", image, err)
	}
	return info.State.Pid
}

// Swapping starts, in a real container, the Go program at src (the
// tracer's testdata/swap: /probe swapped between a directory and an
// absolute link to a host directory as fast as it can) and returns its pid
// and that host directory, which holds "HOST" in a file named secret: a
// reader that resolves the container's paths by name in its own root reads
// it, one that stays in the container's root never does.
func Swapping(t *testing.T, src string) (pid int, hostDir string) {
	t.Helper()
	cli := RequireDocker(t)
	source, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	hostDir = fmt.Sprintf("/tmp/whittle-swap-%d-%d", os.Getpid(), time.Now().UnixNano())
	if err := os.MkdirAll(hostDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(hostDir) })
	if err := os.WriteFile(filepath.Join(hostDir, "secret"), []byte("HOST"), 0o600); err != nil {
		t.Fatal(err)
	}
	img := GoProgram(t, cli, fmt.Sprintf("whittle-test/swap:%d", os.Getpid()), string(source), nil, `ENTRYPOINT ["/app"]`)
	pid = Start(t, cli, img, "SWAP_TO="+hostDir)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/root/ready", pid)); err == nil {
			return pid, hostDir
		}
		if time.Now().After(deadline) {
			t.Fatal("the swapping container never got ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
