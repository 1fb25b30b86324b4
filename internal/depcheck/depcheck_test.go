// Package depcheck keeps the layering honest: library packages never import
// the TUI, and the TUI never imports packages that do I/O on targets.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/whittle-dev/whittle"

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+"/"+pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestLibrariesDoNotImportTUI(t *testing.T) {
	for _, lib := range []string{"probe", "tracer/...", "fuzz/...", "rebuild", "corpus", "event", "report", "pipeline", "seccomp", "verify"} {
		pkgs := []string{lib}
		if strings.HasSuffix(lib, "/...") {
			out, err := exec.Command("go", "list", module+"/"+lib).Output()
			if err != nil {
				t.Fatalf("go list %s: %v", lib, err)
			}
			pkgs = nil
			for _, p := range strings.Fields(string(out)) {
				pkgs = append(pkgs, strings.TrimPrefix(p, module+"/"))
			}
		}
		for _, p := range pkgs {
			for _, d := range deps(t, p) {
				if d == module+"/tui" || strings.HasPrefix(d, module+"/tui/") {
					t.Errorf("%s imports %s: library packages must not depend on the TUI", p, d)
				}
				if strings.HasPrefix(d, "github.com/charmbracelet/bubbletea") {
					t.Errorf("%s depends on %s: only tui and cmd may use Bubble Tea", p, d)
				}
			}
		}
	}
}

func TestTUIDoesNoIO(t *testing.T) {
	if _, err := exec.Command("go", "list", module+"/tui").Output(); err != nil {
		t.Skip("SKIP: no tui package yet")
	}
	forbidden := []string{
		module + "/probe", module + "/tracer", module + "/tracer/cover", module + "/rebuild", module + "/pipeline", module + "/verify",
		"github.com/docker/docker/client", "github.com/cilium/ebpf",
	}
	for _, d := range deps(t, "tui") {
		for _, f := range forbidden {
			if d == f {
				t.Errorf("tui imports %s: the TUI renders events and snapshots, it does no I/O", d)
			}
		}
	}
}
