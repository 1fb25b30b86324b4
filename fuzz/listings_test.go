package fuzz

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestNameStem(t *testing.T) {
	for entry, want := range map[string]string{
		"rot13.py":                 "rot13",
		"rot_13.cpython-311.pyc":   "rot_13",
		"index.html.j2":            "index",
		"en_US.UTF-8":              "en_US",
		"plugins":                  "plugins",
		"__init__.py":              "",
		"__pycache__":              "",
		"__main__.py":              "",
		".hidden":                  "",
		"notes.txt~":               "",
		"fastapi-0.92.0.dist-info": "",
	} {
		if got := nameStem(entry); got != want {
			t.Errorf("nameStem(%q) = %q, want %q", entry, got, want)
		}
	}
}

func TestNameVariants(t *testing.T) {
	got := nameVariants("rot_13")
	for _, want := range []string{"rot-13", "ROT_13", "Rot_13"} {
		if !slices.Contains(got, want) {
			t.Errorf("variants of rot_13 %v lack %q", got, want)
		}
	}
	if slices.Contains(got, "rot_13") {
		t.Errorf("variants of rot_13 %v hold the name itself", got)
	}
	if got := nameVariants("Word-Stats"); !slices.Contains(got, "Word_Stats") || !slices.Contains(got, "word-stats") || !slices.Contains(got, "WORD-STATS") {
		t.Errorf("variants of Word-Stats: %v", got)
	}
}

func TestNameMatch(t *testing.T) {
	tests := []struct {
		param, dir string
		want       int
	}{
		{"codec", "codecs", 2},
		{"plugin", "plugins", 2},
		{"template", "templates", 2},
		{"category", "categories", 2},
		{"box", "boxes", 2},
		{"Template-Name", "template_names", 2},
		{"renderer", "renderer", 2},
		{"outputFormat", "formats", 1},
		{"codec_name", "codecs", 1},
		{"codec", "renderers", 0},
		{"id", "ids", 2},
		{"x", "xs", 2},
		{"to", "tools", 0}, // short words never match inside longer names
		{"", "codecs", 0},
	}
	for _, tt := range tests {
		if got := nameMatch(tt.param, tt.dir); got != tt.want {
			t.Errorf("nameMatch(%q, %q) = %d, want %d", tt.param, tt.dir, got, tt.want)
		}
	}
}

func TestSystemDir(t *testing.T) {
	for p, want := range map[string]bool{
		"/usr/lib/python3.11":                        true,
		"/usr/lib/python3.11/encodings":              true,
		"/usr/lib/python3/dist-packages/fastapi":     true,
		"/opt/venv/lib/python3.12/site-packages/foo": true,
		"/srv/app/node_modules/express":              true,
		"/usr/lib/x86_64-linux-gnu":                  true,
		"/etc":                                       true,
		"/app/pyplugins/codecs":                      false,
		"/usr/share/gopets/breeds":                   false,
		"/etc/myapp/conf.d":                          false,
		"/usr/local/lib/myapp/plugins":               false,
	} {
		if got := systemDir(p); got != want {
			t.Errorf("systemDir(%q) = %v, want %v", p, got, want)
		}
	}
}

// pythonImage is what a Python service's image holds where it looks names
// up: the interpreter's hundreds of modules, a library's, and the
// application's few codecs.
func pythonImage() fakeLister {
	l := fakeLister{
		"/app":                                   {"pyplugins"},
		"/app/pyplugins":                         {"__init__.py", "__pycache__", "codecs", "main.py", "renderers"},
		"/app/pyplugins/codecs":                  {"__init__.py", "__pycache__", "atbash.py", "plain.py", "reverse.py", "rot_13.py", "upper_case.py"},
		"/usr/lib/python3.11":                    nil,
		"/usr/lib/python3/dist-packages/fastapi": nil,
	}
	for i := range 20 {
		l["/app/pyplugins/codecs"] = append(l["/app/pyplugins/codecs"], fmt.Sprintf("caesar_%d.py", i+1))
	}
	for i := range 300 {
		l["/usr/lib/python3.11"] = append(l["/usr/lib/python3.11"], fmt.Sprintf("stdmod%03d.py", i))
	}
	for i := range 80 {
		l["/usr/lib/python3/dist-packages/fastapi"] = append(l["/usr/lib/python3/dist-packages/fastapi"], fmt.Sprintf("fastmod%02d.py", i))
	}
	l["/app/pyplugins/codecs/__pycache__"] = []string{"__init__.cpython-311.pyc", "plain.cpython-311.pyc"}
	return l
}

