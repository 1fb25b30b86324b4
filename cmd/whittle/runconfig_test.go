package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/whittle-dev/whittle/internal/testimage"
)

const envconfImage = "whittle-fixture/envconf:latest"

// requireFixture skips loudly when a fixture image is not built.
func requireFixture(t *testing.T, images ...string) *client.Client {
	t.Helper()
	cli := testimage.RequireDocker(t)
	for _, img := range images {
		if _, err := cli.ImageInspect(context.Background(), img); err != nil {
			t.Skipf("SKIP: fixture %s not built (run `make fixtures`): %v", img, err)
		}
	}
	return cli
}

// assertNoSecretIn fails when a file below root holds one of the values.
func assertNoSecretIn(t *testing.T, root string, values ...string) {
	t.Helper()
	n := 0
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, v := range values {
			if bytes.Contains(data, []byte(v)) {
				t.Errorf("%s holds the secret %q", p, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no file below %s: nothing was checked", root)
	}
}

// A service that starts only with its environment and a mounted config:
// every container of the run gets them, nothing beneath the mount point
// is in the minimal image, its config is the original's, and the values
// given are nowhere on disk; replay takes the same settings.
func TestConfiguredServiceEndToEnd(t *testing.T) {
	cli := requireFixture(t, envconfImage)
	const token = "tok-Envconf-5f4e3d2c"
	hostconf, _ := filepath.Abs("../../testdata/targets/envconf/hostconf")
	out := t.TempDir()
	corpusDir := filepath.Join(out, "corpus")
	reportPath := filepath.Join(out, "report.json")
	envFile := filepath.Join(t.TempDir(), "envconf.env")
	if err := os.WriteFile(envFile, []byte("# the token\nENVCONF_TOKEN="+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tag := testTag(t, cli, "envconf")
	code, stdout, stderr := whittle(t, "run", envconfImage, "--auto", "--duration", "15s", "--seed", "3",
		"--env-file", envFile, "--env", "EXTRA_SETTING=extra-value-77", "--mount", hostconf+":/etc/envconf:ro",
		"--header", "X-Token: "+token, "--corpus", corpusDir, "--tag", tag, "-o", "json="+reportPath)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "warn: host path "+hostconf+" is mounted into the target at /etc/envconf (read-only), as asked") {
		t.Errorf("no warning that a host path is mounted; stderr:\n%s", stderr)
	}
	rep := readReport(t, reportPath)
	if v := rep.Verification; v == nil || v.Result != "identical" || v.Total == 0 {
		t.Fatalf("verification %+v", rep.Verification)
	}
	rc := rep.RunConfig
	if rc == nil || strings.Join(rc.Env, ",") != "ENVCONF_TOKEN,EXTRA_SETTING" || len(rc.Mounts) != 1 || rc.Baked {
		t.Fatalf("run_config %+v", rc)
	}
	found := false
	for _, p := range rc.MountExcluded {
		found = found || p == "/etc/envconf/config.json"
	}
	if !found {
		t.Errorf("the report does not say the image's /etc/envconf/config.json was left out: %v", rc.MountExcluded)
	}
	for _, f := range rep.Files {
		if strings.HasPrefix(f.Path, "/etc/envconf/") {
			t.Errorf("%s is beneath the mount point but in the minimal image", f.Path)
		}
	}
	// /admin answers 200 only with the token: the header reached it.
	admin200 := false
	for _, op := range rep.Fuzz.Operations {
		admin200 = admin200 || op.Operation == "GET /admin" && op.Status2xx > 0
	}
	if !admin200 {
		t.Errorf("GET /admin never answered 2xx: the header did not reach the target")
	}
	min, err := cli.ImageInspect(context.Background(), tag)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := cli.ImageInspect(context.Background(), envconfImage)
	if strings.Join(min.Config.Env, " ") != strings.Join(orig.Config.Env, " ") || strings.Join(min.Config.Cmd, " ") != strings.Join(orig.Config.Cmd, " ") {
		t.Errorf("the minimal image's config is not the original's: env %q cmd %q", min.Config.Env, min.Config.Cmd)
	}
	assertNoSecretIn(t, out, token, "extra-value-77")

	// The corpus replays against the minimal image with the same settings,
	// and refuses to without the values it needs.
	replayOut := filepath.Join(out, "replay.json")
	code, stdout, stderr = whittle(t, "replay", corpusDir, tag, "--runs", "1", "--env-file", envFile,
		"--mount", hostconf+":/etc/envconf:ro", "--header", "X-Token: "+token, "-o", "json="+replayOut)
	// Like for like: the original replayed now with the same settings.
	if code != exitOK {
		t.Fatalf("replay: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "replayed:") {
		t.Fatalf("replay printed no summary:\n%s", stdout)
	}
	assertNoSecretIn(t, out, token, "extra-value-77")
	code, _, stderr = whittle(t, "replay", corpusDir, tag, "--runs", "1", "--mount", hostconf+":/etc/envconf:ro")
	if line := errorLine(t, stderr); code != exitError || !strings.Contains(line, "env.ENVCONF_TOKEN") {
		t.Fatalf("replay without the values: exit %d, %s", code, line)
	}
	assertNoOwnContainers(t, cli)
}

// A driver that fails fails the run with its message, after cleanup; the
// report keeps its status and output, and what it sent.
func TestFailingDriverFailsTheRun(t *testing.T) {
	cli := requireFixture(t, envconfImage)
	hostconf, _ := filepath.Abs("../../testdata/targets/envconf/hostconf")
	reportPath := filepath.Join(t.TempDir(), "report.json")
	driver := `curl -sS "$WHITTLE_TARGET_URL/site" && curl -sS "$WHITTLE_TARGET_URL/notes/work" && echo && echo 'expected 3 notes, got 2' >&2 && exit 4`
	began := time.Now()
	code, _, stderr := whittle(t, "run", envconfImage, "--auto", "--duration", "60s", "--env", "ENVCONF_TOKEN=tok-driver-1234",
		"--mount", hostconf+":/etc/envconf:ro", "--driver", driver, "-o", "json="+reportPath)
	line := errorLine(t, stderr)
	if code != exitError || !strings.Contains(line, "driver failed") || !strings.Contains(line, "status 4: expected 3 notes, got 2") {
		t.Fatalf("exit %d, error line %q", code, line)
	}
	rep := readReport(t, reportPath)
	if len(rep.Drivers) != 1 || rep.Drivers[0].ExitCode != 4 || rep.Drivers[0].Requests != 2 ||
		!strings.Contains(rep.Drivers[0].Output, `"text":"Standup at ten."`) {
		t.Fatalf("drivers %+v", rep.Drivers)
	}
	// The failure stops the 60-s fuzzing at once (not a timing claim: a
	// run that waited for its budget would take over a minute).
	if took := time.Since(began); took > 55*time.Second {
		t.Errorf("the run went on for %s after the driver failed", took)
	}
	assertNoOwnContainers(t, cli)
}
