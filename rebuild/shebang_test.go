package rebuild

import (
	"strings"
	"testing"
)

func TestParseShebang(t *testing.T) {
	long := "#!/usr/bin/" + strings.Repeat("x", 300) + "\n"
	tests := []struct {
		in     string
		ok     bool
		interp string
		arg    string
		env    string
	}{
		{in: "#!/bin/sh\necho hi\n", ok: true, interp: "/bin/sh"},
		{in: "#! /usr/bin/python3 -u\n", ok: true, interp: "/usr/bin/python3", arg: "-u"},
		{in: "#!/usr/bin/env python3\n", ok: true, interp: "/usr/bin/env", arg: "python3", env: "python3"},
		{in: "#!/usr/bin/env -S node --harmony\n", ok: true, interp: "/usr/bin/env", arg: "-S node --harmony", env: "node"},
		{in: "#!/usr/bin/env\n", ok: true, interp: "/usr/bin/env"},
		{in: "#!\t/bin/bash\t-e \r\n", ok: true, interp: "/bin/bash", arg: "-e"},
		{in: "#!/bin/sh", ok: true, interp: "/bin/sh"},
		{in: "#!\n", ok: false},
		{in: "#!   \n", ok: false},
		{in: "# comment\n", ok: false},
		{in: "\x7fELF", ok: false},
		{in: "#!/bin/s\x00h\n", ok: false},
		{in: long, ok: true, interp: ("/usr/bin/" + strings.Repeat("x", 300))[:shebangMax-2]},
	}
	for _, tt := range tests {
		s, ok := ParseShebang([]byte(tt.in))
		if ok != tt.ok || s.Interp != tt.interp || s.Arg != tt.arg {
			t.Errorf("ParseShebang(%q) = %+v, %v; want %q %q %v", tt.in, s, ok, tt.interp, tt.arg, tt.ok)
		}
		if got := s.EnvProgram(); got != tt.env {
			t.Errorf("EnvProgram(%q) = %q, want %q", tt.in, got, tt.env)
		}
	}
}

func FuzzParseShebang(f *testing.F) {
	f.Add([]byte("#!/usr/bin/env -S python3 -u\n"))
	f.Add([]byte("#!/bin/sh\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := ParseShebang(b)
		if !ok {
			return
		}
		if s.Interp == "" || strings.ContainsAny(s.Interp, " \t\n\x00") {
			t.Fatalf("bad interpreter %q", s.Interp)
		}
		if len(s.Interp)+len(s.Arg) > shebangMax {
			t.Fatalf("line longer than the kernel reads")
		}
		_ = s.EnvProgram()
	})
}

func TestLookPath(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "usr/bin/python3.11", "x", 0o755)
	symlink(t, root, "usr/bin/python3", "python3.11")
	symlink(t, root, "bin", "usr/bin")
	writeFile(t, root, "usr/local/bin/dir/.keep", "", 0o644)
	f := openDir(t, root)
	if got := f.LookPath("python3", []string{"/usr/local/bin", "/bin"}); got != "/bin/python3" {
		t.Errorf("LookPath python3 = %q", got)
	}
	if got := f.LookPath("dir", []string{"/usr/local/bin"}); got != "" {
		t.Errorf("a directory is not a program: %q", got)
	}
	if got := f.LookPath("/usr/bin/python3", nil); got != "/usr/bin/python3" {
		t.Errorf("absolute: %q", got)
	}
	if got := envPath([]string{"PATH=/a:relative:/b"}); strings.Join(got, ":") != "/a:/b" {
		t.Errorf("envPath = %q", got)
	}
	if got := envPath(nil); strings.Join(got, ":") != defaultPath {
		t.Errorf("default PATH = %q", got)
	}
}
