package fuzz

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestCorrelate(t *testing.T) {
	tests := []struct {
		value, path   string
		ok            bool
		dir, pre, suf string
	}{
		{"mod", "/usr/lib/app/plugins/mod.py", true, "/usr/lib/app/plugins", "", ".py"},
		{"mod", "/usr/lib/app/plugins/mod/__init__.py", true, "/usr/lib/app/plugins", "", ""},
		{"report", "/srv/templates/report.html.j2", true, "/srv/templates", "", ".html.j2"},
		{"fr_FR", "/usr/share/locale/fr_FR/LC_MESSAGES/app.mo", true, "/usr/share/locale", "", ""},
		{"abc", "/usr/lib/xabcx.so", false, "", "", ""},
		{"theme-dark", "/srv/static/css/theme-dark-min.css", true, "/srv/static/css", "", "-min.css"},
		{"a/b", "/data/a/b.json", true, "/data", "", ".json"},
		{"zzz", "/etc/passwd", false, "", "", ""},
	}
	for _, tt := range tests {
		sel, ok := correlate(tt.value, tt.path)
		if ok != tt.ok || (ok && (sel.Dir != tt.dir || sel.Prefix != tt.pre || sel.Suffix != tt.suf)) {
			t.Errorf("correlate(%q, %q) = %+v, %v", tt.value, tt.path, sel, ok)
		}
	}
}

type fakeLister map[string][]string

func (f fakeLister) ListDir(_ context.Context, dir string) ([]string, error) { return f[dir], nil }

func TestFileCorrelatorCandidates(t *testing.T) {
	c := NewFileCorrelator(fakeLister{"/app/plugins": {"alpha.py", "beta.py", "gamma.txt", ".hidden.py"}})
	sent := []gen.SentValue{{Target: "query.name", Value: "nosuch"}, {Target: "query.x", Value: "1"}}
	sels := c.Observe("GET /load", "query.name", sent, Signal{NewFiles: []string{"/app/plugins/nosuch.py"}})
	if len(sels) != 1 || sels[0].Dir != "/app/plugins" || sels[0].Target != "query.name" {
		t.Fatalf("selections %+v", sels)
	}
	if again := c.Observe("GET /load", "query.name", sent, Signal{NewFiles: []string{"/app/plugins/nosuch.py"}}); len(again) != 0 {
		t.Errorf("selection reported twice: %+v", again)
	}
	if got := c.Candidates(context.Background(), sels[0]); !reflect.DeepEqual(got, []string{"alpha", "beta"}) {
		t.Errorf("candidates %v", got)
	}
	if !reflect.DeepEqual(c.Dirs(), []string{"/app/plugins"}) || len(c.Effects()) != 2 {
		t.Errorf("dirs %v effects %+v", c.Dirs(), c.Effects())
	}
}

// countingLister counts the listings of each directory.
type countingLister struct {
	fakeLister
	calls map[string]int
}

func (l *countingLister) ListDir(ctx context.Context, dir string) ([]string, error) {
	l.calls[dir]++
	return l.fakeLister.ListDir(ctx, dir)
}

// A directory is read from the image once, whether for the name book or
// for a selection's candidates.
func TestDirectoriesAreListedOnce(t *testing.T) {
	l := &countingLister{fakeLister: fakeLister{"/app/plugins": {"alpha.py", "beta.py"}, "/srv/themes": {"dark", "light"}}, calls: map[string]int{}}
	c := NewFileCorrelator(l)
	c.Observe("GET /x", "", nil, Signal{Dirs: []DirListing{{Path: "/app/plugins", Listed: true}}})
	c.names.load(context.Background())
	sels := c.Observe("GET /load", "query.name", []gen.SentValue{{Target: "query.name", Value: "nosuch"}}, Signal{NewFiles: []string{"/app/plugins/nosuch.py"}})
	if len(sels) != 1 {
		t.Fatalf("selections %+v", sels)
	}
	for range 2 {
		if got := c.Candidates(context.Background(), sels[0]); !reflect.DeepEqual(got, []string{"alpha", "beta"}) {
			t.Errorf("candidates %v", got)
		}
		if got := c.Candidates(context.Background(), Selection{Dir: "/srv/themes", Value: "x"}); !reflect.DeepEqual(got, []string{"dark", "light"}) {
			t.Errorf("candidates %v", got)
		}
	}
	if !reflect.DeepEqual(l.calls, map[string]int{"/app/plugins": 1, "/srv/themes": 1}) {
		t.Errorf("listings %v, want each directory once", l.calls)
	}
}

