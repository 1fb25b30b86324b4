package pipeline

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerimage "github.com/docker/docker/api/types/image"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/testimage"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/covdata"
)

// These tests are the acceptance of the whole pipeline on the bundled
// fixtures (make fixtures builds them): real containers, real eBPF.

func requireFixture(t *testing.T, ref string) {
	t.Helper()
	cli := testimage.RequireDocker(t)
	if _, err := cli.ImageInspect(context.Background(), ref); err != nil {
		t.Skipf("SKIP: fixture %s not built (run `make fixtures`): %v", ref, err)
	}
}

func runPipeline(t *testing.T, cfg Config) *report.Report {
	t.Helper()
	rep, _ := runPipelineLogged(t, cfg)
	return rep
}

// runPipelineLogged runs the whole pipeline and returns the report and the
// run's log lines (warnings are also logged to the test).
func runPipelineLogged(t *testing.T, cfg Config) (*report.Report, []string) {
	t.Helper()
	bus := event.NewBus()
	var mu sync.Mutex
	var logs []string
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			e, ok := bus.Next(context.Background())
			if !ok {
				return
			}
			if l, isLog := e.(event.Log); isLog {
				mu.Lock()
				logs = append(logs, l.Msg)
				mu.Unlock()
				if l.Level >= event.LevelWarn {
					t.Logf("%s: %s", l.Level, l.Msg)
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := New(cfg, bus).Execute(ctx)
	bus.Close()
	<-drained
	if err != nil {
		if rep != nil && rep.Verification != nil {
			for _, d := range rep.Verification.Divergences {
				t.Logf("divergence on %s %s (%s):\n original: %s\n minimal:  %s", d.Operation, d.Request, d.Reason, d.Original, d.Minimal)
			}
		}
		t.Fatalf("run of %s failed: %v", cfg.Image, err)
	}
	assertNoContainersLeft(t)
	return rep, logs
}

func assertNoContainersLeft(t *testing.T) {
	t.Helper()
	e, err := probe.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	list, err := e.Client().ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", probe.LabelRun))})
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("%d.", os.Getpid())
	for _, c := range list {
		if strings.HasPrefix(c.Labels[probe.LabelOwner], prefix) {
			t.Errorf("container %s of %s left behind", c.ID[:12], c.Image)
		}
	}
}

func assertVerified(t *testing.T, rep *report.Report, minRatio float64) {
	t.Helper()
	v := rep.Verification
	if v == nil || v.Result != "identical" || v.Total == 0 || v.Identical != v.Total {
		t.Fatalf("verification: %+v", v)
	}
	if rep.Minimal == nil || rep.Ratio < minRatio {
		t.Fatalf("minimal image %+v is %.1fx smaller, want at least %.0fx", rep.Minimal, rep.Ratio, minRatio)
	}
	if rep.Trace.Lost != 0 {
		t.Errorf("tracer lost %d events", rep.Trace.Lost)
	}
	t.Logf("%s: %d → %d bytes (%.1fx), %d files, %d requests, %d/%d identical (seccomp: %s)",
		rep.Original.Ref, rep.Original.Size, rep.Minimal.Size, rep.Ratio, len(rep.Files), rep.Fuzz.Requests, v.Identical, v.Total, v.Seccomp)
}

func assertEveryOperationSucceeded(t *testing.T, rep *report.Report) {
	t.Helper()
	if len(rep.Fuzz.Operations) != rep.Spec.Operations {
		t.Errorf("%d operations in the report, %d in the spec", len(rep.Fuzz.Operations), rep.Spec.Operations)
	}
	for _, o := range rep.Fuzz.Operations {
		if o.Status2xx == 0 {
			t.Errorf("%s never got a 2xx answer (%+v)", o.Operation, o)
		}
	}
}

func assertFindings(t *testing.T, rep *report.Report, want map[string]string) {
	t.Helper()
	for check, op := range want {
		found := false
		for _, f := range rep.Fuzz.Findings {
			found = found || (f.Check == check && f.Operation == op)
		}
		if !found {
			t.Errorf("planted bug not found: %s on %s (findings: %+v)", check, op, rep.Fuzz.Findings)
		}
	}
}

// assertCrashReproducer checks that a crash was found and that its curl
// reproducer holds the step that sets the crash up.
func assertCrashReproducer(t *testing.T, rep *report.Report, step string) {
	t.Helper()
	for _, f := range rep.Fuzz.Findings {
		if f.Check == "crash" && strings.Contains(f.Curl, step) {
			t.Logf("crash found (%d-request reproducer, last %s)", f.Sequence, f.Request)
			return
		}
	}
	t.Errorf("planted crash not found, or its reproducer lacks %q (findings: %+v)", step, rep.Fuzz.Findings)
}

func keptPaths(rep *report.Report) map[string]report.File {
	m := map[string]report.File{}
	for _, f := range rep.Files {
		m[f.Path] = f
	}
	return m
}

func TestGopetsEndToEnd(t *testing.T) {
	const img = "whittle-fixture/gopets:latest"
	requireFixture(t, img)
	rep := runPipeline(t, Config{Image: img, Spec: "../testdata/targets/gopets/openapi.yaml", Seed: 1, Duration: 20 * time.Second})
	checkCoverageExport(t, rep, exportCase{from: "github.com/whittle-dev/gopets", to: "../testdata/targets/gopets",
		covered: []string{"main.(*server).handleListPets", "main.(*server).handleCreatePet"},
		never:   []string{"main.(*server).compactStore"}})
	assertVerified(t, rep, 20)
	assertEveryOperationSucceeded(t, rep)
	assertFindings(t, rep, map[string]string{
		"server-error":    "GET /pets",
		"response-schema": "POST /pets",
	})
	// The crash comes from a goroutine started by DELETE after it answered:
	// the request that meets the dead process may be the next one, so the
	// reproducer, not the finding's last operation, must hold the DELETE.
	assertCrashReproducer(t, rep, "-X 'DELETE'")
	if rep.Verification.Seccomp != "identical under the generated profile" {
		t.Errorf("seccomp: %s", rep.Verification.Seccomp)
	}

	kept := keptPaths(rep)
	// Only the binary, the libraries it loads and the files it reads.
	for _, p := range []string{"/usr/local/bin/gopets", "/etc/gopets/config.json", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6"} {
		if _, ok := kept[p]; !ok {
			t.Errorf("%s missing from the minimal image", p)
		}
	}
	for p := range kept {
		base := path.Base(p)
		if slices.Contains([]string{"sh", "bash", "dash", "apt", "apt-get", "dpkg", "python3", "curl"}, base) ||
			strings.HasPrefix(p, "/usr/share/doc") || strings.HasPrefix(p, "/opt/") || strings.HasPrefix(p, "/var/lib/dpkg") {
			t.Errorf("minimal image keeps %s", p)
		}
	}

	// The breeds directory is selected by a request value: it is kept whole,
	// so a breed the run never asked for still answers like the original.
	var unsent string
	for p, f := range kept {
		if path.Dir(p) == "/usr/share/gopets/breeds" && strings.HasSuffix(p, ".json") && !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.HasPrefix(r, "traced:") }) {
			unsent = strings.TrimSuffix(path.Base(p), ".json")
			break
		}
	}
	if unsent == "" {
		t.Fatalf("every breed file was traced or none was kept: no never-sent breed to check (selected dirs %+v)", rep.Fuzz.SelectedDirs)
	}
	orig := answersFrom(t, img, []string{"/breeds/" + unsent})[0]
	min := answersFrom(t, rep.Minimal.Ref, []string{"/breeds/" + unsent})[0]
	if orig.status != http.StatusOK || orig != min {
		t.Fatalf("breed %q never sent during the run: original answered %d %q, minimal %d %q", unsent, orig.status, orig.body, min.status, min.body)
	}
	t.Logf("never-sent breed %q answered identically by the minimal image", unsent)

	// The baseline simple minifiers use: each operation once. It covers
	// fewer functions, and its minimal image (built the same way) lacks the
	// data files the fuzzed run kept.
	const onceTag = "whittle-test/gopets-once:latest"
	once := runPipeline(t, Config{Image: img, Spec: "../testdata/targets/gopets/openapi.yaml", Seed: 1, Once: true, Tag: onceTag})
	t.Cleanup(func() { removeImage(onceTag) })
	assertVerified(t, once, 20)
	if once.Trace.Functions >= rep.Trace.Functions {
		t.Errorf("fuzzing hit %d application functions, each-operation-once %d: fuzzing must cover strictly more", rep.Trace.Functions, once.Trace.Functions)
	}
	t.Logf("application functions hit: fuzzing %d, each operation once %d (of %d)", rep.Trace.Functions, once.Trace.Functions, rep.Trace.FunctionsTotal)
	if got := answersFrom(t, onceTag, []string{"/breeds/" + unsent})[0]; got == orig {
		t.Errorf("the each-operation-once image answers /breeds/%s like the original: the comparison shows nothing", unsent)
	} else {
		t.Logf("each-operation-once image answers /breeds/%s with %d (original: %d)", unsent, got.status, orig.status)
	}
}

