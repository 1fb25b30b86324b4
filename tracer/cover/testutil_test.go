package cover

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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

func compiler() string {
	for _, c := range []string{"cc", "gcc", "clang", "clang-14"} {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

// covImage builds (once per test binary) an image holding the C coverage
// target /usr/bin/covtarget (testdata/covtarget.c, with .symtab) and its
// libraries.
func covImage(t *testing.T) string {
	t.Helper()
	if compiler() == "" {
		t.Skip("INTEGRATION TEST SKIPPED: no C compiler (cc, gcc, clang) to build the coverage target")
	}
	imageOnce.Do(func() { imageTag, imageErr = buildCovImage() })
	if imageErr != nil {
		t.Fatalf("building the test image: %v", imageErr)
	}
	return imageTag
}

func buildCovImage() (string, error) {
	dir, err := os.MkdirTemp("", "whittle-cover-test")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "covtarget")
	if out, err := exec.Command(compiler(), "-O2", "-o", bin, "testdata/covtarget.c").CombinedOutput(); err != nil {
		return "", errors.New("compiling the coverage target: " + err.Error() + ": " + string(out))
	}
	libs, err := fixture.LddClosure(bin)
	if err != nil {
		return "", err
	}
	ib := fixture.NewImageBuilder()
	for _, d := range []string{"/etc", "/proc", "/sys", "/dev"} {
		ib.Dir(d, 0o755)
	}
	ib.Dir("/tmp", 0o1777)
	for _, l := range append(libs, "/etc/ld.so.cache") {
		if err := ib.HostPath(l); err != nil {
			return "", err
		}
	}
	ib.SymlinkChain("/bin")
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	ib.File("/usr/bin/covtarget", 0o755, data)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	tag := "whittle-test/cover-" + hex.EncodeToString(b) + ":latest"
	return tag, ib.Import(tag)
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