// startupListings are the directories Python listed before the first request.
func startupListings() []DirListing {
	return []DirListing{
		{Path: "/usr/lib/python3.11", Listed: true, Startup: true},
		{Path: "/usr/lib/python3/dist-packages/fastapi", Listed: true, Startup: true},
		{Path: "/app", Listed: true, Startup: true},
		{Path: "/app/pyplugins", Listed: true, Startup: true},
		{Path: "/app/pyplugins/codecs", Listed: true, Startup: true},
		{Path: "/app/pyplugins/codecs/__pycache__", Startup: true}, // plain.cpython-311.pyc opened
	}
}

func loadedBook(t *testing.T) *nameBook {
	t.Helper()
	b := newNameBook(pythonImage())
	b.note(startupListings())
	if got := len(b.load(context.Background())); got != 5 {
		t.Fatalf("%d directories with names, want 5 (__pycache__ folded into its package)", got)
	}
	return b
}

func TestNameBookPrefersTheMatchingApplicationDirectory(t *testing.T) {
	b := loadedBook(t)
	codecs := map[string]bool{}
	for _, n := range pythonImage()["/app/pyplugins/codecs"] {
		if s := nameStem(n); s != "" {
			codecs[s] = true
			for _, v := range nameVariants(s) {
				codecs[v] = true
			}
		}
	}
	share := func(param string, in func(string) bool) float64 {
		rng := rand.New(rand.NewPCG(1, 2))
		hits := 0
		for range 2000 {
			v, ok := b.PickName(rng, param)
			if !ok {
				t.Fatalf("no name for %s", param)
			}
			if in(v) {
				hits++
			}
		}
		return float64(hits) / 2000
	}
	isCodec := func(v string) bool { return codecs[v] }
	// 25 codecs among ~400 names: a flat pool would pick one ~6% of the time.
	if got := share("codec", isCodec); got < 0.8 {
		t.Errorf("param codec: %.0f%% of picks are codecs, want most", 100*got)
	}
	// A parameter named like no directory still prefers the application's.
	isStd := func(v string) bool { return strings.Contains(strings.ToLower(v), "mod") }
	if got := share("text", isStd); got > 0.35 {
		t.Errorf("param text: %.0f%% of picks are the interpreter's or a library's modules", 100*got)
	}
	// Once the directory is kept whole, more of its names add little.
	before := share("codec", isCodec)
	b.markSelected("/app/pyplugins/codecs/__pycache__")
	if after := share("codec", isCodec); after >= before {
		t.Errorf("codecs picked %.0f%% of the time after selection, %.0f%% before", 100*after, 100*before)
	}
}

