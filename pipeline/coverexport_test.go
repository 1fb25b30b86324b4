package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/covdata"
	"github.com/whittle-dev/whittle/report/covdata/covtest"
	"github.com/whittle-dev/whittle/report/lcov"
)

// exportCase says how a fixture's coverage maps onto its sources in this
// repository and what the HTML genhtml makes of its lcov export must show.
type exportCase struct {
	// from is the source path prefix the run records (a Go build's module
	// path, the application's directory in the image); to the fixture's
	// directory holding those sources, relative to this package.
	from, to string
	// more are further FROM=TO rules (TO relative to this package), for
	// sources kept apart (a plugin directory beside the application).
	more []string
	// covered are handlers the run must reach; never the planted
	// functions no request can reach.
	covered, never []string
}

// checkCoverageExport exports a run's coverage as lcov, mapped onto the
// fixture's sources, and checks that genhtml accepts it without a warning
// and that its HTML shows the handlers covered and the planted functions
// not (the acceptance of issue 21, per runtime).
func checkCoverageExport(t *testing.T, rep *report.Report, ec exportCase) {
	t.Helper()
	cc := rep.Trace.CodeCoverage
	if cc == nil || cc.ByFunction == nil {
		t.Fatalf("the report has no coverage by function: %+v", cc)
	}
	c := cc.ByFunction
	total, hit, startup, requests := c.Totals()
	t.Logf("coverage by function: %d of %d hit (%d at start-up, %d by requests), %d packages, top operations %v",
		hit, total, startup, requests, len(c.Packages), firstOps(cc.Operations, 3))
	if requests == 0 || len(cc.Operations) == 0 {
		t.Errorf("no function credited to requests or operations: %+v", cc.Operations)
	}
	to, err := filepath.Abs(ec.to)
	if err != nil {
		t.Fatal(err)
	}
	rules := []string{ec.from + "=" + to}
	for _, r := range ec.more {
		from, rel, _ := strings.Cut(r, "=")
		abs, err := filepath.Abs(rel)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, from+"="+abs)
	}
	m, err := covdata.ParsePathMap(rules)
	if err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(t.TempDir(), "cover.info")
	f, err := os.Create(info)
	if err != nil {
		t.Fatal(err)
	}
	left, err := lcov.Write(f, c, m)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lcov: %d functions outside %s left out", left, ec.from)
	funcs := covtest.Genhtml(t, info)
	for _, name := range ec.covered {
		if n, ok := funcs[name]; !ok || n == 0 {
			t.Errorf("genhtml's HTML shows handler %s with %d hits (listed: %v), want covered", name, n, ok)
		}
	}
	for _, name := range ec.never {
		if n, ok := funcs[name]; !ok || n != 0 {
			t.Errorf("genhtml's HTML shows the planted %s with %d hits (listed: %v), want not covered", name, n, ok)
		}
	}
}

func firstOps(ops []covdata.OperationSummary, n int) []covdata.OperationSummary {
	return ops[:min(n, len(ops))]
}
