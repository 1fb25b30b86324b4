package inputsel

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
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

func loadedBook(t *testing.T) *NameBook {
	t.Helper()
	b := newNameBook(fakeimage.Python())
	b.note(startupListings())
	if got := len(b.Load(context.Background())); got != 5 {
		t.Fatalf("%d directories with names, want 5 (__pycache__ folded into its package)", got)
	}
	return b
}

func TestNameBookPrefersTheMatchingApplicationDirectory(t *testing.T) {
	b := loadedBook(t)
	codecs := map[string]bool{}
	for _, n := range fakeimage.Python()["/app/pyplugins/codecs"] {
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
	b := newNameBook(fakeimage.Lister{"/srv/templates": {"invoice_long.html.j2"}})
	b.note([]DirListing{{Path: "/srv/templates", Listed: true}})
	if got := b.Load(context.Background()); len(got) != 1 {
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
	b := newNameBook(fakeimage.Python())
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

// A listed name sent in one place while the request opened a file beneath
// a directory of that name, used long before, selects nothing; a directory
// the request itself brought does.
func TestKnownDirectoriesOnTheWayAreNotSelected(t *testing.T) {
	c := NewCorrelator(fakeimage.Python())
	c.Observe("GET /health", "", nil, nil, startupListings())
	sent := []gen.SentValue{{Target: "body/texts", Value: "pyplugins"}, {Target: "body/codec", Value: "atbash"}}
	sels := c.Observe("POST /batch", "body/codec", sent,
		[]string{"/app/pyplugins/codecs/atbash.py"},
		[]DirListing{{Path: "/app/pyplugins/codecs"}},
	)
	if len(sels) != 1 || sels[0].Dir != "/app/pyplugins/codecs" || sels[0].Target != "body/codec" {
		t.Fatalf("selections %+v, want only the codec's directory", sels)
	}
	if sels[0].Names != "listed by the target at start-up" {
		t.Errorf("names: %q", sels[0].Names)
	}
	sent = []gen.SentValue{{Target: "query.lang", Value: "fr_FR"}}
	sels = c.Observe("GET /hello", "query.lang", sent,
		[]string{"/usr/share/locale/fr_FR/LC_MESSAGES/app.mo"},
		[]DirListing{{Path: "/usr/share/locale/fr_FR/LC_MESSAGES"}},
	)
	if len(sels) != 1 || sels[0].Dir != "/usr/share/locale" || sels[0].Names != "" {
		t.Fatalf("selections %+v, want /usr/share/locale (names not listed)", sels)
	}
}

// slowLister is an image still being exported: until ready, reading a
// directory would wait for it.
type slowLister struct {
	fakeimage.Lister
	ready bool
}

func (s *slowLister) Ready() bool { return s.ready }

func (s *slowLister) ListDir(ctx context.Context, dir string) ([]string, error) {
	if !s.ready {
		panic("ListDir before Ready: the fuzzer would wait for the export")
	}
	return s.Lister.ListDir(ctx, dir)
}

func TestNameBookWaitsForTheImage(t *testing.T) {
	l := &slowLister{Lister: fakeimage.Python()}
	b := newNameBook(l)
	b.note(startupListings())
	if got := b.Load(context.Background()); got != nil {
		t.Fatalf("loaded %d directories before the image was ready", len(got))
	}
	if _, ok := b.PickName(rand.New(rand.NewPCG(1, 1)), "codec"); ok {
		t.Error("a name picked before any directory was read")
	}
	l.ready = true
	if got := b.Load(context.Background()); len(got) != 5 {
		t.Fatalf("%d directories with names once ready, want 5", len(got))
	}
	if v, ok := b.PickName(rand.New(rand.NewPCG(1, 1)), "codec"); !ok || v == "" {
		t.Error("no name once ready")
	}
}

// Picks follow the weights as they change: a directory the target turns
// out to list itself is picked more often from then on.
func TestNameBookPicksFollowListing(t *testing.T) {
	b := newNameBook(fakeimage.Lister{"/srv/a": {"a1", "a2"}, "/srv/b": {"b1", "b2"}})
	b.note([]DirListing{{Path: "/srv/a"}, {Path: "/srv/b"}})
	b.Load(context.Background())
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

// startupListings are the directories Python listed before the first request.
func startupListings() []DirListing {
	return fakeimage.PythonStartup(func(p string, listed, startup bool) DirListing {
		return DirListing{Path: p, Listed: listed, Startup: startup}
	})
}