func TestNameBookForms(t *testing.T) {
	b := newNameBook(fakeLister{"/srv/templates": {"invoice_long.html.j2"}})
	b.note([]DirListing{{Path: "/srv/templates", Listed: true}})
	if got := b.load(context.Background()); len(got) != 1 {
		t.Fatalf("%d directories with names, want 1", len(got))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	forms := map[string]bool{}
	for range 500 {
		v, _ := b.PickName(rng, "template")
		forms[v] = true
	}
	for _, want := range []string{"invoice_long", "invoice_long.html", "invoice-long", "INVOICE_LONG"} {
		if !forms[want] {
			t.Errorf("never picked %q (picked %v)", want, forms)
		}
	}
}

func TestNameBookOrigin(t *testing.T) {
	b := newNameBook(pythonImage())
	b.note(startupListings())
	b.note([]DirListing{{Path: "/app/pyplugins/renderers", Listed: true}, {Path: "/srv/data"}})
	for dir, want := range map[string]string{
		"/app/pyplugins/codecs":             "listed by the target at start-up",
		"/app/pyplugins/codecs/__pycache__": "listed by the target at start-up",
		"/app/pyplugins/renderers":          "listed by the target",
		"/srv/data":                         "",
		"/nowhere":                          "",
	} {
		if got := b.origin(dir); got != want {
			t.Errorf("origin(%s) = %q, want %q", dir, got, want)
		}
	}
}

const codecSpec = `openapi: 3.0.3
info: {title: codecs, version: "1"}
paths:
  /convert:
    get:
      parameters:
        - {name: codec, in: query, required: true, schema: {type: string, minLength: 1, maxLength: 40}}
        - {name: text, in: query, schema: {type: string, maxLength: 40}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "404": {description: no such codec}
  /batch:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [codec, texts]
              properties:
                codec: {type: string, minLength: 1, maxLength: 40}
                texts: {type: array, items: {type: string, maxLength: 20}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "404": {description: no such codec}
`

// cachedImports plays a Python service whose import system listed the codec
// package at start-up: a name that exists imports its module (the tracer sees
// the source looked up and the bytecode opened), a name that does not is
// answered from the cached listing and touches no file at all.
type cachedImports struct {
	mu       sync.Mutex
	codecs   map[string]bool
	imported map[string]bool
	last     string
	started  bool
	startup  []DirListing
	sent     []string // every codec asked for, in order
	firstHit int      // request number of the first import (0: none)
}

func (c *cachedImports) handler(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("codec")
	if r.Method == http.MethodPost {
		var body struct{ Codec string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		name = body.Codec
	}
	mod := strings.ReplaceAll(strings.ToLower(name), "-", "_")
	c.mu.Lock()
	c.sent = append(c.sent, name)
	c.last = ""
	ok := c.codecs[mod]
	if ok && !c.imported[mod] {
		c.last = mod
		if c.firstHit == 0 {
			c.firstHit = len(c.sent)
		}
	}
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusNotFound)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"codec": mod})
}

func (c *cachedImports) After(context.Context) (Signal, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sig Signal
	if !c.started {
		c.started = true
		sig.Dirs = c.startup
	}
	if c.last != "" {
		c.imported[c.last] = true
		sig.NewFiles = []string{"/app/pyplugins/codecs/" + c.last + ".py", "/app/pyplugins/codecs/__pycache__/" + c.last + ".cpython-311.pyc"}
		sig.Files, sig.Functions = 2, 3
		c.last = ""
	}
	return sig, nil
}

