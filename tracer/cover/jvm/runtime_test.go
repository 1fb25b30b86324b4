package jvm

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/tracer/cover"
)

// A runtime instruments nothing until Prepare saw a JVM in the image's
// configuration; then its traced containers get the agent's directory and
// JAVA_TOOL_OPTIONS after the image's own options, and Close removes the
// directory.
func TestRuntimeInstrumentsJVMImagesOnly(t *testing.T) {
	r := New(WithAgentDir(t.TempDir()), WithScope("com.example.shop", "github.com/acme/...", "app/*.py"))
	if why, err := r.Prepare(cover.ImageConfig{Cmd: []string{"/app/server"}, Env: []string{"PATH=/bin"}}); err != nil || why != "" {
		t.Fatalf("Prepare of a Go image: %q, %v", why, err)
	}
	if env, m := r.Env(nil), r.Mounts(); env != nil || m != nil {
		t.Fatalf("unprepared runtime instruments: %q %v", env, m)
	}
	why, err := r.Prepare(cover.ImageConfig{Entrypoint: []string{"java", "-jar", "/app/shop.jar"}})
	if err != nil || !strings.HasPrefix(why, "the command runs java") {
		t.Fatalf("Prepare of a JVM image: %q, %v", why, err)
	}
	m := r.Mounts()
	if len(m) != 1 || m[0].Target != MountPoint {
		t.Fatalf("mounts %v", m)
	}
	if _, err := os.Stat(m[0].Source + "/" + agentName); err != nil {
		t.Fatal(err)
	}
	env := r.Env([]string{"JAVA_TOOL_OPTIONS=-Xmx64m"})
	want := "JAVA_TOOL_OPTIONS=-Xmx64m -agentpath:" + MountPoint + "/" + agentName + "=scope=com.example.shop"
	if !slices.Equal(env, []string{want}) {
		t.Errorf("env %q, want %q", env, want)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(m[0].Source); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the agent's directory is left after Close: %v", err)
	}
}

// A scope pattern the agent's options cannot carry fails Prepare.
func TestRuntimeRejectsBadScope(t *testing.T) {
	r := New(WithAgentDir(t.TempDir()))
	r.scope = []string{"com.example shop"}
	if _, err := r.Prepare(cover.ImageConfig{Env: []string{"JAVA_HOME=/usr/lib/jvm/x"}}); !errors.Is(err, ErrScopePattern) {
		t.Errorf("Prepare: %v, want ErrScopePattern", err)
	}
	if r.Mounts() != nil {
		t.Error("a failed Prepare instruments")
	}
}
