package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/covdata"
	"github.com/whittle-dev/whittle/report/covdata/covtest"
)

// writeReport writes a JSON report holding c (nil: a run without code
// coverage) and returns its path.
func writeReport(t *testing.T, c *covdata.Coverage) string {
	t.Helper()
	r := &report.Report{Schema: report.SchemaVersion, Tool: report.Tool{Name: "whittle", Version: "test"}}
	if c != nil {
		r.Trace.CodeCoverage = &report.CodeCoverage{Kind: c.Kind, ByFunction: c}
	} else {
		r.Trace.CodeCoverage = &report.CodeCoverage{Why: "the Python interpreter has no USDT probes"}
	}
	var b strings.Builder
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCoverageDiff(t *testing.T) {
	before := covtest.Coverage()
	after := covtest.Coverage()
	for i := range after.Functions {
		switch after.Functions[i].Name {
		case "main.compactStore":
			after.Functions[i].State, after.Functions[i].Operation = covdata.Requests, "POST /compact"
		case "list_pets":
			after.Functions[i].State = covdata.Never
		}
	}
	after.Summarize()
	a, b := writeReport(t, before), writeReport(t, after)
	out, _, err := execCommand(t, newCoverageCommand(), "diff", a, b)
	if err != nil {
		t.Fatal(err)
	}
	onlyA := out[strings.Index(out, "reached by A"):strings.Index(out, "reached by B")]
	onlyB := out[strings.Index(out, "reached by B"):]
	if !strings.Contains(onlyA, "list_pets") || strings.Contains(onlyA, "compactStore") ||
		!strings.Contains(onlyB, "main.compactStore") || !strings.Contains(onlyB, "by POST /compact") {
		t.Errorf("diff output:\n%s", out)
	}
	js, _, err := execCommand(t, newCoverageCommand(), "diff", "--json", a, b)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		OnlyA, OnlyB []struct{ Name string } `json:"-"`
		A            []struct{ Name string } `json:"only_a"`
		B            []struct{ Name string } `json:"only_b"`
	}
	if err := json.Unmarshal([]byte(js), &d); err != nil || len(d.A) != 1 || len(d.B) != 1 || d.B[0].Name != "main.compactStore" {
		t.Errorf("diff --json: %v\n%s", err, js)
	}
}

func TestCoverageExport(t *testing.T) {
	root := covtest.WriteSources(t)
	dir := t.TempDir()
	st, err := corpus.Open(dir, corpus.Key{SpecHash: "sha256:" + strings.Repeat("a", 64)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddCoverage(covtest.Coverage()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	info := filepath.Join(t.TempDir(), "out", "cover.info")
	xml := filepath.Join(t.TempDir(), "coverage.xml")
	for _, src := range []string{dir, writeReport(t, covtest.Coverage())} {
		out, _, err := execCommand(t, newCoverageCommand(), "export", src, "-o", "lcov="+info, "-o", "cobertura="+xml,
			"--cover-path-map", "example.com/pets="+root, "--cover-path-map", "/srv="+root)
		if err != nil {
			t.Fatalf("export %s: %v", src, err)
		}
		if !strings.Contains(out, "wrote:     lcov="+info) {
			t.Errorf("export output: %s", out)
		}
		data, err := os.ReadFile(info)
		if err != nil || !strings.Contains(string(data), "SF:"+filepath.Join(root, "main.go")) || !strings.Contains(string(data), "FNDA:0,main.compactStore") {
			t.Errorf("lcov from %s: %v\n%s", src, err, data)
		}
		if x, err := os.ReadFile(xml); err != nil || !strings.Contains(string(x), "coverage-04.dtd") {
			t.Errorf("cobertura from %s: %v", src, err)
		}
		covtest.Genhtml(t, info)
	}
}

func TestCoverageExportErrors(t *testing.T) {
	noCov := writeReport(t, nil)
	_, _, err := execCommand(t, newCoverageCommand(), "export", noCov, "-o", "lcov="+filepath.Join(t.TempDir(), "x.info"))
	if !errors.Is(err, errNoCoverage) || !strings.Contains(err.Error(), "USDT") {
		t.Errorf("a report without coverage: %v", err)
	}
	for _, args := range [][]string{
		{"export", writeReport(t, covtest.Coverage())},
		{"export", writeReport(t, covtest.Coverage()), "-o", "json=x"},
		{"export", writeReport(t, covtest.Coverage()), "-o", "lcov=x", "--cover-path-map", "nothing"},
		{"export", t.TempDir(), "-o", "lcov=x"},
		{"diff", "/nonexistent/a.json", "/nonexistent/b.json"},
	} {
		if _, _, err := execCommand(t, newCoverageCommand(), args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// -o lcov of a run without code coverage says why instead of writing
	// an empty file.
	var b strings.Builder
	if err := writeCoverageExport(&b, "lcov", nil, nil); !errors.Is(err, errNoCoverage) {
		t.Errorf("writeCoverageExport(nil): %v", err)
	}
}