func runCachedImports(t *testing.T, startup []DirListing, lister DirLister, opts ...Option) (*Result, *cachedImports) {
	t.Helper()
	s, err := spec.LoadSpecData(context.Background(), "codecs.yaml", []byte(codecSpec))
	if err != nil {
		t.Fatal(err)
	}
	target := &cachedImports{codecs: map[string]bool{}, imported: map[string]bool{"plain": true}, startup: startup}
	for _, n := range pythonImage()["/app/pyplugins/codecs"] {
		if s := nameStem(n); s != "" {
			target.codecs[s] = true
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(target.handler))
	defer srv.Close()
	opts = append([]Option{WithSeed(7), WithMaxRequests(400), WithFeedback(target), WithDirLister(lister)}, opts...)
	f := New(s, NewHTTPSender(srv.URL, 5*time.Second), opts...)
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, target
}

func TestNamesListedAtStartupAreSentAndSelect(t *testing.T) {
	swept := map[string]bool{}
	res, target := runCachedImports(t, startupListings(), pythonImage(), WithExchangeHook(func(e Exchange) {
		if e.Intent.Kind == "listed-name" {
			swept[e.Request.Method+" "+e.Intent.Target] = true
		}
	}))
	target.mu.Lock()
	firstHit, sent, imported := target.firstHit, len(target.sent), len(target.imported)
	target.mu.Unlock()
	// The plan sends each operation (up to 3 tries each) with random codecs
	// that hit nothing; the sweep of the codecs directory comes right after.
	if firstHit == 0 || firstHit > 2*3+2 {
		t.Fatalf("first existing codec sent as request %d of %d, want it right after the plan", firstHit, sent)
	}
	if imported != len(target.codecs) {
		t.Errorf("%d of %d codecs imported: the directory's names were not all tried", imported, len(target.codecs))
	}
	if !slices.Contains(res.SelectedDirs, "/app/pyplugins/codecs") {
		t.Fatalf("selected dirs %v", res.SelectedDirs)
	}
	targets := map[string]bool{}
	for _, sel := range res.Selections {
		if path.Clean(strings.TrimSuffix(sel.Dir, "/__pycache__")) != "/app/pyplugins/codecs" {
			t.Errorf("unexpected selection %+v", sel)
			continue
		}
		if sel.Names != "listed by the target at start-up" {
			t.Errorf("selection %+v does not say the names were listed at start-up", sel)
		}
		targets[sel.Operation+" "+sel.Target] = true
	}
	// Both places are swept; the module a name imports is new only once,
	// so the first place to send it selects.
	if len(targets) == 0 {
		t.Error("no selection")
	}
	if want := map[string]bool{"GET query.codec": true, "POST body/codec": true}; !reflect.DeepEqual(swept, want) {
		t.Errorf("names swept at %v, want %v", swept, want)
	}
	// Each codec imported once is new coverage, but the directory is kept
	// whole: the corpus holds a few of them, not all.
	named := 0
	for _, e := range res.Corpus {
		for _, r := range e.Requests {
			for c := range target.codecs {
				if strings.Contains(r.Path+string(r.Body), "codec="+c) || strings.Contains(string(r.Body), `"`+c+`"`) {
					named++
				}
			}
		}
	}
	// (The cap is 4 per directory; entries from before the selection add a few.)
	if named > 6 {
		t.Errorf("%d corpus requests name a codec: sweeping a directory floods the corpus", named)
	}
	t.Logf("first codec at request %d; %d requests, corpus %d, %d corpus requests name a codec", firstHit, sent, len(res.Corpus), named)
}

// The sweep alone (no name picked by chance) sends a codec that exists right
// after the plan: deterministically, not by luck.
func TestNameSweepHitsRightAfterThePlan(t *testing.T) {
	res, target := runCachedImports(t, startupListings(), pythonImage(), WithGeneratorOptions(gen.WithNames(nil)), WithMaxRequests(60))
	target.mu.Lock()
	defer target.mu.Unlock()
	// The plan: 2 operations, 3 tries each when no 2xx comes.
	if target.firstHit == 0 || target.firstHit > 7 {
		t.Fatalf("first existing codec sent as request %d (sent %q)", target.firstHit, target.sent)
	}
	if !slices.Contains(res.SelectedDirs, "/app/pyplugins/codecs") {
		t.Errorf("selected dirs %v", res.SelectedDirs)
	}
}

// Without the listing, nothing shows that the parameter names modules:
// random strings never hit one (the class of services this is about).
func TestNamesNotListedAreNotFound(t *testing.T) {
	res, target := runCachedImports(t, nil, fakeLister{})
	target.mu.Lock()
	defer target.mu.Unlock()
	if target.firstHit != 0 || len(res.SelectedDirs) != 0 {
		t.Errorf("a codec was found without its directory's listing (request %d, selected %v): the fixture of the test proves nothing", target.firstHit, res.SelectedDirs)
	}
}

// A listed name sent in one place while the request opened a file beneath
// a directory of that name, used long before, selects nothing; a directory
// the request itself brought does.
func TestKnownDirectoriesOnTheWayAreNotSelected(t *testing.T) {
	c := NewFileCorrelator(pythonImage())
	c.Observe("GET /health", "", nil, Signal{Dirs: startupListings()})
	sent := []gen.SentValue{{Target: "body/texts", Value: "pyplugins"}, {Target: "body/codec", Value: "atbash"}}
	sels := c.Observe("POST /batch", "body/codec", sent, Signal{
		NewFiles: []string{"/app/pyplugins/codecs/atbash.py"},
		Dirs:     []DirListing{{Path: "/app/pyplugins/codecs"}},
	})
	if len(sels) != 1 || sels[0].Dir != "/app/pyplugins/codecs" || sels[0].Target != "body/codec" {
		t.Fatalf("selections %+v, want only the codec's directory", sels)
	}
	if sels[0].Names != "listed by the target at start-up" {
		t.Errorf("names: %q", sels[0].Names)
	}
	sent = []gen.SentValue{{Target: "query.lang", Value: "fr_FR"}}
	sels = c.Observe("GET /hello", "query.lang", sent, Signal{
		NewFiles: []string{"/usr/share/locale/fr_FR/LC_MESSAGES/app.mo"},
		Dirs:     []DirListing{{Path: "/usr/share/locale/fr_FR/LC_MESSAGES"}},
	})
	if len(sels) != 1 || sels[0].Dir != "/usr/share/locale" || sels[0].Names != "" {
		t.Fatalf("selections %+v, want /usr/share/locale (names not listed)", sels)
	}
}

// slowLister is an image still being exported: until ready, reading a
// directory would wait for it.
type slowLister struct {
	fakeLister
	ready bool
}

func (s *slowLister) Ready() bool { return s.ready }

func (s *slowLister) ListDir(ctx context.Context, dir string) ([]string, error) {
	if !s.ready {
		panic("ListDir before Ready: the fuzzer would wait for the export")
	}
	return s.fakeLister.ListDir(ctx, dir)
}

func TestNameBookWaitsForTheImage(t *testing.T) {
	l := &slowLister{fakeLister: pythonImage()}
	b := newNameBook(l)
	b.note(startupListings())
	if got := b.load(context.Background()); got != nil {
		t.Fatalf("loaded %d directories before the image was ready", len(got))
	}
	if _, ok := b.PickName(rand.New(rand.NewPCG(1, 1)), "codec"); ok {
		t.Error("a name picked before any directory was read")
	}
	l.ready = true
	if got := b.load(context.Background()); len(got) != 5 {
		t.Fatalf("%d directories with names once ready, want 5", len(got))
	}
	if v, ok := b.PickName(rand.New(rand.NewPCG(1, 1)), "codec"); !ok || v == "" {
		t.Error("no name once ready")
	}
}

// Picks follow the weights as they change: a directory the target turns
// out to list itself is picked more often from then on.
func TestNameBookPicksFollowListing(t *testing.T) {
	b := newNameBook(fakeLister{"/srv/a": {"a1", "a2"}, "/srv/b": {"b1", "b2"}})
	b.note([]DirListing{{Path: "/srv/a"}, {Path: "/srv/b"}})
	b.load(context.Background())
	shareB := func() float64 {
		rng := rand.New(rand.NewPCG(5, 6))
		n := 0
		for range 2000 {
			if v, _ := b.PickName(rng, "text"); strings.HasPrefix(strings.ToLower(v), "b") {
				n++
			}
		}
		return float64(n) / 2000
	}
	before := shareB()
	b.note([]DirListing{{Path: "/srv/b", Listed: true}})
	after := shareB()
	if before > 0.6 || after < 0.6 {
		t.Errorf("/srv/b picked %.0f%% of the time, %.0f%% once listed: want about half, then about two thirds", 100*before, 100*after)
	}
}
