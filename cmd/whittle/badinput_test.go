package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/testimage"
	"github.com/whittle-dev/whittle/report"
)

// The bad-input matrix of the CLI: each case gives one clear line naming
// the problem and the fix, the right exit code, and leaves nothing behind;
// or, where the input is merely hostile (a hanging or endless target,
// redirects, huge or cyclic specs), the run goes on and completes.

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const unresolvedRefSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
`

func TestSpecProblems(t *testing.T) {
	// Spec problems are found before anything starts: no Docker needed.
	dir := t.TempDir()
	cases := []struct {
		name string
		spec string
		want []string
	}{
		{"a directory", dir, []string{"spec " + dir + ": read " + dir + ": is a directory", "fix: pass the spec file, not a directory"}},
		{"unresolved $ref", writeFile(t, "ref.yaml", unresolvedRefSpec), []string{"ref.yaml:11:", `unresolved $ref "#/components/schemas/Pet"`, "fix: define the referenced component"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := whittle(t, "run", "whittle-test/any:1", "--spec", c.spec, "--auto")
			line := errorLine(t, stderr)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("error line %q lacks %q", line, w)
				}
			}
		})
	}
}

// As root every file is readable, so the unreadable spec is tried as an
// unprivileged user; the spec is read before the root check.
func TestSpecUnreadable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to drop to an unprivileged user")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("SKIP: setpriv (util-linux) not installed")
	}
	bin := buildWhittle(t)
	os.Chmod(filepath.Dir(bin), 0o755)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	spec := filepath.Join(dir, "openapi.yaml")
	if err := os.WriteFile(spec, []byte(tinySpec), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin,
		"run", "whittle-test/any:1", "--spec", spec, "--auto")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitError {
		t.Fatalf("want exit %d, got %v; stderr:\n%s", exitError, err, stderr.String())
	}
	line := errorLine(t, stderr.String())
	want := "whittle: spec " + spec + ": permission denied (fix: make the file readable by the user running whittle)"
	if line != want {
		t.Errorf("error line %q, want %q", line, want)
	}
}

func TestEngineWrongAPI(t *testing.T) {
	cli := testimage.RequireDocker(t)
	// An engine that speaks an old API, on a socket of its own.
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.25")
		w.Header().Set("Ostype", "linux")
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			fmt.Fprint(w, "OK")
			return
		}
		http.Error(w, `{"message":"not implemented"}`, http.StatusNotImplemented)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	cases := []struct {
		name     string
		env      map[string]string
		wantLine []string
	}{
		{"forced too old", map[string]string{"DOCKER_API_VERSION": "1.12"},
			[]string{"unsupported Docker engine API version: DOCKER_API_VERSION=1.12 is older than whittle needs (1.40 or newer)", "fix: unset DOCKER_API_VERSION"}},
		{"forced too new", map[string]string{"DOCKER_API_VERSION": "1.99"},
			[]string{"DOCKER_API_VERSION=1.99 is newer than the engine at ", "fix: unset DOCKER_API_VERSION"}},
		{"forced garbage", map[string]string{"DOCKER_API_VERSION": "abc"},
			[]string{`DOCKER_API_VERSION="abc" is not an API version`}},
		{"old engine", map[string]string{"DOCKER_HOST": "unix://" + sock},
			[]string{"the engine at unix://" + sock + " speaks API 1.25; whittle needs 1.40 or newer", "fix: upgrade Docker"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, _, stderr := whittle(t, "run", gopetsImage, "--spec", gopetsSpec, "--auto")
			line := errorLine(t, stderr)
			if code != exitError {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			for _, w := range c.wantLine {
				if !strings.Contains(line, w) {
					t.Errorf("error line %q lacks %q", line, w)
				}
			}
			assertNoOwnContainers(t, cli)
		})
	}
}

// hostileServer is a target with endpoints that misbehave in the ways the
// fuzzer must survive.
const hostileServer = `package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
)

