package pipeline

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
)

// Live coverage on the runtimes whose code the tracer's uprobes do not see
// alone: a Python application installed as a Debian package behind
// gunicorn's pre-fork workers, and a Node.js/Express service with cluster
// workers. Each run must show the application's scope, coverage beyond
// start-up found by the fuzzer (new functions reported while fuzzing, and
// the corpus growing from them), and a minimal image that answers alike.

// coverageRun runs the pipeline and keeps the NewCoverage events and logs.
func coverageRun(t *testing.T, cfg Config) (*report.Report, []event.NewCoverage, []string) {
	t.Helper()
	bus := event.NewBus()
	var mu sync.Mutex
	var news []event.NewCoverage
	var logs []string
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			e, ok := bus.Next(context.Background())
			if !ok {
				return
			}
			mu.Lock()
			switch e := e.(type) {
			case event.NewCoverage:
				news = append(news, e)
			case event.Log:
				logs = append(logs, e.Msg)
				if e.Level >= event.LevelWarn {
					t.Logf("%s: %s", e.Level, e.Msg)
				}
			}
			mu.Unlock()
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
	return rep, news, logs
}

// assertLiveCoverage checks the independent signs that the feedback is
// live: functions first hit by requests, NewCoverage events naming
// functions after the first pass, the coverage over time growing, the
// corpus holding more than one entry per operation.
func assertLiveCoverage(t *testing.T, rep *report.Report, news []event.NewCoverage) {
	t.Helper()
	cc := rep.Trace.CodeCoverage
	if cc == nil || cc.Kind == "" || cc.Why != "" {
		t.Fatalf("code coverage: %+v", cc)
	}
	t.Logf("coverage: %s via %s, %d processes; functions %d/%d (start-up %d, requests %d); units %d (start-up %d, requests %d)",
		cc.Kind, cc.Mechanism, cc.Processes, cc.Functions, cc.FunctionsTotal, cc.FunctionsAtStartup, cc.FunctionsByRequests, cc.Units, cc.UnitsAtStartup, cc.UnitsByRequests)
	if cc.FunctionsByRequests == 0 || cc.Functions <= cc.FunctionsAtStartup || cc.Functions > cc.FunctionsTotal+cc.FunctionsByRequests {
		t.Errorf("no live coverage beyond start-up: %+v", cc)
	}
	if rep.Trace.Functions != cc.Functions && rep.Trace.Functions < cc.FunctionsByRequests {
		t.Errorf("trace.functions %d against code_coverage %+v", rep.Trace.Functions, cc)
	}
	var withFunctions []event.NewCoverage
	for _, n := range news {
		if strings.Contains(n.What, "functions") {
			withFunctions = append(withFunctions, n)
		}
	}
	if len(withFunctions) < 3 {
		t.Errorf("%d NewCoverage events name functions, want several: %+v", len(withFunctions), news)
	} else if first, last := withFunctions[0].At, withFunctions[len(withFunctions)-1].At; !last.After(first) {
		t.Errorf("new functions reported at one instant only (%v): not while fuzzing", first)
	}
	if tl := rep.Fuzz.Timeline; len(tl) < 2 || tl[len(tl)-1].Functions <= tl[0].Functions {
		t.Errorf("functions over time do not grow: %+v", tl)
	}
	if rep.Fuzz.CorpusSize <= rep.Spec.Operations {
		t.Errorf("corpus of %d entries for %d operations: it did not grow from the feedback", rep.Fuzz.CorpusSize, rep.Spec.Operations)
	}
}

