package jvm

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The committed agent must be what go generate builds, freestanding, with
// the probe's symbols where the kernel can use them.
func TestAgentFile(t *testing.T) {
	offs, err := readOffsets(agentSO)
	if err != nil {
		t.Fatal(err)
	}
	if offs.message == 0 || offs.ready == 0 || offs.counter == 0 || offs.message == offs.ready {
		t.Fatalf("offsets %+v", offs)
	}
	f, err := elf.Open("libwhittlejvm_amd64.so")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_DYN {
		t.Errorf("agent is %v %v, want an x86-64 shared object", f.Machine, f.Type)
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("agent needs %q (%v): it must load into any JVM, glibc or musl", libs, err)
	}
	if syms, _ := f.ImportedSymbols(); len(syms) > 0 {
		t.Errorf("agent imports %v", syms)
	}
	found := false
	syms, _ := f.DynamicSymbols()
	for _, s := range syms {
		found = found || s.Name == "Agent_OnLoad"
	}
	if !found {
		t.Error("agent exports no Agent_OnLoad")
	}
}

func TestInstallAgent(t *testing.T) {
	a, err := InstallAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{a.Dir: 0o755 | os.ModeDir, a.File: 0o644} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v %v, want mode %v", p, fi.Mode(), err, mode)
		}
	}
	if entries, _ := os.ReadDir(a.Dir); len(entries) != 1 {
		t.Errorf("the mounted directory holds %d entries, want the agent alone", len(entries))
	}
	a.Remove()
	if _, err := os.Stat(a.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove left %s: %v", a.Dir, err)
	}
}

func TestJavaToolOptions(t *testing.T) {
	a := &Agent{}
	cases := []struct {
		env   []string
		scope []string
		want  string
	}{
		{nil, nil, "-agentpath:/.whittle-jvm/libwhittlejvm.so"},
		{[]string{"PATH=/bin", "JAVA_TOOL_OPTIONS=-Xmx64m -Dx=1"}, nil, "-Xmx64m -Dx=1 -agentpath:/.whittle-jvm/libwhittlejvm.so"},
		{[]string{"JAVA_TOOL_OPTIONS= "}, []string{"com.example.shop", "org/acme/**"},
			"-agentpath:/.whittle-jvm/libwhittlejvm.so=scope=com.example.shop,org/acme/**"},
	}
	for _, c := range cases {
		got, err := a.JavaToolOptions(c.env, c.scope...)
		if err != nil || got != c.want {
			t.Errorf("JavaToolOptions(%q, %q) = %q, %v, want %q", c.env, c.scope, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "com example", "a;b", "a,b", "x=y"} {
		if _, err := a.JavaToolOptions(nil, bad); !errors.Is(err, ErrScopePattern) {
			t.Errorf("scope %q: %v, want ErrScopePattern", bad, err)
		}
	}
}

// The committed agent is agent/agent.c built by agent/build.sh (go
// generate): rebuilt here when the tools are, and compared byte for byte.
func TestAgentIsBuiltFromSource(t *testing.T) {
	for _, tool := range []string{"clang-14", "llvm-strip-14", "javac"} {
		if _, err := exec.LookPath(tool); err != nil && (tool != "javac" || os.Getenv("JAVA_HOME") == "") {
			t.Skipf("SKIPPED: %s missing (make generate installs the tools): the committed agent is not rebuilt", tool)
		}
	}
	out := filepath.Join(t.TempDir(), "agent.so")
	if b, err := exec.Command("agent/build.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("agent/build.sh: %v\n%s", err, b)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, agentSO) {
		clang, _ := exec.Command("clang-14", "--version").Output()
		ld, _ := exec.Command("ld", "--version").Output()
		t.Fatalf("libwhittlejvm_amd64.so is not what agent/build.sh builds from agent/agent.c: run go generate ./tracer/cover/jvm "+
			"(the committed file is built with Debian bookworm's clang 14.0.6 and binutils 2.40; here: %s, %s)",
			firstLine(clang), firstLine(ld))
	}
}

func TestDetectJVM(t *testing.T) {
	cases := []struct {
		argv, env []string
		want      string
	}{
		{[]string{"java", "-jar", "/app/x.jar"}, nil, "the command runs java"},
		{[]string{"/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "-cp", "/app", "Main"}, nil, "the command runs /usr/lib/jvm/java-17-openjdk-amd64/bin/java"},
		{[]string{"sh", "-c", "exec java $JAVA_OPTS -jar app.jar"}, nil, "the command runs java"},
		{[]string{"/start.sh"}, []string{"PATH=/bin", "JAVA_HOME=/opt/java/openjdk"}, "the image sets JAVA_HOME"},
		{[]string{"/start.sh"}, []string{"JAVA_HOME="}, ""},
		{[]string{"python3", "-m", "javalike"}, []string{"PATH=/usr/bin"}, ""},
		{[]string{"node", "/app/java.js"}, nil, ""},
	}
	for _, c := range cases {
		if got := DetectJVM(c.argv, c.env); got != c.want {
			t.Errorf("DetectJVM(%q, %q) = %q, want %q", c.argv, c.env, got, c.want)
		}
	}
	if p, ok := RanJVM([]string{"/etc/ld.so.cache", "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so"}); !ok || p == "" {
		t.Error("RanJVM missed libjvm.so")
	}
	if _, ok := RanJVM([]string{"/usr/bin/python3", "/usr/lib/libjvm.so.txt"}); ok {
		t.Error("RanJVM found a JVM in a Python container")
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