func main() {
	js := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/r") { // the huge spec's operations
			io.Copy(io.Discard, r.Body)
			js(w, 200, map[string]any{"id": 1, "name": "x"})
			return
		}
		if r.URL.Path != "/" {
			js(w, 404, map[string]string{"error": "not found"})
			return
		}
		js(w, 200, map[string]bool{"ok": true})
	})
	http.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		js(w, 200, map[string]string{"q": r.URL.Query().Get("q")})
	})
	// Hangs until the client gives up.
	http.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	// Never ends.
	http.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := []byte(strings.Repeat("whittle ", 8192))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	// Sends the client elsewhere.
	http.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) {
		to := os.Getenv("REDIRECT_A")
		if r.URL.Query().Get("to") == "b" {
			to = os.Getenv("REDIRECT_B")
		}
		http.Redirect(w, r, to, http.StatusFound)
	})
	// Echoes a tree.
	http.HandleFunc("/tree", func(w http.ResponseWriter, r *http.Request) {
		var v any
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			js(w, 400, map[string]string{"error": err.Error()})
			return
		}
		js(w, 201, v)
	})
	http.ListenAndServe(":8080", nil)
}
`

func hostileImage(t *testing.T, name string, changes ...string) string {
	t.Helper()
	cli := testimage.RequireDocker(t)
	return testimage.GoProgram(t, cli, "whittle-test/hostile-"+name+":1", hostileServer, nil, append([]string{`ENTRYPOINT ["/app"]`}, changes...)...)
}

func specWith(paths string) string {
	return "openapi: 3.0.3\ninfo: {title: hostile, version: \"1\"}\npaths:\n" + `  /ok:
    get:
      parameters:
        - {name: q, in: query, schema: {type: string, maxLength: 8}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {q: {type: string}}}
` + paths
}

// runHostile runs whittle in this process and returns its exit code,
// stderr and report.
func runHostile(t *testing.T, image, spec string, extra ...string) (int, string, *report.Report) {
	t.Helper()
	cli := testimage.RequireDocker(t)
	reportPath := filepath.Join(t.TempDir(), "report.json")
	args := append([]string{"run", image, "--spec", spec, "--auto", "--seed", "1", "--duration", "5s",
		"--request-timeout", "1s", "--tag", testTag(t, cli, "hostile"), "-o", "json=" + reportPath}, extra...)
	code, _, stderr := whittle(t, args...)
	assertNoOwnContainers(t, cli)
	var rep *report.Report
	if _, err := os.Stat(reportPath); err == nil {
		rep = readReport(t, reportPath)
	}
	return code, stderr, rep
}

func operation(t *testing.T, rep *report.Report, id string) report.Operation {
	t.Helper()
	for _, o := range rep.Fuzz.Operations {
		if o.Operation == id {
			return o
		}
	}
	t.Fatalf("no operation %s in the report", id)
	return report.Operation{}
}

func requireCompleted(t *testing.T, code int, stderr string, rep *report.Report) {
	t.Helper()
	if code != exitOK || rep == nil {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, stderr)
	}
	if rep.Verification == nil || rep.Verification.Result != "identical" {
		t.Fatalf("verification %+v; stderr:\n%s", rep.Verification, stderr)
	}
}

func TestImageWithoutExposedPort(t *testing.T) {
	img := hostileImage(t, "noport") // no EXPOSE
	spec := writeFile(t, "openapi.yaml", specWith(""))
	code, stderr, _ := runHostile(t, img, spec)
	line := errorLine(t, stderr)
	if code != exitError || !strings.Contains(line, "image exposes no TCP port: "+img) || !strings.Contains(line, "pass --port") {
		t.Fatalf("exit %d, error line %q", code, line)
	}
	// The fix the line names works.
	code, stderr, rep := runHostile(t, img, spec, "--port", "8080")
	requireCompleted(t, code, stderr, rep)
}

func TestTargetHangsMidRun(t *testing.T) {
	img := hostileImage(t, "hang", `EXPOSE 8080`)
	spec := writeFile(t, "openapi.yaml", specWith(`  /slow:
    get:
      responses:
        "200": {description: ok}
`))
	code, stderr, rep := runHostile(t, img, spec)
	requireCompleted(t, code, stderr, rep)
	timeouts := 0
	for _, f := range rep.Fuzz.Findings {
		if f.Operation == "GET /slow" && f.Check == "timeout" {
			timeouts++
		}
	}
	if timeouts == 0 {
		t.Errorf("no timeout finding for GET /slow: %+v", rep.Fuzz.Findings)
	}
	if ok := operation(t, rep, "GET /ok"); ok.Status2xx == 0 {
		t.Errorf("the run did not go on after the hang: %+v", ok)
	}
	t.Logf("%d requests; GET /slow: %+v", rep.Fuzz.Requests, operation(t, rep, "GET /slow"))
}

func TestEndlessResponse(t *testing.T) {
	img := hostileImage(t, "stream", `EXPOSE 8080`)
	spec := writeFile(t, "openapi.yaml", specWith(`  /stream:
    get:
      responses:
        "200":
          description: ok
          content:
            application/octet-stream:
              schema: {type: string, format: binary}
