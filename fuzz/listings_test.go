package fuzz

import (
	"context"
	"encoding/json"
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
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

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
	startup  []inputsel.DirListing
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

func runCachedImports(t *testing.T, startup []inputsel.DirListing, lister inputsel.DirLister, opts ...Option) (*Result, *cachedImports) {
	t.Helper()
	s := testspecs.Load(t, "codecs.yaml", codecSpec)
	target := &cachedImports{codecs: map[string]bool{}, imported: map[string]bool{"plain": true}, startup: startup}
	for _, c := range fakeimage.PythonCodecs() {
		target.codecs[c] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(target.handler))
	defer srv.Close()
	opts = append([]Option{WithSeed(7), WithMaxRequests(400), WithFeedback(target), WithDirLister(lister)}, opts...)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), opts...)
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, target
}

func TestNamesListedAtStartupAreSentAndSelect(t *testing.T) {
	swept := map[string]bool{}
	res, target := runCachedImports(t, startupListings(), fakeimage.Python(), WithExchangeHook(func(e Exchange) {
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
	res, target := runCachedImports(t, startupListings(), fakeimage.Python(), withGeneratorOptions(gen.WithNames(nil)), WithMaxRequests(60))
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
	res, target := runCachedImports(t, nil, fakeimage.Lister{})
	target.mu.Lock()
	defer target.mu.Unlock()
	if target.firstHit != 0 || len(res.SelectedDirs) != 0 {
		t.Errorf("a codec was found without its directory's listing (request %d, selected %v): the fixture of the test proves nothing", target.firstHit, res.SelectedDirs)
	}
}

// startupListings are the directories Python listed before the first request.
func startupListings() []inputsel.DirListing {
	return fakeimage.PythonStartup(func(p string, listed, startup bool) inputsel.DirListing {
		return inputsel.DirListing{Path: p, Listed: listed, Startup: startup}
	})
}
