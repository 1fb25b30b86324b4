package fuzz

import (
	"bytes"
	"compress/gzip"
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
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestCorrelateToken(t *testing.T) {
	tests := []struct {
		tok           string
		part          gen.NamePart
		path          string
		ok            bool
		dir, pre, suf string
	}{
		{"html", gen.PartExtension, "/srv/templates/item.html", true, "/srv/templates", "item.", ""},
		{"html", gen.PartExtension, "/srv/templates/item.html.j2", true, "/srv/templates", "item.", ".j2"},
		{"gz", gen.PartExtension, "/srv/static/app.js.gz", true, "/srv/static", "app.js.", ""},
		{"json", gen.PartExtension, "/usr/lib/python3.11/json/__init__.py", false, "", "", ""}, // a package, not an extension
		{"csv", gen.PartExtension, "/usr/lib/python3.11/csv.py", false, "", "", ""},            // a stem, not an extension
		{"gz", gen.PartExtension, "/srv/static/.gz", false, "", "", ""},
		{"html", gen.PartExtension, "/srv/html/index.php", false, "", "", ""},
		{"fr_CH", gen.PartTag, "/srv/locales/fr_CH.json", true, "/srv/locales", "", ".json"},
		{"fr", gen.PartTag, "/srv/locales/messages.fr.json", true, "/srv/locales", "messages.", ".json"},
		{"fr", gen.PartTag, "/srv/i18n/messages_fr.properties", true, "/srv/i18n", "messages_", ".properties"},
		{"fr", gen.PartTag, "/usr/share/locale/fr/LC_MESSAGES/app.mo", true, "/usr/share/locale", "", ""},
		{"de", gen.PartTag, "/srv/locales/de-CH.json", false, "", "", ""}, // another, longer tag
		{"de", gen.PartTag, "/srv/code/decode.py", false, "", "", ""},
		{"id", gen.PartTag, "/srv/models/valid.json", false, "", "", ""},
	}
	for _, tt := range tests {
		sel, ok := correlateToken(tt.tok, tt.part, tt.path)
		if ok != tt.ok || ok && (sel.Dir != tt.dir || sel.Prefix != tt.pre || sel.Suffix != tt.suf || sel.Value != tt.tok) {
			t.Errorf("correlateToken(%q, %s, %q) = %+v, %v", tt.tok, tt.part, tt.path, sel, ok)
		}
	}
}

const greetingSpec = `openapi: 3.0.3
info: {title: greeting, version: "1"}
paths:
  /greeting:
    get:
      responses:
        "200":
          description: a greeting in the negotiated language and representation
          content:
            application/json: {schema: {type: object, properties: {text: {type: string}}}}
            text/html: {schema: {type: string}}
            text/plain: {schema: {type: string}}
`

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
	s, err := spec.LoadSpecData(context.Background(), "greeting.yaml", []byte(greetingSpec))
	if err != nil {
		t.Fatal(err)
	}
	// sk and lv are in no list the generator knows: only the directory names them.
	g := &greeter{languages: []string{"en", "de", "fr", "fr_CH", "pt_BR", "sk", "lv"}, seen: map[string]bool{}, langs: map[string]bool{}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	lister := fakeLister{
		"/srv/locales":   {"de.json", "en.json", "fr.json", "fr_CH.json", "lv.json", "pt_BR.json", "sk.json", "README"},
		"/srv/templates": {"greeting.html", "greeting.txt", "greeting.html.bak"},
		"/srv/conf":      {"settings.json"},
	}
	res, err := New(s, NewHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(150), WithFeedback(g), WithDirLister(lister)).Run(context.Background())
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
	dirs []DirListing
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
	s, err := spec.LoadSpecData(context.Background(), "greeting.yaml", []byte(greetingSpec))
	if err != nil {
		t.Fatal(err)
	}
	g := &greeter{languages: []string{"en", "de", "fr"}, seen: map[string]bool{}, langs: map[string]bool{}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	lister := fakeLister{"/srv/locales": {"de.json", "en.json", "fr.json"}, "/srv/templates": {"greeting.html", "greeting.txt"}}
	fb := &listedAtStart{Feedback: g, dirs: []DirListing{{Path: "/srv/locales", Listed: true, Startup: true}}}
	f := New(s, NewHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(60), WithFeedback(fb), WithDirLister(lister))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var locales *Selection
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
	if !f.r.files.names.selected["/srv/locales"] {
		t.Error("the name book was not told the catalogs are selected")
	}
}

// A language that picks files in two directories is two selections, but
// each other language is asked for once.
func TestNegotiatedTriesAreQueuedOnce(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "greeting.yaml", []byte(greetingSpec))
	if err != nil {
		t.Fatal(err)
	}
	g := &greeter{languages: []string{"en", "de", "fr", "sk"}, seen: map[string]bool{}, langs: map[string]bool{}, help: true}
	srv := httptest.NewServer(g)
	defer srv.Close()
	lister := fakeLister{
		"/srv/locales": {"de.json", "en.json", "fr.json", "sk.json"},
		"/srv/help":    {"de.html", "en.html", "fr.html", "sk.html"},
	}
	tries := map[string]int{}
	hook := WithExchangeHook(func(e Exchange) {
		if e.Intent.Kind == "input-selected-file" {
			tries[e.Intent.Target+" "+http.Header(e.Request.Header).Get("Accept-Language")]++
		}
	})
	res, err := New(s, NewHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(80), WithFeedback(g), WithDirLister(lister), hook).Run(context.Background())
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

func TestOracleLeavesNegotiationAlone(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "greeting.yaml", []byte(greetingSpec))
	if err != nil {
		t.Fatal(err)
	}
	o := NewOracle(s)
	req := func(h map[string]string) corpus.Request {
		r := corpus.Request{Operation: "GET /greeting", Method: "GET", Path: "/greeting", Header: map[string][]string{}}
		for k, v := range h {
			r.Header[k] = []string{v}
		}
		return r
	}
	refused := corpus.Response{Status: 406, Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("no")}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"text": 5}`)) // would break the schema, if it were read
	_ = zw.Close()
	compressed := corpus.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, Body: gz.Bytes()}
	plainBad := corpus.Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"text": 5}`)}
	tests := []struct {
		name string
		req  corpus.Request
		resp corpus.Response
		want Check
	}{
		{"406 to an undeclared type", req(map[string]string{"Accept": "image/png"}), refused, ""},
		{"406 to a refused declared type", req(map[string]string{"Accept": "text/html;q=0, image/png"}), refused, ""},
		{"406 to a language", req(map[string]string{"Accept": "text/html", "Accept-Language": "tlh"}), refused, ""},
		{"406 to a declared type", req(map[string]string{"Accept": "text/*"}), refused, CheckStatus},
		{"406 to nothing asked", req(nil), refused, CheckStatus},
		// A server always has some language and the identity coding.
		{"406 to any language", req(map[string]string{"Accept-Language": "*"}), refused, CheckStatus},
		{"406 to a language or any other", req(map[string]string{"Accept-Language": "tlh, *;q=0.5"}), refused, CheckStatus},
		{"406 to identity", req(map[string]string{"Accept-Encoding": "identity"}), refused, CheckStatus},
		{"406 to a coding or identity", req(map[string]string{"Accept-Encoding": "br, identity;q=0.5"}), refused, CheckStatus},
		{"406 to a coding", req(map[string]string{"Accept-Encoding": "br"}), refused, ""},
		{"406 to a coding, identity refused", req(map[string]string{"Accept-Encoding": "identity;q=0, br"}), refused, ""},
		{"compressed body", req(map[string]string{"Accept-Encoding": "gzip"}), compressed, ""},
		{"plain body still checked", req(nil), plainBad, CheckSchema},
	}
	for _, tt := range tests {
		vs := o.Check(context.Background(), tt.req, gen.Intent{}, tt.resp)
		switch {
		case tt.want == "" && len(vs) > 0:
			t.Errorf("%s: unexpected %+v", tt.name, vs)
		case tt.want != "" && (len(vs) != 1 || vs[0].Check != tt.want):
			t.Errorf("%s: got %+v, want %s", tt.name, vs, tt.want)
		}
	}
}

