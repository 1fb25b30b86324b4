package tracer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

// Integration helpers: root + BPF + Docker + a C compiler. Every test that
// needs them calls requireIntegration and skips loudly when one is missing.

const testLabel = "dev.whittle.run=tracer-test"

var (
	imageOnce sync.Once
	imageTag  string
	imageErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if imageTag != "" {
		_ = exec.Command("docker", "rmi", "-f", imageTag).Run()
	}
	os.Exit(code)
}

func requireIntegration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("INTEGRATION TEST SKIPPED: -short")
	}
	if err := checkPrivileges(); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: needs root for BPF: %v", err)
	}
	if err := checkFeatures(); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: kernel lacks BPF features: %v", err)
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: no Docker engine answers (%v: %s)", err, bytes.TrimSpace(out))
	}
	if fixture.Compiler() == "" {
		t.Skip("INTEGRATION TEST SKIPPED: no C compiler (cc, gcc, clang) to build the workload")
	}
}

// testImage builds (once per test binary) a tiny image: the workload, its
// ldd closure with the host's merged-/usr symlinks, /etc/ld.so.cache and a
// few data files.
func testImage(t *testing.T) string {
	t.Helper()
	imageOnce.Do(func() { imageTag, imageErr = buildTestImage() })
	if imageErr != nil {
		t.Fatalf("building the test image: %v", imageErr)
	}
	return imageTag
}

func buildTestImage() (string, error) {
	tag := "whittle-test/tracer-" + randHex(6) + ":latest"
	return tag, fixture.CProgramImage(tag, "testdata/workload.c", "/usr/bin/wl", func(ib *fixture.ImageBuilder) {
		for _, d := range []string{"/data/rel", "/data/dir/sub"} {
			ib.Dir(d, 0o755)
		}
		for _, f := range []string{"abs.txt", "rel/file.txt", "dir/sub/inner.txt", "dir/x.txt", "child.txt",
			"from-script.txt", "only-b.txt", "execd.txt"} {
			ib.File("/data/"+f, 0o644, []byte(f+"\n"))
		}
		ib.Symlink("/data/link", "dir")
		ib.File("/data/script", 0o755, []byte("#!/usr/bin/wl\n"))
	})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// container is a running test container.
type container struct {
	id  string
	pid int
}

func runContainer(t *testing.T, image string, args ...string) container {
	t.Helper()
	return runContainerOpts(t, nil, image, args...)
}

func runContainerOpts(t *testing.T, dockerOpts []string, image string, args ...string) container {
	t.Helper()
	full := append([]string{"run", "-d", "--label", testLabel, "--network", "none"}, dockerOpts...)
	full = append(append(full, image), args...)
	out, err := exec.Command("docker", full...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	c := container{id: strings.TrimSpace(string(out))}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", c.id).Run() })
	out, err = exec.Command("docker", "inspect", "-f", "{{.State.Pid}}", c.id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker inspect: %v: %s", err, out)
	}
	c.pid, err = strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || c.pid == 0 {
		t.Fatalf("container %s has no pid (%q): exited early?", c.id, out)
	}
	return c
}

func (c container) signal(t *testing.T) {
	t.Helper()
	// The workload is its container's init: a signal it neither handles
	// nor blocks yet is dropped, and it would wait for ever. Wait until it
	// waits for SIGUSR1 (wait_usr1); on a busy machine that takes a while.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if waitsForSignal(c.pid) {
			break
		}
	}
	if out, err := exec.Command("docker", "kill", "-s", "USR1", c.id).CombinedOutput(); err != nil {
		t.Fatalf("docker kill -s USR1: %v: %s", err, out)
	}
}

// waitsForSignal reports whether pid sits in rt_sigtimedwait (sigwait).
func waitsForSignal(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/syscall", pid))
	return err == nil && strings.HasPrefix(string(data), "128 ")
}

func (c container) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "wait", c.id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker wait: %v: %s", err, out)
	}
	if code := strings.TrimSpace(string(out)); code != "0" {
		logs, _ := exec.Command("docker", "logs", c.id).CombinedOutput()
		t.Fatalf("container exited with %s: %s", code, logs)
	}
}

func (c container) logs(t *testing.T) string {
	out, err := exec.Command("docker", "logs", c.id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker logs: %v: %s", err, out)
	}
	return string(out)
}

func (c container) exec(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"exec", c.id}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker exec: %v: %s", err, out)
	}
}

func newTestTracer(t *testing.T, opts ...Option) *Tracer {
	t.Helper()
	tr, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func syncTracer(t *testing.T, tr *Tracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tr.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

type access struct {
	path  string
	kind  Kind
	errno int
}

func (a access) String() string { return fmt.Sprintf("%s %s errno=%d", a.kind, a.path, a.errno) }

func accessSet(files []FileAccess) map[access]FileAccess {
	m := map[access]FileAccess{}
	for _, f := range files {
		m[access{f.Path, f.Kind, f.Errno}] = f
	}
	return m
}

func dumpFiles(t *testing.T, files []FileAccess) {
	t.Helper()
	for _, f := range files {
		t.Logf("  %-9s %-45s errno=%-2d req=%q comm=%s tgid=%d n=%d", f.Kind, f.Path, f.Errno, f.Requested, f.Comm, f.Tgid, f.Count)
	}
}
