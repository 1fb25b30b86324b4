package pipeline

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/tracer/cover/jvm"
)

// jvmshop (testdata/targets/jvmshop) is a Java service in a jar with a
// Main-Class, run by Debian's OpenJDK 17: templates, exporter classes of
// the jar and codec classes of an exploded plugin directory are chosen by
// request values.
const jvmshopImage = "whittle-fixture/jvmshop:latest"

// The JVM's methods are covered live: the scope is the application's
// packages from the jar's Main-Class, the fuzzer finds methods that
// start-up did not run and the corpus grows from them; the minimal image
// answers the corpus identically and serves every template and codec.
func TestJvmshopEndToEnd(t *testing.T) {
	requireFixture(t, jvmshopImage)
	const tag = "whittle-test/jvmshop:e2e"
	t.Cleanup(func() { removeImage(tag) })
	dir := t.TempDir()
	// No spec given: it is discovered on the target (/openapi.json).
	rep, logs := runPipelineLogged(t, Config{Image: jvmshopImage, Seed: 1, Duration: 40 * time.Second, Tag: tag, CorpusDir: dir})
	assertVerified(t, rep, 4)

	// The scope, and how it was chosen, in the report and the log.
	sc := rep.Trace.CoverageScope
	if !strings.HasPrefix(rep.Trace.Coverage, "jvm-methods via JVMTI breakpoints") || sc == nil {
		t.Fatalf("coverage %q, scope %+v: want JVM method coverage and its scope", rep.Trace.Coverage, sc)
	}
	if sc.From != "Main-Class" || sc.Root != "com.example.jvmshop" || !strings.Contains(sc.Detail, "com.example.jvmshop.Main in /app/jvmshop.jar") {
		t.Errorf("scope %+v: want com.example.jvmshop from the jar's Main-Class", sc)
	}
	for _, p := range []string{"com.example.jvmshop", "com.example.jvmshop.web", "com.example.jvmshop.export", "com.example.jvmshop.codec"} {
		if !slices.Contains(sc.Packages, p) {
			t.Errorf("package %s not in scope %q", p, sc.Packages)
		}
	}
	for _, p := range sc.Packages {
		if p != "com.example.jvmshop" && !strings.HasPrefix(p, "com.example.jvmshop.") {
			t.Errorf("package %s is in scope: not the application's", p)
		}
	}
	for _, want := range []string{"jvm: the command runs java: method coverage through whittle's agent",
		"coverage scope: com.example.jvmshop.** (", "from the Main-Class com.example.jvmshop.Main in /app/jvmshop.jar"} {
		if logged(logs, want) == "" {
			t.Errorf("no log line says %q", want)
		}
	}
	if l := logged(logs, "needs libjvm.so: not found"); l != "" {
		t.Errorf("the rebuild did not find libjvm.so where the launcher loads it: %s", l)
	}

	// Live coverage beyond start-up, found by the fuzzer.
	tl := rep.Fuzz.Timeline
	if len(tl) < 2 || tl[0].Requests != 0 {
		t.Fatalf("timeline %+v: want a first sample before any request", tl)
	}
	start, end := tl[0].Functions, rep.Trace.Functions
	if end < start+30 || rep.Trace.FunctionsTotal < end || sc.Functions != rep.Trace.FunctionsTotal {
		t.Errorf("methods called: %d at start-up, %d at the end, %d in scope (%d in the scope's report): want the fuzzer to find dozens",
			start, end, rep.Trace.FunctionsTotal, sc.Functions)
	}
	// The corpus grows from it: entries that joined for new methods.
	store, err := corpus.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	grown := 0
	for _, e := range store.Entries() {
		if e.AddedAt > 0 && e.Coverage.Functions > 0 && slices.ContainsFunc(e.Reasons, func(r string) bool { return strings.Contains(r, "functions") }) {
			grown++
		}
	}
	if grown < 5 {
		t.Errorf("%d corpus entries joined for new methods, want several", grown)
	}
	t.Logf("scope %s: %d methods in %d packages; called: %d at start-up, %d after %d requests; %d corpus entries for new methods",
		sc.Root, sc.Functions, len(sc.Packages), start, end, rep.Fuzz.Requests, grown)
	checkCoverageExport(t, rep, exportCase{from: "com/example/jvmshop", to: "../testdata/targets/jvmshop/src/com/example/jvmshop",
		covered: []string{"com.example.jvmshop.orders.OrderService.place(Map)", "com.example.jvmshop.render.Template.render(Map)"},
		never:   []string{"com.example.jvmshop.orders.OrderService.purgeAbandoned(long)"},
		more:    []string{"com/example/jvmshop/codec=../testdata/targets/jvmshop/plugins/com/example/jvmshop/codec"}})

	// The input-selected directories were found and kept whole: the minimal
	// image serves every template and codec, sent by the fuzzer or not.
	var selected []string
	for _, s := range rep.Fuzz.SelectedDirs {
		selected = append(selected, s.Dir)
	}
	want := []string{"/usr/share/jvmshop/templates", "/app/plugins/com/example/jvmshop/codec"}
	for _, d := range want {
		if !slices.Contains(selected, d) {
			t.Errorf("%s not found input-selected (%q)", d, selected)
		}
	}
	// No value selects a directory on the way to them ("jvmshop" sent as
	// customer= spells /usr/share/jvmshop: /usr/share kept whole).
	for _, d := range selected {
		for _, w := range want {
			if d == "/" || strings.HasPrefix(w, d+"/") {
				t.Errorf("%s input-selected: a directory on the way to %s (%q)", d, w, selected)
			}
		}
	}
	paths := []string{"/render/invoice?customer=ann", "/render/receipt", "/render/label", "/render/packing-slip",
		"/convert?codec=Rot13&text=abc", "/convert?codec=Hex&text=abc", "/convert?codec=Reverse&text=abc", "/convert?codec=Base64&text=abc",
		"/export?format=csv", "/export?format=tsv", "/export?format=xml", "/export?format=json"}
	orig, minimal := answersFrom(t, jvmshopImage, paths), answersFrom(t, tag, paths)
	for i, p := range paths {
		if orig[i].status != 200 || orig[i] != minimal[i] {
			t.Errorf("GET %s: original %d %.60q, minimal %d %.60q", p, orig[i].status, orig[i].body, minimal[i].status, minimal[i].body)
		}
	}
	for p := range keptPaths(rep) {
		if strings.HasPrefix(p, jvm.MountPoint) {
			t.Errorf("the minimal image holds whittle's agent: %s", p)
		}
	}
}