func TestPkgshopEndToEnd(t *testing.T) {
	const img = "whittle-fixture/pkgshop:latest"
	requireFixture(t, img)
	rep, news, logs := coverageRun(t, Config{Image: img, Seed: 1, Duration: 60 * time.Second, Tag: "whittle-test/pkgshop-e2e:latest"})
	checkCoverageExport(t, rep, exportCase{from: "/usr/lib/python3/dist-packages", to: "../testdata/targets/pkgshop/pkg/usr/lib/python3/dist-packages",
		covered: []string{"items", "orders"}})
	t.Cleanup(func() { removeImage("whittle-test/pkgshop-e2e:latest") })
	assertVerified(t, rep, 10)
	assertLiveCoverage(t, rep, news)
	cc := rep.Trace.CodeCoverage
	const pkg = "/usr/lib/python3/dist-packages/pkgshop/"
	if cc.Kind != "python-lines" || !strings.Contains(cc.ScopeFrom, "console script /usr/bin/pkgshop") || !strings.Contains(cc.ScopeFrom, "dist-packages") {
		t.Errorf("scope not found from the console script: %+v", cc)
	}
	for _, f := range []string{pkg + "app.py", pkg + "catalog.py", pkg + "server.py", pkg + "exporters/tsv.py"} {
		if !slices.Contains(cc.ScopeFiles, f) {
			t.Errorf("scope files lack %s: %v", f, cc.ScopeFiles)
		}
	}
	if cc.FunctionsTotal < 20 {
		t.Errorf("%d functions in scope, want the package's (more than 20)", cc.FunctionsTotal)
	}
	if !slices.ContainsFunc(logs, func(l string) bool {
		return strings.HasPrefix(l, "coverage scope files:") && strings.Contains(l, pkg+"app.py")
	}) {
		t.Errorf("the log does not list the scope's files")
	}
	// The templates are chosen by a path value: kept whole.
	kept := keptPaths(rep)
	for _, p := range []string{pkg + "templates/home.html", pkg + "templates/catalog.html", pkg + "templates/about.html", "/tmp"} {
		if _, ok := kept[p]; !ok {
			t.Errorf("%s missing from the minimal image", p)
		}
	}
}

func TestNodeviewsEndToEnd(t *testing.T) {
	const img = "whittle-fixture/nodeviews:latest"
	requireFixture(t, img)
	rep, news, logs := coverageRun(t, Config{Image: img, Seed: 1, Duration: 60 * time.Second, Tag: "whittle-test/nodeviews-e2e:latest"})
	checkCoverageExport(t, rep, exportCase{from: "/srv/nodeviews", to: "../testdata/targets/nodeviews/app",
		covered: []string{"create", "list"}, never: []string{"neverCalled"}})
	t.Cleanup(func() { removeImage("whittle-test/nodeviews-e2e:latest") })
	assertVerified(t, rep, 5)
	assertLiveCoverage(t, rep, news)
	cc := rep.Trace.CodeCoverage
	// The cluster primary and its 2 workers; after a restart, the spare
	// container's too.
	if cc.Kind != "v8-blocks" || cc.Processes < 3 || cc.Processes%3 != 0 || !strings.Contains(cc.ScopeFrom, "/srv/nodeviews/server.js") {
		t.Errorf("want V8 coverage of the cluster primary and its 2 workers, scope from the main script: %+v", cc)
	}
	if cc.UnitsByRequests <= cc.FunctionsByRequests {
		t.Errorf("no block coverage beyond functions: %+v", cc)
	}
	for _, f := range cc.ScopeFiles {
		if !strings.HasPrefix(f, "/srv/nodeviews/") {
			t.Errorf("scope file outside the application: %s", f)
		}
	}
	if !slices.Contains(cc.ScopeFiles, "/srv/nodeviews/lib/orders.js") {
		t.Errorf("scope files: %v", cc.ScopeFiles)
	}
	if !slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "V8 precise coverage") }) {
		t.Error("the log does not say which mechanism covers the code")
	}
	// Views are chosen by a query value, converters by a path value: both
	// directories are kept whole.
	kept := keptPaths(rep)
	for _, p := range []string{"/srv/nodeviews/views/summary.ejs", "/srv/nodeviews/views/detail.ejs", "/srv/nodeviews/views/invoice.ejs",
		"/srv/nodeviews/converters/celsius.js", "/srv/nodeviews/converters/rankine.js", "/srv/nodeviews/converters/fahrenheit.js"} {
		if _, ok := kept[p]; !ok {
			t.Errorf("%s missing from the minimal image (selected dirs %+v)", p, rep.Fuzz.SelectedDirs)
		}
	}
	// The minimal image never gets the inspector: its config is the original's.
	e, err := probe.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	orig, err := e.Inspect(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	min, err := e.Inspect(context.Background(), rep.Minimal.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(orig.Env, min.Env) || slices.ContainsFunc(min.Env, func(kv string) bool { return strings.Contains(kv, "--inspect") }) {
		t.Errorf("minimal image environment %v, original %v", min.Env, orig.Env)
	}
}
