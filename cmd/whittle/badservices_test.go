package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bad input of real services: each case gives one line naming the problem
// and the fix, exit 1, and leaves nothing running.
func TestRealServiceBadInput(t *testing.T) {
	cli := requireFixture(t, pgnotesImage, pgdbImage)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	composeFile, _ := filepath.Abs(pgnotesCompose)
	original, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	sick := write("sick.yaml", strings.Replace(string(original),
		`test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "notes", "-d", "notes"]`,
		`test: ["CMD-SHELL", "echo the database says no; exit 1"]`, 1))
	if !strings.Contains(string(mustRead(t, sick)), "the database says no") {
		t.Fatal("the sick compose file was not made")
	}
	// Relative to the original's directory: nothing else of it is needed.
	cases := []struct {
		name  string
		args  []string
		words []string
	}{
		{"compose file does not parse", []string{"run", "--compose", write("bad.yaml", "services:\n  api: [\n"), "--service", "api"},
			[]string{"compose file cannot be used", "bad.yaml", "(correct the compose file)"}},
		{"service not in the file", []string{"run", "--compose", composeFile, "--service", "web"},
			[]string{`no such service "web"`, "api, db, migrate", "(pass --service with one of"}},
		{"dependency never healthy", []string{"run", "--compose", sick, "--service", "api", "--ready-timeout", "20s"},
			[]string{"companion service failed: db", "health check", "the database says no", "raise --ready-timeout"}},
		{"driver not found", []string{"run", pgnotesImage, "--driver", "./no-such-e2e.sh --fast"},
			[]string{"--driver", "./no-such-e2e.sh not found"}},
		{"env-file line without =", []string{"run", pgnotesImage, "--env-file", write("app.env", "A=1\nDATABASE_URL\n")},
			[]string{"app.env:2", "has no '='", "(write each variable as NAME=VALUE)"}},
		{"mount source missing", []string{"run", pgnotesImage, "--mount", filepath.Join(dir, "nope") + ":/etc/app:ro"},
			[]string{"mount source does not exist", filepath.Join(dir, "nope"), "(create it, or correct the SOURCE of --mount)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := whittleFor(t, 3*time.Minute, append(tc.args, "--auto")...)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			line := errorLine(t, stderr)
			for _, w := range tc.words {
				if !strings.Contains(line, w) {
					t.Errorf("error line does not say %q:\n%s", w, line)
				}
			}
			if tc.name == "dependency never healthy" && !strings.Contains(stderr, "database system is ready") {
				t.Errorf("no last log lines of the companion; stderr:\n%s", stderr)
			}
			assertNoOwnLeftovers(t, cli)
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
