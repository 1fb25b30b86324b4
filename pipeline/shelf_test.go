package pipeline

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/upkeep"
)

// shelf (testdata/targets/shelf) is a Go service built as distributions
// build Go programs: in GOPATH mode, so its build info names the main
// package's import path but no module, with a vendored dependency; static
// and stripped. It is stateful: every item and event created makes its
// lists slower, items can be deleted, events cannot.
const (
	shelfImage = "whittle-fixture/shelf:latest"
	shelfSpec  = "../testdata/targets/shelf/openapi.yaml"
	shelfRoot  = "github.com/acme/shelf"
)

func logged(logs []string, part string) string {
	for _, l := range logs {
		if strings.Contains(l, part) {
			return l
		}
	}
	return ""
}

// A module-less Go binary is covered by its application's packages, not
// package main alone (hit entirely at start-up) nor the standard library or
// vendored code; what the run created is deleted as it goes; the minimal
// image answers the corpus identically.
func TestShelfEndToEnd(t *testing.T) {
	requireFixture(t, shelfImage)
	const tag = "whittle-test/shelf:e2e"
	t.Cleanup(func() { removeImage(tag) })
	// Its fuzzing deletes about as many items as it creates: a low bound
	// makes the collector's deletes certain.
	rep, logs := runPipelineLogged(t, Config{Image: shelfImage, Spec: shelfSpec, Seed: 1, Duration: 30 * time.Second, Tag: tag, maxLive: 4})
	assertVerified(t, rep, 20)
	assertEveryOperationSucceeded(t, rep)

	sc := rep.Trace.CoverageScope
	if sc == nil {
		t.Fatalf("the report does not say which coverage scope was chosen (trace: %+v)", rep.Trace)
	}
	if sc.From != "build-info path" || sc.Root != shelfRoot {
		t.Fatalf("scope %+v: want the repository root %s derived from the build-info path", sc, shelfRoot)
	}
	for _, p := range []string{"main", shelfRoot + "/api", shelfRoot + "/store", shelfRoot + "/render", shelfRoot + "/events"} {
		if !slices.Contains(sc.Packages, p) {
			t.Errorf("package %s not in scope (%q)", p, sc.Packages)
		}
	}
	for _, p := range sc.Packages {
		if p != "main" && !strings.HasPrefix(p, shelfRoot+"/") || strings.Contains(p, "/vendor/") {
			t.Errorf("package %s is in scope: not the application's own", p)
		}
	}
	if sc.Functions < 30 || rep.Trace.FunctionsTotal == 0 || rep.Trace.FunctionsTotal > sc.Functions {
		t.Errorf("scope holds %d functions, %d probed: want the application's dozens", sc.Functions, rep.Trace.FunctionsTotal)
	}
	line := logged(logs, "coverage scope:")
	if !strings.Contains(line, shelfRoot+"/...") || !strings.Contains(line, "build-info path") || !strings.Contains(line, "vendor") {
		t.Errorf("log line %q does not say which scope, how and what was excluded", line)
	}

	// Coverage grows while fuzzing: the requests reach most functions of
	// the scope, which start-up (run before the probes were attached) did
	// not count.
	tl := rep.Fuzz.Timeline
	if len(tl) < 2 || tl[0].Requests != 0 {
		t.Fatalf("timeline %+v: want a first sample before any request", tl)
	}
	start, end := tl[0].Functions, rep.Trace.Functions
	if end < 2*start || end < rep.Trace.FunctionsTotal/2 {
		t.Errorf("functions hit: %d at start-up, %d at the end of %d probed: coverage did not grow with the requests", start, end, rep.Trace.FunctionsTotal)
	}
	t.Logf("scope %s (%d functions, %d packages); functions hit: %d at start-up, %d after %d requests",
		sc.Root, sc.Functions, len(sc.Packages), start, end, rep.Fuzz.Requests)

	// What the run created is deleted with real requests, counted apart.
	if rep.Fuzz.GCDeletes == 0 || rep.Fuzz.GCDeleteFailures != 0 {
		t.Errorf("gc deletes %d (failures %d): the items the run created were not deleted (%d restarts, %d for latency; operations %+v)", rep.Fuzz.GCDeletes, rep.Fuzz.GCDeleteFailures, rep.Fuzz.Restarts, rep.Fuzz.LatencyRestarts, rep.Fuzz.Operations)
	}
	if l := logged(logs, "DELETE requests removed what the run created"); l == "" {
		t.Error("the log does not say what the run deleted")
	}
	for _, o := range rep.Fuzz.Operations {
		if o.Requests > 0 && o.LatencyMean <= 0 {
			t.Errorf("%s: no latency in the report (%+v)", o.Operation, o)
		}
	}
}

// A target whose answers keep slowing down as the run fills it (shelf's
// activity log only grows) is replaced by a fresh container: the restart
// is logged with its reason and counted, and the corpus, found across
// restarts, still verifies identically.
func TestShelfLatencyRestart(t *testing.T) {
	requireFixture(t, shelfImage)
	const tag = "whittle-test/shelf:latency"
	t.Cleanup(func() { removeImage(tag) })
	// The default policy, with a shorter gap so that a short run shows it.
	policy := upkeep.DefaultLatencyPolicy
	policy.MinGap = 8 * time.Second
	rep, logs := runPipelineLogged(t, Config{Image: shelfImage, Spec: shelfSpec, Seed: 2, Duration: 40 * time.Second, Tag: tag, latency: &policy})
	assertVerified(t, rep, 20)
	f := rep.Fuzz
	if f.LatencyRestarts == 0 || f.Restarts < f.LatencyRestarts {
		t.Fatalf("restarts %d, for latency %d: the growing target was not restarted", f.Restarts, f.LatencyRestarts)
	}
	line := logged(logs, "target restarted: latency grew:")
	if line == "" {
		t.Fatal("the latency restart was not logged")
	}
	if summary := logged(logs, "restarts because latency kept growing"); !strings.Contains(summary, "; "+strconv.Itoa(f.LatencyRestarts)+" restarts") {
		t.Errorf("summary line %q does not count %d latency restarts", summary, f.LatencyRestarts)
	}
	t.Logf("%d latency restarts in %.0f s (%d requests): %s", f.LatencyRestarts, f.Duration, f.Requests, line)

	// Keeping the state: one ever slower container, nothing deleted.
	kept, _ := runPipelineLogged(t, Config{Image: shelfImage, Spec: shelfSpec, Seed: 2, Duration: 25 * time.Second,
		Tag: tag, KeepState: true, latency: &policy})
	if kept.Fuzz.LatencyRestarts != 0 || kept.Fuzz.GCDeletes != 0 {
		t.Errorf("--keep-state: %d latency restarts, %d deletes", kept.Fuzz.LatencyRestarts, kept.Fuzz.GCDeletes)
	}
	t.Logf("keeping the state: %d requests in %.0f s", kept.Fuzz.Requests, kept.Fuzz.Duration)
}