`))
	code, stderr, rep := runHostile(t, img, spec)
	requireCompleted(t, code, stderr, rep)
	st := operation(t, rep, "GET /stream")
	if st.Status2xx == 0 {
		t.Fatalf("GET /stream never answered: %+v", st)
	}
	var peak uint64
	for _, s := range rep.Fuzz.Timeline {
		peak = max(peak, s.HeapBytes)
	}
	t.Logf("GET /stream answered %d times (each capped at 1 MiB); peak heap %d MiB", st.Status2xx, peak>>20)
	if peak == 0 || peak > 256<<20 {
		t.Errorf("peak heap %d MiB: the cap on answers does not hold memory down", peak>>20)
	}
}

// countingListener counts the connections made to it.
type countingListener struct {
	ln    net.Listener
	conns atomic.Int64
}

func listen(t *testing.T, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &countingListener{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

// hostAddress is an IPv4 address of this machine that is not loopback.
func hostAddress() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	testimage.RequireDocker(t)
	local := listen(t, "127.0.0.1:0") // reachable, but another port than the target's
	addrB := "http://192.0.2.1/elsewhere"
	var remote *countingListener
	if h := hostAddress(); h != "" {
		remote = listen(t, net.JoinHostPort(h, "0"))
		addrB = "http://" + remote.ln.Addr().String() + "/elsewhere"
	} else {
		t.Log("no non-loopback address on this machine: redirecting to a documentation address instead")
	}
	img := hostileImage(t, "redirect", `EXPOSE 8080`,
		"ENV REDIRECT_A=http://"+local.ln.Addr().String()+"/elsewhere", "ENV REDIRECT_B="+addrB)
	spec := writeFile(t, "openapi.yaml", specWith(`  /go:
    get:
      parameters:
        - {name: to, in: query, required: true, schema: {type: string, enum: [a, b]}}
      responses:
        "302": {description: elsewhere}
`))
	code, stderr, rep := runHostile(t, img, spec)
	requireCompleted(t, code, stderr, rep)
	if op := operation(t, rep, "GET /go"); op.Requests == 0 || op.Errors > 0 {
		t.Errorf("GET /go: %+v (redirects are answers, not errors)", op)
	}
	if n := local.conns.Load(); n > 0 {
		t.Errorf("%d connection(s) to the loopback redirect target: redirects were followed", n)
	}
	if remote != nil {
		if n := remote.conns.Load(); n > 0 {
			t.Errorf("%d connection(s) to %s: traffic left 127.0.0.1", n, remote.ln.Addr())
		}
	}
}

const cyclicSpec = `  /tree:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Node"}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Node"}
        "400": {description: bad}
components:
  schemas:
    Node:
      type: object
      required: [value]
      properties:
        value: {type: integer}
        parent: {$ref: "#/components/schemas/Node"}
        children:
          type: array
          items: {$ref: "#/components/schemas/Node"}
