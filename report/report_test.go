package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/report/covdata/covtest"
)

func sampleReport() *Report {
	start := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	return &Report{
		Schema: SchemaVersion, Tool: Tool{Name: "whittle", Version: "test"},
		StartedAt: start, FinishedAt: start.Add(42 * time.Second),
		Original: ImageInfo{Ref: "shop:1", ID: "sha256:aa", Size: 300_000_000},
		Minimal:  &ImageInfo{Ref: "shop:1-whittled", ID: "sha256:bb", Size: 10_000_000, Files: 2},
		Ratio:    30,
		Spec:     SpecInfo{Source: "openapi.yaml", Title: "shop", Version: "1", Operations: 2, Hash: "sha256:" + strings.Repeat("0", 64)},
		Trace: TraceInfo{Tier: "tracepoint-kernel-path", Files: 10, FailedLookups: 2, Syscalls: []string{"openat", "read"}, Events: 99,
			CoverageScope: &CoverageScope{Root: "github.com/acme/shop", From: "build-info path", Detail: "GOPATH build",
				Patterns: []string{"main", "github.com/acme/shop/..."}, Exclude: []string{"github.com/acme/shop/vendor/*"},
				Packages: []string{"github.com/acme/shop/store", "main"}, Functions: 42},
			CodeCoverage: &CodeCoverage{Kind: "v8-blocks", Mechanism: "V8 precise coverage through the inspector (functions and blocks)", Processes: 3,
				ScopeFrom: "main script /srv/app/server.js", ScopeFiles: []string{"/srv/app/server.js"}, FunctionsTotal: 20, Functions: 12,
				FunctionsAtStartup: 4, FunctionsByRequests: 8, Units: 30, UnitsAtStartup: 4, UnitsByRequests: 26,
				ByFunction: covtest.Coverage(), Operations: covtest.Coverage().Operations()}},
		Fuzz: FuzzInfo{
			Seed: 1, Duration: 30, Requests: 120, CorpusSize: 7, StopReason: "duration",
			Operations: []Operation{
				{Operation: "GET /pets", Requests: 100, Status2xx: 90, Status4xx: 9, Status5xx: 1, NewCoverage: 3, LatencyMean: 1.25, LatencyRecent: 0.8},
				{Operation: "POST /pets", Requests: 20, Status2xx: 20},
			},
			Findings: []Finding{{ID: "f1", Operation: "GET /pets", Check: "server-error", Severity: "high",
				Summary: "500 on limit=100", Curl: "curl -sS 'http://127.0.0.1:1/pets?limit=100'", Request: "GET /pets?limit=100", Response: "500 {}", Sequence: 1}},
			SelectedDirs: []Selection{{Dir: "/usr/share/shop/tpl", Operation: "GET /card", Parameter: "query.lang"}},
			ValueNames:   16,
			Linked:       []Linked{{Path: "/srv/static/site.css", From: "GET /", Request: "GET /static/site.css"}},
			Strategy:     "fuzz",
			Restarts:     3, LatencyRestarts: 1, GCDeletes: 120, GCDeleteFailures: 2,
			Capacity: &Capacity{Path: "/health", CodeCoverage: "paused", Measurements: []CapacityMeasurement{
				{Connections: 8, Seconds: 10, Requests: 3000, RequestsPerSecond: 300, Statuses: map[string]int64{"200": 3000}},
				{Connections: 1, Seconds: 0.2, Requests: 2, RequestsPerSecond: 10, Statuses: map[string]int64{"500": 2}, Error: "2 of 2 answers were not 2xx"}}},
			Timeline: []Sample{{Seconds: 1, Requests: 500, Functions: 40, Files: 12, CorpusSize: 5, HeapBytes: 1 << 20, Goroutines: 12, FDs: 9}},
		},
		Files: []File{
			{Path: "/app", Size: 1000, Mode: "-rwxr-xr-x", Reasons: []string{"traced:exec"}},
			{Path: "/lib", Mode: "Lrwxrwxrwx", Linkname: "usr/lib", Reasons: []string{"symlink:on path /lib/libc.so.6"}},
		},
		Reasons: map[string]int64{"traced": 1000},
		Timings: map[string]float64{"fuzz": 30, "build": 4.2},
		LimitsHit: []limits.Hit{{Limit: "gen.length", Value: 65536, Count: 3, First: "GET /search query.q",
			OnHit: "the value is not generated; an operation that needs it is skipped"}},
		Verification: &Verification{Result: "diverged", Total: 3, Identical: 2, Volatile: 1,
			Divergences: []Divergence{{Operation: "POST /pets", Request: "POST /pets", Reason: "status 500, want 201", Original: "201 {}", Minimal: "500 {}"}}},
		RunConfig: &RunConfig{Env: []string{"TOKEN"}, Mounts: []Mount{{Source: "/srv/conf", Target: "/etc/shop", Kind: "bind", ReadOnly: true, Note: "not in the minimal image"}},
			Entrypoint: []string{"/app"}, Cmd: []string{"serve"}, User: "1000", WorkingDir: "/srv", MountExcluded: []string{"/etc/shop/shop.conf"},
			Compose: "compose.yaml", Service: "api"},
		Dependencies: []Dependency{{Service: "db", Image: "pg:15", Condition: "service_healthy", State: "healthy", Starts: 4, Ready: 3.2}},
		Drivers:      []Driver{{Command: "./e2e.sh", ExitCode: 0, Duration: 3.1, Requests: 7, Output: "all checks passed"}},
	}
}

func compileSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatalf("compiling %s: %v", path, err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	return sch.Validate(inst)
}

func TestJSONReportMatchesSchema(t *testing.T) {
	sch := compileSchema(t, "schema/report.schema.json")
	for name, r := range map[string]*Report{
		"full": sampleReport(),
		"failed early": {Schema: SchemaVersion, Tool: Tool{Name: "whittle", Version: "dev"},
			Original: ImageInfo{Ref: "x"}, Spec: SpecInfo{Source: "x.yaml"}, Error: "image not found"},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJSON(&buf, r); err != nil {
				t.Fatal(err)
			}
			if err := validate(t, sch, buf.Bytes()); err != nil {
				t.Fatalf("report does not match its schema: %v\n%s", err, buf.String())
			}
		})
	}
}

func TestSchemaRejectsBadReports(t *testing.T) {
	sch := compileSchema(t, "schema/report.schema.json")
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	mutations := map[string]func(map[string]any){
		"wrong schema version": func(d map[string]any) { d["schema"] = "whittle.report/v0" },
		"unknown field":        func(d map[string]any) { d["surprise"] = 1 },
		"bad verification":     func(d map[string]any) { d["verification"].(map[string]any)["result"] = "maybe" },
		"relative file path":   func(d map[string]any) { d["files"].([]any)[0].(map[string]any)["path"] = "app" },
		"file without reason":  func(d map[string]any) { d["files"].([]any)[0].(map[string]any)["reasons"] = []any{} },
		"unknown function state": func(d map[string]any) {
			row := byFunction(d)["rows"].([]any)[0].([]any)
			row[5] = "sometimes"
		},
		"short function row": func(d map[string]any) {
			rows := byFunction(d)["rows"].([]any)
			rows[0] = rows[0].([]any)[:9]
		},
		"bad line ranges": func(d map[string]any) {
			row := byFunction(d)["rows"].([]any)[0].([]any)
			row[8] = "3-"
		},
		"negative start-up functions": func(d map[string]any) {
			d["trace"].(map[string]any)["code_coverage"].(map[string]any)["functions_at_startup"] = -1
		},
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			var d map[string]any
			json.Unmarshal(buf.Bytes(), &d)
			mutate(d)
			b, _ := json.Marshal(d)
			if err := validate(t, sch, b); err == nil {
				t.Fatal("schema accepted an invalid report")
			}
		})
	}
}

func byFunction(d map[string]any) map[string]any {
	return d["trace"].(map[string]any)["code_coverage"].(map[string]any)["by_function"].(map[string]any)
}

