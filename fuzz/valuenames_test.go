package fuzz

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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

const encodeSpec = `openapi: 3.0.3
info: {title: encode, version: "1"}
paths:
  /encode:
    get:
      parameters:
        - {name: codec, in: query, required: true, schema: {type: string, minLength: 1, maxLength: 40%s}}
        - {name: text, in: query, schema: {type: string, maxLength: 20}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "400": {description: unknown encoding}
`

const encodingsDir = "/usr/lib/python3.11/encodings"

// codecLookup plays Python's codecs.lookup: the interpreter listed
// encodings/ at start-up and imported a few codecs then; a name of another
// module imports it (its files are new), any other name fails from the
// cached listing without touching a file.
type codecLookup struct {
	mu       sync.Mutex
	modules  map[string]bool
	imported map[string]bool
	last     string
	started  bool
	sent     map[string]bool
}

func newCodecLookup() (*codecLookup, fakeimage.Lister) {
	c := &codecLookup{modules: map[string]bool{}, imported: map[string]bool{}, sent: map[string]bool{}}
	entries := []string{"__init__.py", "__pycache__", "aliases.py", "ascii.py", "latin_1.py", "utf_8.py"}
	for i := range 120 {
		entries = append(entries, fmt.Sprintf("cp%d.py", 400+i))
	}
	for _, e := range entries {
		if m, ok := strings.CutSuffix(e, ".py"); ok && m != "__init__" {
			c.modules[m] = true
		}
	}
	for _, m := range []string{"aliases", "ascii", "latin_1", "utf_8"} {
		c.imported[m] = true
	}
	stdlib := []string{"encodings", "codecs.py", "os.py"}
	for i := range 3000 {
		stdlib = append(stdlib, fmt.Sprintf("mod%04d.py", i))
	}
	return c, fakeimage.Lister{encodingsDir: entries, "/usr/lib/python3.11": stdlib}
}

func (c *codecLookup) handler(w http.ResponseWriter, r *http.Request) {
	name := strings.ToLower(strings.ReplaceAll(r.URL.Query().Get("codec"), "-", "_"))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[name] = true
	if !c.modules[name] {
		http.Error(w, "unknown encoding", http.StatusBadRequest)
		return
	}
	if !c.imported[name] {
		c.last = name
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"codec": %q}`, name)
}

func (c *codecLookup) After(context.Context) (Signal, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sig Signal
	if !c.started {
		c.started = true
		sig.Dirs = []inputsel.DirListing{{Path: "/usr/lib/python3.11", Listed: true, Startup: true}, {Path: encodingsDir, Listed: true, Startup: true}}
	}
	if c.last != "" {
		c.imported[c.last] = true
		sig.NewFiles = []string{encodingsDir + "/" + c.last + ".py", encodingsDir + "/__pycache__/" + c.last + ".cpython-311.pyc"}
		sig.Files = 2
		c.last = ""
	}
	return sig, nil
}

func runCodecLookup(t *testing.T, schemaExtra string) (*Result, *codecLookup) {
	t.Helper()
	s := testspecs.Load(t, "encode.yaml", fmt.Sprintf(encodeSpec, schemaExtra))
	target, image := newCodecLookup()
	srv := httptest.NewServer(http.HandlerFunc(target.handler))
	defer srv.Close()
	// No name picked from the book by chance: what is found, the value
	// sweep found.
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(3), WithMaxRequests(120), WithFeedback(target),
		WithDirLister(image), withGeneratorOptions(gen.WithNames(nil)))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res, target
}

// A parameter named unlike the directory ("codec", encodings/) whose
// documented value the target accepts: that value spells a module of the
// interpreter's registry, a sample of the registry's other names is tried,
// one imports its module and the directory is selected; the thousands of
// stdlib names are not.
func TestInterpreterRegistryFoundFromAnAcceptedValue(t *testing.T) {
	res, target := runCodecLookup(t, ", example: utf-8")
	if !slices.Contains(res.SelectedDirs, encodingsDir) {
		t.Fatalf("selected dirs %v, want %s", res.SelectedDirs, encodingsDir)
	}
	target.mu.Lock()
	defer target.mu.Unlock()
	stdlib := 0
	for v := range target.sent {
		if strings.HasPrefix(v, "mod") {
			stdlib++
		}
	}
	if stdlib > 0 {
		t.Errorf("%d stdlib module names sent: the interpreter's directory floods the fuzzer", stdlib)
	}
	// The sample and the selected directory's candidates, not all 124 codecs.
	if res.ValueNames == 0 || res.ValueNames > 16 {
		t.Errorf("%d names tried from accepted values, want 1..16", res.ValueNames)
	}
	// Then the selection's candidates: up to maxSelectionTries for each of
	// the directory and its __pycache__.
	modules := 0
	for v := range target.sent {
		if target.modules[v] {
			modules++
		}
	}
	if modules > 16+2*maxSelectionTries {
		t.Errorf("%d codec names sent: the registry floods the fuzzer", modules)
	}
	t.Logf("%d names from the accepted value, %d codec names sent of %d, %d modules imported", res.ValueNames, modules, len(target.modules), len(target.imported))
}

// Without a value the target accepted, nothing shows that the parameter
// names codecs: the test above proves something.
func TestInterpreterRegistryNotFoundWithoutAnAcceptedValue(t *testing.T) {
	res, _ := runCodecLookup(t, "")
	if slices.Contains(res.SelectedDirs, encodingsDir) || res.ValueNames != 0 {
		t.Errorf("encodings selected (%v, %d value names) with no accepted value to show it", res.SelectedDirs, res.ValueNames)
	}
}
