// Package testimage builds tiny container images for integration tests, from
// Go programs compiled on the host: no registry and no base image needed.
package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
