package seccomp

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestGenerate(t *testing.T) {
	p, dropped := Generate([]string{"openat", "accept4", "write", "syscall_451", "", "Bad-Name", "accept4"})
	if strings.Join(dropped, ",") != "syscall_451,,Bad-Name" {
		t.Errorf("dropped = %q", dropped)
	}
	if p.DefaultAction != ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != EPERM {
		t.Errorf("default %s/%v", p.DefaultAction, p.DefaultErrnoRet)
	}
	if len(p.Architectures) != 3 || p.Architectures[0] != ArchX86_64 {
		t.Errorf("architectures %v", p.Architectures)
	}
	if len(p.Syscalls) != 1 || p.Syscalls[0].Action != ActAllow {
		t.Fatalf("rules %+v", p.Syscalls)
	}
	names := p.Syscalls[0].Names
	if !sort.StringsAreSorted(names) {
		t.Error("names not sorted")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s twice", n)
		}
		seen[n] = true
	}
	for _, n := range append([]string{"accept4", "openat", "write"}, RuntimeSyscalls...) {
		if !seen[n] {
			t.Errorf("%s not allowed", n)
		}
	}
	if len(names) != len(seen) || len(p.Allowed()) != len(names) {
		t.Errorf("Allowed %d, names %d", len(p.Allowed()), len(names))
	}
	for _, n := range []string{"ptrace", "mount", "bpf", "unshare", "setns", "keyctl", "statfs", "statx"} {
		if seen[n] {
			t.Errorf("%s allowed without being observed", n)
		}
	}
}

// The JSON is what Docker reads: pinned by a golden file (-update rewrites it).
func TestJSONGolden(t *testing.T) {
	p, _ := Generate([]string{"accept4", "bind", "listen", "socket"})
	b, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "profile.golden.json")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("profile differs from %s:\n%s", golden, b)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"defaultAction", "defaultErrnoRet", "architectures", "syscalls"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	back, err := Parse(b)
	if err != nil || strings.Join(back.Allowed(), ",") != strings.Join(p.Allowed(), ",") {
		t.Errorf("round trip: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `{}`, `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":[],"action":"SCMP_ACT_ALLOW"}]}`,
		`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]}`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func FuzzParse(f *testing.F) {
	p, _ := Generate([]string{"read"})
	b, _ := p.JSON()
	f.Add(b)
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		out, err := p.JSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if strings.Join(again.Allowed(), "\x00") != strings.Join(p.Allowed(), "\x00") {
			t.Fatal("round trip changed the allowed calls")
		}
	})
}