func removeImage(ref string) {
	e, err := probe.Connect(context.Background())
	if err != nil {
		return
	}
	defer e.Close()
	_, _ = e.Client().ImageRemove(context.Background(), ref, dockerimage.RemoveOptions{Force: true})
}

type httpAnswer struct {
	status int
	body   string
}

// startedTarget starts a container of ref and waits until it answers. The
// caller removes it (Remove may be called again: the test's end does, in
// case the caller failed first).
func startedTarget(t *testing.T, ctx context.Context, ref string) *probe.Target {
	t.Helper()
	e, err := probe.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	img, err := e.Inspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := e.Create(ctx, img, probe.WithRun("pipeline-test-answers"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Remove(context.Background()) })
	if err := tgt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tgt.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return tgt
}

// answersFrom starts a container of ref and asks it each GET in turn.
func answersFrom(t *testing.T, ref string, paths []string) []httpAnswer {
	t.Helper()
	tgt := startedTarget(t, context.Background(), ref)
	defer tgt.Remove(context.Background())
	out := make([]httpAnswer, len(paths))
	for i, p := range paths {
		resp, err := http.Get(tgt.BaseURL + p)
		if err != nil {
			t.Fatalf("GET %s on %s: %v", p, ref, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out[i] = httpAnswer{resp.StatusCode, string(b)}
	}
	return out
}

func TestPypetsEndToEnd(t *testing.T) {
	const img = "whittle-fixture/pypets:latest"
	requireFixture(t, img)
	// No spec given: it is discovered on the target (/openapi.json). The
	// budget is counted in requests: a crash's restart and minimisation can
	// take most of 20 s on a loaded machine, and the planted 500 would then
	// never be reached. The duration is only a ceiling.
	rep := runPipeline(t, Config{Image: img, Seed: 1, MaxRequests: 2000, Duration: 2 * time.Minute})
	checkCoverageExport(t, rep, exportCase{from: "/app", to: "../testdata/targets/pypets/app",
		covered: []string{"list_items", "create_item"}, never: []string{"purge_tombstones"}})
	assertVerified(t, rep, 5)
	assertEveryOperationSucceeded(t, rep)
	assertFindings(t, rep, map[string]string{
		"server-error": "GET /items",
	})
	assertCrashReproducer(t, rep, "-X 'DELETE'")
	assertRestartStartupIsNoRequestsMerit(t, rep, "/app/pypets/models.py")
	kept := keptPaths(rep)
	// The module imported only when format=xml, and what it imports.
	lazy := false
	for p := range kept {
		lazy = lazy || strings.HasPrefix(p, "/app/pypets/exporters/__pycache__/xml_export.") || p == "/app/pypets/exporters/xml_export.py"
	}
	if !lazy {
		t.Error("the lazily imported exporter module is missing from the minimal image")
	}
	if _, ok := kept["/usr/lib/python3.11/xml/dom/minidom.py"]; !ok {
		t.Error("xml.dom.minidom (imported by the lazy exporter) is missing from the minimal image")
	}
	if _, ok := kept["/usr/bin/apt"]; ok {
		t.Error("the minimal image keeps apt")
	}
}

// assertRestartStartupIsNoRequestsMerit checks that the module body of
// file, run only when a container starts, was seen in a restarted
// container (the first ones start with the costly coverage on) and counts
// as start-up, credited to no request: the coverage probes attach to the
// first container once it is ready, so its own start-up is never seen.
func assertRestartStartupIsNoRequestsMerit(t *testing.T, rep *report.Report, file string) {
	t.Helper()
	if rep.Fuzz.Restarts == 0 {
		t.Fatalf("the run never restarted its target: nothing to check")
	}
	cc := rep.Trace.CodeCoverage
	if cc == nil || cc.ByFunction == nil {
		t.Fatal("no function coverage in the report")
	}
	found := false
	for _, fn := range cc.ByFunction.Functions {
		if fn.File != file || fn.Name != "<module>" {
			continue
		}
		found = true
		if fn.State != covdata.Startup || fn.Operation != "" {
			t.Errorf("%s <module>: state %q, credited to %q; want start-up, no request's", file, fn.State, fn.Operation)
		}
	}
	if !found {
		t.Errorf("%s <module> was not seen in any of %d restarted containers", file, rep.Fuzz.Restarts)
	}
}
