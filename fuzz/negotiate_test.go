package fuzz

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

const greetingSpec = testspecs.Greeting

// greeter is a server that picks its catalog by Accept-Language and its
// template by Accept, and reports the files it opened as a tracer would.
type greeter struct {
	mu        sync.Mutex
	languages []string // catalogs, as file stems
	opened    []string // since the last After
	seen      map[string]bool
	accepts   []string // Accept of each request, in order
	langs     map[string]bool
	// help: the language also picks a help page, from a second directory.
	help bool
}

func (g *greeter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.accepts = append(g.accepts, r.Header.Get("Accept"))
	lang := "en"
	for _, p := range gen.Preferences(r.Header.Get("Accept-Language")) {
		tag := strings.ReplaceAll(p.Value, "-", "_")
		if i := slices.IndexFunc(g.languages, func(l string) bool { return strings.EqualFold(l, tag) }); i >= 0 && p.Q > 0 {
			lang = g.languages[i]
			break
		}
	}
	g.langs[lang] = true
	g.opened = append(g.opened, "/srv/locales/"+lang+".json")
	if g.help {
		g.opened = append(g.opened, "/srv/help/"+lang+".html")
	}
	switch accept := r.Header.Get("Accept"); {
	case strings.Contains(accept, "text/html"):
		g.opened = append(g.opened, "/srv/templates/greeting.html")
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<p>hello " + lang))
	case strings.Contains(accept, "text/plain"):
		g.opened = append(g.opened, "/srv/templates/greeting.txt")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("hello " + lang))
	case accept == "" || strings.Contains(accept, "json") || strings.Contains(accept, "*"):
		g.opened = append(g.opened, "/srv/conf/settings.json") // read lazily, whatever the language
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"text": "hello " + lang})
	default:
		w.WriteHeader(http.StatusNotAcceptable)
	}
}

func (g *greeter) After(context.Context) (Signal, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var sig Signal
	for _, p := range g.opened {
		if !g.seen[p] {
			g.seen[p] = true
			sig.NewFiles = append(sig.NewFiles, p)
			sig.Files++
		}
	}
	g.opened = nil
	return sig, nil
}

