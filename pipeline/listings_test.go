package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/rebuild"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tracer"
)

func TestTraceListings(t *testing.T) {
	f := &traceFeedback{dirs: map[string]bool{}}
	start := []tracer.FileAccess{
		{Path: "/app/pyplugins/codecs", Kind: tracer.KindOpenDir},
		{Path: "/app/pyplugins/codecs/__pycache__/plain.cpython-311.pyc", Kind: tracer.KindOpen},
		{Path: "/app/pyplugins/codecs/plain.py", Kind: tracer.KindStat},
		{Path: "/app/pyplugins/codecs/nosuch.py", Kind: tracer.KindStat, Errno: 2},
		{Path: "/proc/self/status", Kind: tracer.KindOpen},
		{Path: "/usr/lib/python3.11", Kind: tracer.KindOpenDir},
	}
	got := f.listings(start, true)
	want := []inputsel.DirListing{
		{Path: "/app/pyplugins/codecs", Listed: true, Startup: true},
		{Path: "/app/pyplugins/codecs/__pycache__", Startup: true},
		{Path: "/usr/lib/python3.11", Listed: true, Startup: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("start-up listings\n got %+v\nwant %+v", got, want)
	}
	later := f.listings([]tracer.FileAccess{
		{Path: "/app/pyplugins/codecs/rot_13.py", Kind: tracer.KindStat},
		{Path: "/app/pyplugins/renderers/banner.py", Kind: tracer.KindStat},
		{Path: "/app/pyplugins/renderers", Kind: tracer.KindOpenDir},
		{Path: "/app/pyplugins/codecs/__pycache__", Kind: tracer.KindOpenDir},
	}, false)
	want = []inputsel.DirListing{{Path: "/app/pyplugins/renderers"}, {Path: "/app/pyplugins/renderers", Listed: true}, {Path: "/app/pyplugins/codecs/__pycache__", Listed: true}}
	if !reflect.DeepEqual(later, want) {
		t.Errorf("later listings %+v, want only the new one %+v", later, want)
	}
}

// TestPypluginsEndToEnd: pyplugins resolves codec and renderer names from
// package directories Python listed at start-up, so a name that does not
// exist touches no file. The run must still find the names that exist,
// keep both directories whole for that reason, and the minimal image must
// answer a codec the corpus never names, in any spelling, as the original.
// The each-operation-once baseline must not: that is the class of bug.
func TestPypluginsEndToEnd(t *testing.T) {
	const img = "whittle-fixture/pyplugins:latest"
	requireFixture(t, img)
	const tag = "whittle-test/pyplugins:latest"
	out, corpusDir := t.TempDir(), t.TempDir()
	t.Cleanup(func() { removeImage(tag) })
	rep := runPipeline(t, Config{Image: img, Seed: 1, Duration: 20 * time.Second, Tag: tag, OutputDir: out, CorpusDir: corpusDir})
	assertVerified(t, rep, 5)
	assertEveryOperationSucceeded(t, rep)

	const listedAtStartup = "listed by the target at start-up"
	selected := map[string]report.Selection{}
	for _, s := range rep.Fuzz.SelectedDirs {
		selected[s.Dir] = s
	}
	for _, dir := range []string{"/app/pyplugins/codecs", "/app/pyplugins/renderers"} {
		if s, ok := selected[dir]; !ok || s.Names != listedAtStartup {
			t.Errorf("%s: selection %+v, want one whose names were %s (selected: %+v)", dir, s, listedAtStartup, rep.Fuzz.SelectedDirs)
		}
	}
	for d := range selected {
		if !strings.HasPrefix(d, "/app/pyplugins/codecs") && !strings.HasPrefix(d, "/app/pyplugins/renderers") {
			t.Errorf("directory %s selected: only the plugin packages are", d)
		}
	}

	// Every codec module is kept with its bytecode, for the reason why.json gives.
	codecs := imageModules(t, img, "/app/pyplugins/codecs")
	kept := keptPaths(rep)
	why := whyReasons(t, filepath.Join(out, "why.json"))
	for _, c := range codecs {
		src := "/app/pyplugins/codecs/" + c + ".py"
		if _, ok := kept[src]; !ok {
			t.Errorf("%s missing from the minimal image", src)
		}
		pyc := "/app/pyplugins/codecs/__pycache__/" + c + ".cpython-311.pyc"
		if _, ok := kept[pyc]; !ok {
			t.Errorf("%s missing from the minimal image", pyc)
		}
		if !slices.ContainsFunc(why[src], func(r string) bool {
			return strings.HasPrefix(r, "input-selected:") && strings.HasSuffix(r, ", names "+listedAtStartup)
		}) {
			t.Errorf("why.json gives %s the reasons %q: no input selection of names listed at start-up", src, why[src])
		}
	}

	// A codec the corpus never names: the minimal image has it only
	// because the directory was kept whole.
	unsent := codecNotIn(t, corpusDir, codecs, func(c string) bool {
		// Better still: one the run never sent (its module never traced).
		traced := func(r string) bool { return strings.HasPrefix(r, "traced:") }
		return !slices.ContainsFunc(kept["/app/pyplugins/codecs/"+c+".py"].Reasons, traced) &&
			!slices.ContainsFunc(kept["/app/pyplugins/codecs/__pycache__/"+c+".cpython-311.pyc"].Reasons, traced)
	})
	asked := []string{
		"/convert?text=Hello&codec=" + unsent,
		"/convert?text=Hello&codec=" + url.QueryEscape(strings.ToUpper(strings.ReplaceAll(unsent, "_", "-"))),
		"/render/Box?title=x&codec=" + url.QueryEscape(strings.ReplaceAll(unsent, "_", "-")),
	}
	orig := answersFrom(t, img, asked)
	minimal := answersFrom(t, tag, asked)
	for i, p := range asked {
		if orig[i].status != http.StatusOK || orig[i] != minimal[i] {
			t.Errorf("GET %s: original %d %q, minimal %d %q", p, orig[i].status, orig[i].body, minimal[i].status, minimal[i].body)
		}
	}
	t.Logf("codec %q, never named by the corpus, answered identically in %d spellings", unsent, len(asked))

	// The baseline simple minifiers use: each operation once. Random names
	// hit no codec, nothing shows the directory matters, it is cut.
	const onceTag = "whittle-test/pyplugins-once:latest"
	t.Cleanup(func() { removeImage(onceTag) })
	once, err := New(Config{Image: img, Seed: 1, Once: true, Tag: onceTag}, drainedBus(t)).Execute(context.Background())
	switch {
	case errors.Is(err, ErrDiverged):
		// /health counts the renderers pkgutil lists: 0 without them.
		for _, d := range once.Verification.Divergences {
			t.Logf("each-operation-once image diverged already in its own verification: %s: %s", d.Request, d.Reason)
		}
	case err != nil:
		t.Fatalf("each-operation-once run: %v", err)
	}
	got := answersFrom(t, onceTag, asked)
	for i, p := range asked {
		if got[i] == orig[i] {
			t.Errorf("the each-operation-once image answers GET %s like the original: the fixture does not reproduce the class", p)
		} else {
			t.Logf("each-operation-once image: GET %s → %d %q (original %d)", p, got[i].status, got[i].body, orig[i].status)
		}
	}
}

// drainedBus is an event bus whose events are dropped.
func drainedBus(t *testing.T) *event.Bus {
	bus := event.NewBus()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, ok := bus.Next(context.Background()); !ok {
				return
			}
		}
	}()
	t.Cleanup(func() {
		bus.Close()
		<-done
	})
	return bus
}

