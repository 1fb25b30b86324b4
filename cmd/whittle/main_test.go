package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/whittle-dev/whittle/internal/testimage"
	"github.com/whittle-dev/whittle/probe"
)

// whittle runs the CLI in-process and returns its exit code and outputs.
func whittle(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// errorLine returns the "whittle: ..." line of stderr.
func errorLine(t *testing.T, stderr string) string {
	t.Helper()
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "whittle: ") {
			return l
		}
	}
	t.Fatalf("no error line in stderr:\n%s", stderr)
	return ""
}

func assertNoOwnContainers(t *testing.T, cli *client.Client) {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", probe.LabelRun))})
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("%d.", os.Getpid())
	for _, c := range list {
		if strings.HasPrefix(c.Labels[probe.LabelOwner], prefix) {
			t.Errorf("container %s (%s) left behind", c.ID[:12], c.Image)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no image", []string{"run"}, "no image given"},
		{"bad output format", []string{"run", "x", "-o", "yaml=out.yaml"}, `unknown output format "yaml"`},
		{"output without file", []string{"run", "x", "-o", "json"}, "want FORMAT=FILE"},
		{"replay output as a bare path", []string{"replay", "corpus", "x", "-o", "out.json"}, `bad -o "out.json": want FORMAT=FILE with FORMAT one of json, e.g. -o json=out.json`},
		{"replay output format", []string{"replay", "corpus", "x", "-o", "sarif=out.sarif"}, `unknown output format "sarif" in -o "sarif=out.sarif": use one of json`},
		{"spec file missing", []string{"run", "x", "--spec", "/nonexistent/openapi.yaml"}, "/nonexistent/openapi.yaml"},
		{"bad fail-on", []string{"run", "x", "--fail-on", "severe"}, `bad --fail-on "severe": use one of low, medium, high, critical`},
		{"bad auth", []string{"run", "x", "--auth", "token"}, `bad --auth "token": want SCHEME=VALUE`},
		{"capacity path without a slash", []string{"run", "x", "--measure-capacity", "health"}, `bad --measure-capacity "health": not a request path: want one starting with a single /, such as /health`},
		{"capacity path naming a host", []string{"run", "x", "--measure-capacity", "//example.com/health"}, `bad --measure-capacity "//example.com/health": not a request path`},
		{"unknown heuristic", []string{"run", "x", "--without-heuristic", "magic"}, `unknown heuristic "magic"`},
		{"spec syntax error", []string{"run", "x", "--spec", "testdata/broken.yaml"}, "broken.yaml:"},
		{"shard beyond its count", []string{"run", "x", "--seed", "1", "--shard", "3/2"}, `bad --shard "3/2": shards are numbered 1 to 2, so i must be between 1 and 2`},
		{"shard 0", []string{"run", "x", "--seed", "1", "--shard", "0/4"}, `bad --shard "0/4": shards are numbered 1 to 4`},
		{"shard not i/n", []string{"run", "x", "--seed", "1", "--shard", "2"}, `bad --shard "2": want i/n, shard i of n jobs, e.g. 1/4`},
		{"shard without a seed", []string{"run", "x", "--shard", "1/2"}, "--shard 1/2 splits one campaign across jobs: give every job the same --seed N"},
		{"fuzz-only without a corpus", []string{"run", "x", "--fuzz-only"}, "--fuzz-only keeps nothing but the corpus: add --corpus DIR"},
		{"reference and baseline", []string{"replay", "testdata", "x", "--reference", "stored", "--baseline", "b.json"}, "--reference and --baseline both say what to compare with: give one of them"},
		{"build from no corpus", []string{"build", "testdata"}, "not a whittle corpus directory: testdata has no meta.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := whittle(t, c.args...)
			if code != exitError {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			line := errorLine(t, stderr)
			if !strings.Contains(line, c.want) {
				t.Fatalf("error line %q does not contain %q", line, c.want)
			}
		})
	}
}

func TestNoEngine(t *testing.T) {
	testimage.RequireDocker(t)
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	code, _, stderr := whittle(t, "run", "whittle-fixture/gopets:latest", "--spec", "../../testdata/targets/gopets/openapi.yaml", "--auto")
	line := errorLine(t, stderr)
	if code != exitError || !strings.Contains(line, "no Docker engine answers") || !strings.Contains(line, "dockerd") {
		t.Fatalf("exit %d, error line %q", code, line)
	}
}

func TestUnknownImage(t *testing.T) {
	cli := testimage.RequireDocker(t)
	code, _, stderr := whittle(t, "run", "whittle-test/no-such-image:1", "--spec", "../../testdata/targets/gopets/openapi.yaml", "--auto")
	line := errorLine(t, stderr)
	if code != exitError || !strings.Contains(line, "image not found: whittle-test/no-such-image:1") {
		t.Fatalf("exit %d, error line %q", code, line)
	}
	assertNoOwnContainers(t, cli)
}

func TestNotRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to drop to an unprivileged user")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("SKIP: setpriv (util-linux) not installed")
	}
	bin := filepath.Join(t.TempDir(), "whittle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building whittle: %v\n%s", err, out)
	}
	os.Chmod(filepath.Dir(bin), 0o755)
	spec, _ := filepath.Abs("../../testdata/targets/gopets/openapi.yaml")
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin,
		"run", "whittle-fixture/gopets:latest", "--spec", spec, "--auto")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitError {
		t.Fatalf("want exit %d, got %v; stderr:\n%s", exitError, err, stderr.String())
	}
	line := errorLine(t, stderr.String())
	if !strings.Contains(line, "root") {
		t.Fatalf("error line %q should say root is needed", line)
	}
}

const startupServer = `package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "die" {
		fmt.Println("loading /etc/app.conf")
		fmt.Println("fatal: database url missing")
		os.Exit(4)
	}
	time.Sleep(time.Hour)
	http.ListenAndServe(":8080", nil)
}
`

const tinySpec = `openapi: 3.0.3
info: {title: tiny, version: "1"}
paths:
  /:
    get:
      responses:
        "200": {description: ok}
`

func TestTargetFailsToStart(t *testing.T) {
	cli := testimage.RequireDocker(t)
	spec := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(spec, []byte(tinySpec), 0o644); err != nil {
		t.Fatal(err)
	}
	die := testimage.GoProgram(t, cli, "whittle-test/cli-die:1", startupServer, nil, `ENTRYPOINT ["/app", "die"]`, `EXPOSE 8080`)
	mute := testimage.GoProgram(t, cli, "whittle-test/cli-mute:1", startupServer, nil, `ENTRYPOINT ["/app"]`, `EXPOSE 8080`)

	t.Run("exits during start-up", func(t *testing.T) {
		code, _, stderr := whittle(t, "run", die, "--spec", spec, "--auto")
		line := errorLine(t, stderr)
		if code != exitError || !strings.Contains(line, "target exited during start-up with status 4") {
			t.Fatalf("exit %d, error line %q", code, line)
		}
		if !strings.Contains(stderr, "fatal: database url missing") {
			t.Fatalf("the last log lines must be shown:\n%s", stderr)
		}
		assertNoOwnContainers(t, cli)
	})
	t.Run("never ready", func(t *testing.T) {
		code, _, stderr := whittle(t, "run", mute, "--spec", spec, "--auto", "--ready-timeout", "2s")
		line := errorLine(t, stderr)
		if code != exitError || !strings.Contains(line, "never became ready") || !strings.Contains(line, "--ready-timeout") {
			t.Fatalf("exit %d, error line %q", code, line)
		}
		assertNoOwnContainers(t, cli)
	})
}