func TestNegotiatedFilesAreTried(t *testing.T) {
	s := testspecs.Load(t, "greeting.yaml", greetingSpec)
	// sk and lv are in no list the generator knows: only the directory names them.
	g := &greeter{languages: []string{"en", "de", "fr", "fr_CH", "pt_BR", "sk", "lv"}, seen: map[string]bool{}, langs: map[string]bool{}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	lister := fakeimage.Lister{
		"/srv/locales":   {"de.json", "en.json", "fr.json", "fr_CH.json", "lv.json", "pt_BR.json", "sk.json", "README"},
		"/srv/templates": {"greeting.html", "greeting.txt", "greeting.html.bak"},
		"/srv/conf":      {"settings.json"},
	}
	res, err := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(150), WithFeedback(g), WithDirLister(lister)).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.SelectedDirs, []string{"/srv/locales", "/srv/templates"}) {
		t.Errorf("selected dirs %v, want the catalogs and the templates (a lone settings.json is no choice)", res.SelectedDirs)
	}
	for _, sel := range res.Selections {
		if want := map[string]string{"/srv/locales": "header.Accept-Language", "/srv/templates": "header.Accept"}[sel.Dir]; sel.Target != want {
			t.Errorf("selection %+v: want target %s", sel, want)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.languages {
		if !g.langs[l] {
			t.Errorf("catalog %s never chosen (chosen: %v)", l, g.langs)
		}
	}
	// Every declared type is asked for right after the plan, not by chance.
	early := g.accepts[:min(len(g.accepts), 10)]
	for _, ct := range s.Operation("GET /greeting").ResponseMedia {
		if !slices.Contains(early, ct) {
			t.Errorf("Accept: %s not among the first requests %q", ct, early)
		}
	}
	varied := map[string]bool{}
	for _, a := range g.accepts[10:] {
		varied[a] = true
	}
	if len(varied) < 4 {
		t.Errorf("Accept hardly varied after the sweep: %v", varied)
	}
}

// listedAtStart is a feedback that adds, to its first signal, directories
// the target listed at start-up.
type listedAtStart struct {
	Feedback
	dirs []inputsel.DirListing
	done bool
}

func (l *listedAtStart) After(ctx context.Context) (Signal, error) {
	sig, err := l.Feedback.After(ctx)
	if !l.done {
		l.done = true
		sig.Dirs = append(sig.Dirs, l.dirs...)
	}
	return sig, err
}

// A header selects like any other value: its selection says where the
// directory's names were known from, and the name book stops favouring
// a directory that is kept whole anyway.
func TestNegotiatedSelectionsAreRecordedLikeOthers(t *testing.T) {
	s := testspecs.Load(t, "greeting.yaml", greetingSpec)
	g := &greeter{languages: []string{"en", "de", "fr"}, seen: map[string]bool{}, langs: map[string]bool{}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	lister := fakeimage.Lister{"/srv/locales": {"de.json", "en.json", "fr.json"}, "/srv/templates": {"greeting.html", "greeting.txt"}}
	fb := &listedAtStart{Feedback: g, dirs: []inputsel.DirListing{{Path: "/srv/locales", Listed: true, Startup: true}}}
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(60), WithFeedback(fb), WithDirLister(lister))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var locales *inputsel.Selection
	for i, sel := range res.Selections {
		if sel.Dir == "/srv/locales" {
			locales = &res.Selections[i]
		}
	}
	if locales == nil {
		t.Fatalf("no selection of the catalogs: %+v", res.Selections)
	}
	if locales.Names != "listed by the target at start-up" {
		t.Errorf("the catalogs' selection does not say they were listed at start-up: %+v", *locales)
	}
	if !f.l.selection.files.Names().Selected("/srv/locales") {
		t.Error("the name book was not told the catalogs are selected")
	}
}

// A language that picks files in two directories is two selections, but
// each other language is asked for once.
func TestNegotiatedTriesAreQueuedOnce(t *testing.T) {
	s := testspecs.Load(t, "greeting.yaml", greetingSpec)
	g := &greeter{languages: []string{"en", "de", "fr", "sk"}, seen: map[string]bool{}, langs: map[string]bool{}, help: true}
	srv := httptest.NewServer(g)
	defer srv.Close()
	lister := fakeimage.Lister{
		"/srv/locales": {"de.json", "en.json", "fr.json", "sk.json"},
		"/srv/help":    {"de.html", "en.html", "fr.html", "sk.html"},
	}
	tries := map[string]int{}
	hook := WithExchangeHook(func(e Exchange) {
		if e.Intent.Kind == "input-selected-file" {
			tries[e.Intent.Target+" "+http.Header(e.Request.Header).Get("Accept-Language")]++
		}
	})
	res, err := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(80), WithFeedback(g), WithDirLister(lister), hook).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dirs := 0
	for _, sel := range res.Selections {
		if sel.Target == "header.Accept-Language" {
			dirs++
		}
	}
	if dirs != 2 {
		t.Fatalf("%d directories selected by Accept-Language, want 2 (selections %+v): the test shows nothing", dirs, res.Selections)
	}
	for k, n := range tries {
		if n > 1 {
			t.Errorf("%s tried %d times", k, n)
		}
	}
	t.Logf("tries: %v", tries)
}

func TestReplaySendsNegotiationHeaders(t *testing.T) {
	s := testspecs.Load(t, "greeting.yaml", greetingSpec)
	step := Step{Op: "GET /greeting", Input: gen.Input{Op: "GET /greeting", Headers: map[string]string{"Accept": "text/plain", "Accept-Language": "pt-BR"}}}
	// Through the corpus on disk and back, as verification reads it.
	steps, err := json.Marshal([]Step{step})
	if err != nil {
		t.Fatal(err)
	}
	e, err := entryFromCorpus(corpus.Entry{ID: "x", Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	var got []http.Header
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("olá"))
	}))
	defer srv.Close()
	x, err := Replay(context.Background(), s, newHTTPSender(srv.URL, 5*time.Second), []Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 1 || len(got) != 1 {
		t.Fatalf("%d exchanges, %d requests", len(x), len(got))
	}
	if got[0].Get("Accept") != "text/plain" || got[0].Get("Accept-Language") != "pt-BR" {
		t.Errorf("replayed with headers %v", got[0])
	}
	if h := http.Header(x[0].Request.Header); h.Get("Accept-Language") != "pt-BR" {
		t.Errorf("exchange records headers %v", x[0].Request.Header)
	}
}