// A 406 the operation documents is judged against what it documents, even
// when the request asked for something the server need not offer.
func TestOracleJudgesADocumented406(t *testing.T) {
	doc := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /doc:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
        "406":
          description: none of the representations asked for
          content:
            application/json:
              schema: {type: object, required: [available], properties: {available: {type: array, items: {type: string}}}}
`
	s, err := spec.LoadSpecData(context.Background(), "t.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	o := NewOracle(s)
	req := corpus.Request{Operation: "GET /doc", Method: "GET", Path: "/doc", Header: map[string][]string{"Accept": {"image/png"}}}
	asDocumented := corpus.Response{Status: 406, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"available": ["application/json"]}`)}
	if vs := o.Check(context.Background(), req, gen.Intent{}, asDocumented); len(vs) != 0 {
		t.Errorf("a 406 as documented: %+v", vs)
	}
	for _, bad := range []corpus.Response{
		{Status: 406, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"available": "json"}`)},
		{Status: 406, Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: []byte("no")},
	} {
		if vs := o.Check(context.Background(), req, gen.Intent{}, bad); len(vs) != 1 {
			t.Errorf("a 406 unlike the documented one (%s %s) passed: %+v", bad.Header["Content-Type"][0], bad.Body, vs)
		}
	}
}

func TestReplaySendsNegotiationHeaders(t *testing.T) {
	s, err := spec.LoadSpecData(context.Background(), "greeting.yaml", []byte(greetingSpec))
	if err != nil {
		t.Fatal(err)
	}
	step := Step{Op: "GET /greeting", Input: gen.Input{Op: "GET /greeting", Headers: map[string]string{"Accept": "text/plain", "Accept-Language": "pt-BR"}}}
	// Through the corpus on disk and back, as verification reads it.
	steps, err := json.Marshal([]Step{step})
	if err != nil {
		t.Fatal(err)
	}
	e, err := EntryFromCorpus(corpus.Entry{ID: "x", Steps: steps})
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
	x, err := Replay(context.Background(), s, NewHTTPSender(srv.URL, 5*time.Second), []Entry{e})
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