`

func TestCyclicSchemaRuns(t *testing.T) {
	img := hostileImage(t, "tree", `EXPOSE 8080`)
	spec := writeFile(t, "openapi.yaml", specWith(cyclicSpec))
	code, stderr, rep := runHostile(t, img, spec)
	requireCompleted(t, code, stderr, rep)
	if op := operation(t, rep, "POST /tree"); op.Status2xx == 0 {
		t.Errorf("POST /tree never accepted a generated tree: %+v", op)
	}
}

// stampedWriter notes when a line containing mark is first written.
type stampedWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	mark string
	at   time.Time
}

func (w *stampedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.at.IsZero() && bytes.Contains(p, []byte(w.mark)) {
		w.at = time.Now()
	}
	return w.buf.Write(p)
}

func hugeSpec(n int) string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: huge, version: '1'}\npaths:\n")
	for i := range n / 2 {
		fmt.Fprintf(&b, "  /r%d/{id}:\n    parameters:\n      - {name: id, in: path, required: true, schema: {type: integer}}\n", i)
		fmt.Fprintf(&b, "    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Thing'}\n")
		fmt.Fprintf(&b, "    put:\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/Thing'}\n      responses:\n        '200': {description: ok}\n")
	}
	b.WriteString("components:\n  schemas:\n    Thing:\n      type: object\n      properties:\n        id: {type: integer}\n        name: {type: string, maxLength: 20}\n        child: {$ref: '#/components/schemas/Thing'}\n")
	return b.String()
}

// Thousands of operations: whittle must start fuzzing within seconds. The
// time is logged (a benchmark figure), only correctness is asserted.
func TestHugeSpec(t *testing.T) {
	cli := testimage.RequireDocker(t)
	img := hostileImage(t, "huge", `EXPOSE 8080`)
	spec := writeFile(t, "huge.yaml", hugeSpec(4000))
	reportPath := filepath.Join(t.TempDir(), "report.json")
	stderr := &stampedWriter{mark: "[fuzz] 4000 operations"}
	var stdout bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	began := time.Now()
	code := run(ctx, []string{"run", img, "--spec", spec, "--auto", "--seed", "1", "--duration", "5s",
		"--tag", testTag(t, cli, "huge"), "-o", "json=" + reportPath}, strings.NewReader(""), &stdout, stderr)
	total := time.Since(began)
	assertNoOwnContainers(t, cli)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.buf.String())
	}
	if stderr.at.IsZero() {
		t.Fatalf("fuzzing never started on 4000 operations; stderr:\n%s", stderr.buf.String())
	}
	rep := readReport(t, reportPath)
	if rep.Spec.Operations != 4000 || len(rep.Fuzz.Operations) != 4000 {
		t.Errorf("report: %d operations in the spec, %d fuzzed", rep.Spec.Operations, len(rep.Fuzz.Operations))
	}
	if rep.Verification == nil || rep.Verification.Result != "identical" {
		t.Errorf("verification %+v", rep.Verification)
	}
	t.Logf("4000 operations (%d KiB spec): fuzzing started %s after launch; whole run %s, %d requests",
		len(hugeSpec(4000))>>10, stderr.at.Sub(began).Round(time.Millisecond), total.Round(time.Millisecond), rep.Fuzz.Requests)
}

// runWithMissingFeature runs whittle on gopets for a few seconds with a
// kernel feature simulated absent: the run must complete, say so in the log
// line want, and leave no container behind.
func runWithMissingFeature(t *testing.T, point faults.Point, tag, want string) *report.Report {
	t.Helper()
	cli := requireGopets(t)
	t.Cleanup(faults.Set(point, func() error { return errors.New("simulated: this kernel lacks it") }))
	reportPath := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := whittle(t, "run", gopetsImage, "--spec", gopetsSpec, "--auto", "--seed", "1", "--duration", "3s",
		"--tag", testTag(t, cli, tag), "-o", "json="+reportPath)
	assertNoOwnContainers(t, cli)
	if code != exitOK && code != exitDiverged { // exit 3: completed, the verdict is another matter
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("the log should say %q; stderr:\n%s", want, stderr)
	}
	rep := readReport(t, reportPath)
	if rep.Verification == nil || rep.Verification.Result == "error" {
		t.Errorf("verification %+v", rep.Verification)
	}
	return rep
}

// A kernel without uprobe_multi (simulated at the tracer's feature probe):
// whittle attaches one classic uprobe per function instead, says so, and
// still has code coverage.
func TestNoUprobeMultiFallsBack(t *testing.T) {
	rep := runWithMissingFeature(t, faults.UprobeMulti, "nouprobemulti",
		"warn: coverage: no uprobe_multi links on this kernel (Linux 6.6+), attaching one uprobe per address instead: simulated")
	if !strings.HasSuffix(rep.Trace.Coverage, ", attached by uprobe per address") {
		t.Errorf("report coverage %q should name the classic uprobes", rep.Trace.Coverage)
	}
	if rep.Trace.FunctionsTotal == 0 || rep.Trace.Functions == 0 {
		t.Errorf("report trace: %d of %d functions: coverage should work without uprobe_multi", rep.Trace.Functions, rep.Trace.FunctionsTotal)
	}
}

// A kernel without uprobes at all: file-level coverage, said, and the run
// completes.
func TestNoUprobesFallsBackToFiles(t *testing.T) {
	rep := runWithMissingFeature(t, faults.Uprobe, "nouprobe",
		"warn: no code coverage, falling back to file-level coverage: kernel feature not supported: uprobes: simulated")
	if !strings.HasPrefix(rep.Trace.Coverage, "files only: ") {
		t.Errorf("report coverage %q should say files only", rep.Trace.Coverage)
	}
	if rep.Trace.FunctionsTotal != 0 || rep.Trace.Files == 0 {
		t.Errorf("report trace: %d functions total, %d files", rep.Trace.FunctionsTotal, rep.Trace.Files)
	}
}
