package tracer

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const unprivEnv = "WHITTLE_TRACER_TEST_UNPRIVILEGED"

// Without root or CAP_BPF+CAP_PERFMON, New fails up front with ErrNotRoot.
// As root, the test re-runs itself as nobody through setpriv.
func TestNewWithoutPrivileges(t *testing.T) {
	if os.Getenv(unprivEnv) == "1" || os.Geteuid() != 0 {
		_, err := New()
		if !errors.Is(err, ErrNotRoot) {
			t.Fatalf("New() as euid %d = %v, want ErrNotRoot", os.Geteuid(), err)
		}
		if !strings.Contains(err.Error(), "sudo") {
			t.Errorf("error does not say how to fix it: %v", err)
		}
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("SKIPPED: running as root and no setpriv to drop privileges")
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
		os.Args[0], "-test.run=^TestNewWithoutPrivileges$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), unprivEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNewWithoutPrivileges") {
		t.Fatalf("unprivileged run: %v\n%s", err, out)
	}
}
