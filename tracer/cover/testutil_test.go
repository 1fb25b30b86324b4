package cover

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

// Integration helpers: root + BPF + Docker (+ a C compiler for the symtab
// target). Every test that needs them skips loudly when one is missing.

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
	tr, err := tracer.New()
	if errors.Is(err, tracer.ErrNotRoot) || errors.Is(err, tracer.ErrNotSupported) {
		t.Skipf("INTEGRATION TEST SKIPPED: no tracer here: %v", err)
	}
	if err != nil {
		t.Fatalf("tracer.New: %v", err)
	}
	tr.Close()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: no Docker engine answers (%v: %s)", err, bytes.TrimSpace(out))
	}
}

func newTestTracer(t *testing.T) *tracer.Tracer {
	t.Helper()
	tr, err := tracer.New()
	if err != nil {
		t.Fatalf("tracer.New: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func syncTracer(t *testing.T, tr *tracer.Tracer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tr.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// covImage builds (once per test binary) an image holding the C coverage
// target /usr/bin/covtarget (testdata/covtarget.c, with .symtab) and its
// libraries.
func covImage(t *testing.T) string {
	t.Helper()
	if fixture.Compiler() == "" {
		t.Skip("INTEGRATION TEST SKIPPED: no C compiler (cc, gcc, clang) to build the coverage target")
	}
	imageOnce.Do(func() { imageTag, imageErr = buildCovImage() })
	if imageErr != nil {
		t.Fatalf("building the test image: %v", imageErr)
	}
	return imageTag
}

func buildCovImage() (string, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	tag := "whittle-test/cover-" + hex.EncodeToString(b) + ":latest"
	return tag, fixture.CProgramImage(tag, "testdata/covtarget.c", "/usr/bin/covtarget", nil)
}

// runContainer runs image without a network; it is removed at the end.
func runContainer(t *testing.T, image string, args ...string) *fixture.Container {
	t.Helper()
	c, err := fixture.Run(image, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	return c
}

func liveProgramIDs(t *testing.T) map[ebpf.ProgramID]bool {
	t.Helper()
	ids := map[ebpf.ProgramID]bool{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			return ids
		}
		if err != nil {
			t.Fatalf("ProgramGetNextID: %v", err)
		}
		ids[next] = true
		id = next
	}
}
