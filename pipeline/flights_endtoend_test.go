package pipeline

import (
	"strings"
	"testing"
	"time"
)

// jvmshopRoutes names, for the classes that serve one route of jvmshop,
// the path its operations start with: a function of such a class credited
// to another operation is a false credit. Shared classes (the catalog, the
// HTTP helpers, the codec) are not checked.
var jvmshopRoutes = map[string]string{
	"com.example.jvmshop.web.OrdersHandler":   "/orders",
	"com.example.jvmshop.orders.":             "/orders",
	"com.example.jvmshop.web.ProductsHandler": "/products",
	"com.example.jvmshop.web.RenderHandler":   "/render/",
	"com.example.jvmshop.render.":             "/render/",
	"com.example.jvmshop.web.ExportHandler":   "/export",
	"com.example.jvmshop.export.":             "/export",
	"com.example.jvmshop.web.ConvertHandler":  "/convert",
	"com.example.jvmshop.web.HealthHandler":   "/health",
}

// On a JDK HttpServer with a pool of threads (one request per thread),
// four workers at once still credit each method to the operation whose
// request ran it: by the thread that hit it, with no calibration. Each
// method that serves one route only must be credited to that route.
func TestThreadCreditOnAJVMThreadPool(t *testing.T) {
	requireFixture(t, jvmshopImage)
	rep, logs := runPipelineLogged(t, Config{Image: jvmshopImage, Seed: 3, Duration: 30 * time.Second, Workers: 4,
		FuzzOnly: true, CorpusDir: t.TempDir()})
	c := rep.Fuzz.Concurrency
	if c == nil || c.Workers != 4 {
		t.Fatalf("concurrency %+v: want 4 fixed workers", c)
	}
	if !strings.HasPrefix(c.ThreadCredit, "by the thread") || logged(logs, "coverage: with several requests in flight, credited by the thread") == "" {
		t.Fatalf("thread credit %q: want it on, and logged", c.ThreadCredit)
	}
	if c.Heads == 0 || c.HeadsMatched == 0 || c.ThreadCredited == 0 {
		t.Fatalf("heads %d, matched %d, functions credited by thread %d: want each", c.Heads, c.HeadsMatched, c.ThreadCredited)
	}
	cc := rep.Trace.CodeCoverage
	if cc == nil || cc.ByFunction == nil {
		t.Fatal("no coverage by function in the report")
	}
	checked := 0
	for _, f := range cc.ByFunction.Functions {
		if f.Operation == "" {
			continue
		}
		name := f.Name
		if !strings.Contains(name, ".") {
			name = f.Package + "." + name
		}
		for prefix, route := range jvmshopRoutes {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			checked++
			// Operations are named "METHOD /path".
			if _, path, _ := strings.Cut(f.Operation, " "); !strings.HasPrefix(path, route) {
				t.Errorf("%s credited to %s, which does not reach it (operations on %s do)", name, f.Operation, route)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d route-specific methods credited to an operation", checked)
	}
	t.Logf("%d route methods checked; heads %d (%d matched), by thread %d, unattributed %d, calibrated %d",
		checked, c.Heads, c.HeadsMatched, c.ThreadCredited, c.Unattributed, c.Calibrated)
}