func TestEmbeddedSchemaIsTheFile(t *testing.T) {
	b, err := os.ReadFile("schema/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, ReportSchema) {
		t.Fatal("embedded schema differs from schema/report.schema.json")
	}
}

// officialSARIFSchema is the SARIF 2.1.0 schema its maintainers publish,
// put outside the repository by scripts/sarif-schema.sh (make test runs it).
func officialSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	dir := os.Getenv("WHITTLE_CACHE_DIR")
	if dir == "" {
		dir = "/var/cache/whittle"
	}
	path := filepath.Join(dir, "sarif-2.1.0-rtm.5.json")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("SKIP: the official SARIF 2.1.0 schema is not at %s (%v): run scripts/sarif-schema.sh (make test does)", path, err)
	}
	return compileSchema(t, path)
}

func TestSARIF(t *testing.T) {
	sch := officialSARIFSchema(t)
	r := sampleReport()
	r.Fuzz.Findings = append(r.Fuzz.Findings, Finding{ID: "f2", Operation: "DELETE /pets/{id}", Check: "crash", Severity: "critical", Summary: "container exited with status 2"})
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, sch, buf.Bytes()); err != nil {
		t.Fatalf("SARIF does not match the schema: %v\n%s", err, buf.String())
	}
	// The schema does check: a level SARIF does not define is refused.
	if bad := bytes.Replace(buf.Bytes(), []byte(`"level": "error"`), []byte(`"level": "severe"`), 1); validate(t, sch, bad) == nil {
		t.Fatal("the schema accepted a result with level \"severe\"")
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	res := log.Runs[0].Results
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	rules := log.Runs[0].Tool.Driver.Rules
	for _, x := range res {
		if rules[x.RuleIndex].ID != x.RuleID {
			t.Errorf("result %s points at rule %s", x.RuleID, rules[x.RuleIndex].ID)
		}
	}
	if res[1].Level != "error" || res[0].Level != "error" {
		t.Errorf("levels %s %s, want error for high and critical", res[0].Level, res[1].Level)
	}
	// No findings still gives a valid log with an empty results array.
	buf.Reset()
	r.Fuzz.Findings = nil
	if err := WriteSARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, sch, buf.Bytes()); err != nil || !strings.Contains(buf.String(), `"results": []`) {
		t.Fatalf("empty SARIF: %v\n%s", err, buf.String())
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	// Structure of the Ant/Jenkins format: counts must add up.
	tests, failures := 0, 0
	for _, s := range got.Suites {
		if s.Name == "" || s.Tests != len(s.Cases) {
			t.Errorf("suite %q: tests=%d but %d cases", s.Name, s.Tests, len(s.Cases))
		}
		f := 0
		for _, c := range s.Cases {
			if c.Name == "" || c.Classname == "" {
				t.Errorf("case without name/classname in %q", s.Name)
			}
			if len(c.Failures) > 0 {
				f++
			}
		}
		if f != s.Failures {
			t.Errorf("suite %q: failures=%d but %d failing cases", s.Name, s.Failures, f)
		}
		tests += s.Tests
		failures += s.Failures
	}
	if got.Tests != tests || got.Failures != failures {
		t.Errorf("testsuites counts %d/%d, suites add to %d/%d", got.Tests, got.Failures, tests, failures)
	}
	fuzz := got.Suites[0]
	if len(fuzz.Cases) != 2 {
		t.Fatalf("want one testcase per operation (2), got %d", len(fuzz.Cases))
	}
	byName := map[string]junitCase{}
	for _, c := range fuzz.Cases {
		byName[c.Name] = c
	}
	if f := byName["GET /pets"].Failures; len(f) != 1 || f[0].Type != "server-error" || !strings.Contains(f[0].Text, "curl") {
		t.Errorf("GET /pets failures: %+v", f)
	}
	if f := byName["POST /pets"].Failures; len(f) != 1 || f[0].Type != "divergence" {
		t.Errorf("POST /pets should fail with its divergence: %+v", f)
	}
	if len(got.Suites) != 2 || got.Suites[1].Failures != 1 {
		t.Errorf("verification suite missing or not failing: %+v", got.Suites)
	}
}
