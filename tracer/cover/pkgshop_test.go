package cover

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

const pkgshopImage = "whittle-fixture/pkgshop:latest"

// A Flask application installed as a Debian package, served by gunicorn
// from its console script with threaded pre-fork workers that are forked
// again every few requests: the scope is the package in dist-packages,
// found from the command line, and lines run by threads of workers forked
// after coverage began are reported.
func TestIntegrationCoverPackagedPythonReforks(t *testing.T) {
	requireIntegration(t)
	if err := fixture.Available(pkgshopImage); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
	c, err := fixture.Start(pkgshopImage, 8000, "-e", "PKGSHOP_MAX_REQUESTS=6", "-e", "PKGSHOP_THREADS=4")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.WaitReady(ctx, "/health"); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	tr := newTestTracer(t)
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	cov, err := Attach(ctx, tr, c.Pid, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cov.Close()
	st := cov.Stats()
	const pkg = "/usr/lib/python3/dist-packages/pkgshop/"
	t.Logf("scope: %d functions, %s", st.Total, st.ScopeFrom)
	if st.Kind != PythonLines || !strings.Contains(st.ScopeFrom, "console script /usr/bin/pkgshop") || !slices.Contains(st.ScopeFiles, pkg+"catalog.py") || st.Total < 20 {
		t.Fatalf("scope: %+v", st)
	}
	if !slices.ContainsFunc(cov.Scope(), func(f Function) bool { return f.Name == "never_called" && f.File == pkg+"catalog.py" && f.Line > 0 }) {
		t.Errorf("never_called not in the scope with its line")
	}
	cursor, _, err := cov.Baseline(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) {
		t.Helper()
		resp, err := client.Get("http://" + c.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	before := fixture.ChildPids(c.Pid)
	for i := 0; i < 60; i++ {
		get("/health")
	}
	deadline := time.Now().Add(20 * time.Second)
	for slices.ContainsFunc(fixture.ChildPids(c.Pid), func(p int) bool { return slices.Contains(before, p) }) {
		if time.Now().After(deadline) {
			t.Fatalf("workers %v not all forked again after 60 requests (were %v)", fixture.ChildPids(c.Pid), before)
		}
		get("/health")
	}
	t.Logf("workers %v, forked again after %v", fixture.ChildPids(c.Pid), before)
	syncTracer(t, tr)
	_, cursor = cov.NewSince(cursor)
	get("/export?format=tsv")
	syncTracer(t, tr)
	units, _ := cov.NewSince(cursor)
	if !slices.ContainsFunc(units, func(u string) bool { return strings.HasPrefix(u, pkg+"exporters/tsv.py:export:") }) {
		t.Errorf("a worker forked after coverage began ran the tsv exporter unseen: %v", units)
	}
	for _, u := range units {
		if !strings.HasPrefix(u, pkg) {
			t.Errorf("unit outside the package: %s", u)
		}
	}
	if hits := cov.Hits(); len(hits) == 0 || hits[len(hits)-1].At.IsZero() || hits[len(hits)-1].File == "" {
		t.Errorf("hits carry no file or time: %+v", hits)
	}
}