const pluginSpec = `openapi: 3.0.3
info: {title: plugins, version: "1"}
paths:
  /load:
    get:
      parameters:
        - {name: name, in: query, required: true, schema: {type: string, minLength: 3, maxLength: 12}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {loaded: {type: boolean}}}
`

// fakeTracer plays the tracer: a lookup of plugins/NAME.py for each new
// name, and new functions when an existing plugin loads.
type fakeTracer struct {
	mu       sync.Mutex
	last     string
	seen     map[string]bool
	existing map[string]bool
}

func (f *fakeTracer) After(context.Context) (Signal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == "" || f.seen[f.last] {
		return Signal{}, nil
	}
	f.seen[f.last] = true
	sig := Signal{Files: 1, NewFiles: []string{"/app/plugins/" + f.last + ".py"}}
	if f.existing[f.last] {
		sig.Functions = 5
	}
	return sig, nil
}

func TestInputSelectedFilesAreTried(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "plugins.yaml", []byte(pluginSpec))
	if err != nil {
		t.Fatal(err)
	}
	tr := &fakeTracer{seen: map[string]bool{}, existing: map[string]bool{"alpha": true, "beta": true}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		tr.mu.Lock()
		tr.last = name
		loaded := tr.existing[name]
		tr.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"loaded": loaded})
	}))
	defer srv.Close()
	events := make(chan Event, 1024)
	f := New(s, NewHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(200), WithFeedback(tr),
		WithDirLister(fakeLister{"/app/plugins": {"alpha.py", "beta.py", "README"}}), WithEvents(events))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.SelectedDirs, []string{"/app/plugins"}) {
		t.Errorf("selected dirs %v", res.SelectedDirs)
	}
	tr.mu.Lock()
	triedAlpha, triedBeta := tr.seen["alpha"], tr.seen["beta"]
	tr.mu.Unlock()
	if !triedAlpha || !triedBeta {
		t.Errorf("existing plugins not tried: alpha=%v beta=%v", triedAlpha, triedBeta)
	}
	if res.Stats.Functions < 10 {
		t.Errorf("functions %d", res.Stats.Functions)
	}
	close(events)
	kinds := map[EventKind]int{}
	for e := range events {
		kinds[e.Kind]++
	}
	if kinds[EventSelection] == 0 || kinds[EventCoverage] == 0 || kinds[EventDone] != 1 {
		t.Errorf("events %v", kinds)
	}
}

func TestEnumValuesDoNotSelectDirectories(t *testing.T) {
	doc := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /export:
    get:
      parameters:
        - {name: format, in: query, schema: {type: string, enum: [csv, xml]}}
        - {name: name, in: query, schema: {type: string}}
        - {name: kind, in: query, schema: {allOf: [{$ref: "#/components/schemas/Kind"}], default: a}}
        - {name: either, in: query, schema: {anyOf: [{$ref: "#/components/schemas/Kind"}, {type: string}]}}
      responses:
        "200": {description: ok}
components:
  schemas:
    Kind: {type: string, enum: [a, b]}
`
	s, err := spec.LoadSpecData(context.Background(), "t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	op := s.Operation("GET /export")
	if freeValued(op, "query.format") {
		t.Error("an enum parameter was taken as free-valued")
	}
	if !freeValued(op, "query.name") {
		t.Error("a free string parameter was taken as enumerated")
	}
	if freeValued(op, "query.kind") {
		t.Error("an enum behind allOf (as FastAPI writes them) was taken as free-valued")
	}
	if !freeValued(op, "query.either") {
		t.Error("anyOf with a free alternative was taken as enumerated")
	}
	c := NewFileCorrelator(nil)
	c.Selectable = func(_, target string) bool { return freeValued(op, target) }
	sent := []gen.SentValue{{Target: "query.format", Value: "csv"}}
	// format=csv made the app import the standard library's csv module: an
	// effect of the value, but no reason to keep /usr/lib/python3.11 whole.
	sels := c.Observe(op.ID, "query.format", sent, Signal{NewFiles: []string{"/usr/lib/python3.11/csv.py"}})
	if len(sels) != 0 {
		t.Fatalf("enum value selected %+v", sels)
	}
	if effects := c.Effects(); len(effects) != 1 || effects[0].Value != "csv" {
		t.Fatalf("the value's effect should still be recorded: %+v", effects)
	}
	sent = []gen.SentValue{{Target: "query.name", Value: "report"}}
	if sels := c.Observe(op.ID, "query.name", sent, Signal{NewFiles: []string{"/srv/reports/report.tmpl"}}); len(sels) != 1 || sels[0].Dir != "/srv/reports" {
		t.Fatalf("free value did not select its directory: %+v", sels)
	}
}