// imageModules lists the plugin modules of a directory of the image.
func imageModules(t *testing.T, ref, dir string) []string {
	t.Helper()
	e, err := probe.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fsys, err := rebuild.ExportImage(context.Background(), e.Client(), ref)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	var out []string
	for _, n := range fsys.ReadDir(dir) {
		if strings.HasSuffix(n, ".py") && !strings.HasPrefix(n, "_") {
			out = append(out, strings.TrimSuffix(n, ".py"))
		}
	}
	if len(out) < 40 {
		t.Fatalf("%d modules in %s of %s", len(out), dir, ref)
	}
	return out
}

func whyReasons(t *testing.T, file string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var why struct {
		Files []struct {
			Path    string   `json:"path"`
			Reasons []string `json:"reasons"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &why); err != nil {
		t.Fatalf("why.json: %v", err)
	}
	out := map[string][]string{}
	for _, f := range why.Files {
		out[f.Path] = f.Reasons
	}
	return out
}

// codecNotIn returns a codec that no request of the corpus names, in any
// spelling the service accepts; one for which better holds if there is.
func codecNotIn(t *testing.T, dir string, codecs []string, better func(string) bool) string {
	t.Helper()
	st, err := corpus.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var text strings.Builder
	for _, e := range st.Entries() {
		for _, r := range e.Requests {
			p, err := url.PathUnescape(r.Path)
			if err != nil {
				p = r.Path
			}
			q, _ := url.QueryUnescape(p)
			text.WriteString(q + "\n" + string(r.Body) + "\n")
		}
	}
	all := strings.ReplaceAll(strings.ToLower(text.String()), "-", "_")
	var named, unnamed []string
	for _, c := range codecs {
		if strings.Contains(all, c) {
			named = append(named, c)
		} else {
			unnamed = append(unnamed, c)
		}
	}
	t.Logf("corpus of %d entries names %d of %d codecs: %v", len(st.Entries()), len(named), len(codecs), named)
	if len(unnamed) == 0 {
		t.Fatalf("the corpus names every codec: none left to check (do name sweeps flood the corpus?)")
	}
	for _, c := range unnamed {
		if better(c) {
			t.Logf("codec %q was never sent during the run", c)
			return c
		}
	}
	t.Logf("every codec the corpus does not name was sent during the run")
	return unnamed[0]
}

// TestPypluginsIncludedPluginsWork: plugins kept whole but never run (here
// by --include on an each-operation-once run, which imports none of them)
// work in the minimal image, the ones importing standard modules nothing
// else imported included (diff_marks: difflib, word_stats: statistics):
// rebuild keeps what their import statements name.
func TestPypluginsIncludedPluginsWork(t *testing.T) {
	const img = "whittle-fixture/pyplugins:latest"
	requireFixture(t, img)
	const tag = "whittle-test/pyplugins-include:latest"
	t.Cleanup(func() { removeImage(tag) })
	rep := runPipeline(t, Config{Image: img, Seed: 1, Once: true, Tag: tag,
		Include: []string{"/app/pyplugins/codecs", "/app/pyplugins/renderers"}})
	assertVerified(t, rep, 5)
	kept := keptPaths(rep)
	for _, p := range []string{"/usr/lib/python3.11/difflib.py", "/usr/lib/python3.11/statistics.py"} {
		f, ok := kept[p]
		if !ok || !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.HasPrefix(r, "python:imported by /app/pyplugins/codecs/") }) {
			t.Errorf("%s: kept %v with reasons %q, want it imported by a codec", p, ok, f.Reasons)
		}
	}
	var asked []string
	for _, c := range imageModules(t, img, "/app/pyplugins/codecs") {
		asked = append(asked, "/convert?text=Hello%20World&codec="+c)
	}
	for _, r := range []string{"banner", "box", "centered", "html_heading", "json_string", "markdown", "under_line"} {
		asked = append(asked, "/render/"+r+"?title=T")
	}
	orig, minimal := answersFrom(t, img, asked), answersFrom(t, tag, asked)
	for i, p := range asked {
		if orig[i].status != http.StatusOK || orig[i] != minimal[i] {
			t.Errorf("GET %s: original %d %q, minimal %d %q", p, orig[i].status, orig[i].body, minimal[i].status, minimal[i].body)
		}
	}
}
