package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The committed table is what the generator makes from this machine's
// headers: byte for byte, so `make generate` never changes it silently.
func TestCommittedTableIsGenerated(t *testing.T) {
	const header, version = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/linux/version.h"
	for _, f := range []string{header, version} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("SKIP: %s missing (apt-get install linux-libc-dev; scripts/setup.sh installs it with libc6-dev): %v", f, err)
		}
	}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/sys").Output()
	if err != nil {
		t.Fatalf("locating golang.org/x/sys: %v", err)
	}
	got, err := generate(header, version, filepath.Join(strings.TrimSpace(string(dir)), "unix", "zsysnum_linux_amd64.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "syscalls_amd64_table.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("tracer/syscalls_amd64_table.go differs from the generator's output (%d vs %d bytes): run `go generate ./tracer` or fix the generator", len(want), len(got))
	}
	if !bytes.Contains(got, []byte(`257: "openat",`)) || !bytes.Contains(got, []byte(`336: "uprobe",`)) {
		t.Error("openat (header) or uprobe (x/sys) missing")
	}
}
