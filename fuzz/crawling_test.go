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

	"github.com/whittle-dev/whittle/fuzz/crawl"
	"github.com/whittle-dev/whittle/fuzz/crawl/browser"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

const pageSpec = `
openapi: 3.0.3
info: {title: pages, version: "1"}
paths:
  /:
    get:
      responses:
        "200":
          description: the home page
          content:
            text/html: {schema: {type: string}}
  /api/health:
    get:
      responses:
        "200": {description: ok}
`

// pageSite serves a home page that links assets, a stylesheet that url()s
// a font, a script that fetches data and a manifest with an icon; each
// asset read is reported as a new file by filesFeedback.
type pageSite struct {
	mu    sync.Mutex
	read  []string // files read since the feedback last asked
	asked []string // every path asked for
}

func (p *pageSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.asked = append(p.asked, r.URL.RequestURI())
	p.mu.Unlock()
	body, ct := "", ""
	switch r.URL.Path {
	case "/":
		ct, body = "text/html; charset=utf-8", `<html><head><link rel="stylesheet" href="/static/site.css"><link rel="manifest" href="/site.webmanifest">
<script src="/static/app.js"></script></head><body><img src="/static/logo.png"><a href="http://example.com/off">x</a></body></html>`
	case "/static/site.css":
		ct, body = "text/css", `@font-face { src: url(fonts/f.woff2) }`
	case "/static/app.js":
		ct, body = "application/javascript", `fetch("/static/data.json").then(r => r.json())`
	case "/site.webmanifest":
		ct, body = "application/manifest+json", `{"icons":[{"src":"/static/icon.png"}]}`
	case "/static/logo.png", "/static/fonts/f.woff2", "/static/data.json", "/static/icon.png", "/api/health":
		ct, body = "application/octet-stream", "x"
	default:
		http.NotFound(w, r)
		return
	}
	p.mu.Lock()
	p.read = append(p.read, "/srv"+r.URL.Path)
	p.mu.Unlock()
	w.Header().Set("Content-Type", ct)
	fmt.Fprint(w, body)
}

func (p *pageSite) After(context.Context) (Signal, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Signal{Files: len(p.read), NewFiles: p.read}
	p.read = nil
	return s, nil
}

func TestCrawlRequestsWhatPagesLinkAndKeepsTheirFiles(t *testing.T) {
	site := &pageSite{}
	srv := httptest.NewServer(site)
	defer srv.Close()
	s := testspecs.Load(t, "pages", pageSpec)
	f := New(s, newHTTPSender(srv.URL, 0), WithSeed(1), WithMaxRequests(60), WithFeedback(site))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/static/site.css", "/site.webmanifest", "/static/app.js", "/static/logo.png", "/static/fonts/f.woff2", "/static/data.json", "/static/icon.png"} {
		if !slices.Contains(site.asked, p) {
			t.Errorf("%s was never requested; asked %q", p, site.asked)
		}
	}
	// Linked assets are requested once: the scheduler does not pick them
	// again (they are not mutated).
	times := map[string]int{}
	for _, p := range site.asked {
		times[p]++
	}
	for p, n := range times {
		if strings.HasPrefix(p, "/static/") && n > 1 {
			t.Errorf("%s requested %d times", p, n)
		}
	}
	if slices.ContainsFunc(site.asked, func(p string) bool { return p == "/off" }) {
		t.Errorf("an off-origin link was followed: %q", site.asked)
	}
	want := map[string]string{
		"/srv/static/site.css":      "GET /",
		"/srv/static/logo.png":      "GET /",
		"/srv/static/fonts/f.woff2": "GET /static/site.css",
		"/srv/static/data.json":     "GET /static/app.js",
		"/srv/static/icon.png":      "GET /site.webmanifest",
	}
	got := map[string]string{}
	for _, lf := range res.Linked {
		got[lf.Path] = lf.From
	}
	for p, from := range want {
		if got[p] != from {
			t.Errorf("%s: kept as linked from %q, want %q", p, got[p], from)
		}
	}
	if _, ok := got["/srv/api/health"]; ok {
		t.Error("a file of a spec request is kept as linked")
	}
	// Each linked request is in the corpus, so the verification replays it.
	inCorpus := map[string]bool{}
	for _, e := range res.Corpus {
		for _, r := range e.Requests {
			inCorpus[r.Path] = true
		}
	}
	for _, p := range []string{"/static/site.css", "/static/fonts/f.woff2", "/static/data.json", "/static/icon.png"} {
		if !inCorpus[p] {
			t.Errorf("%s is not in the corpus", p)
		}
	}
	if res.Crawl.Requested != 7 || res.Crawl.Dropped != 0 {
		t.Errorf("crawl summary %+v", res.Crawl)
	}
	// Linked requests replay (their steps are raw GETs).
	xs, err := Replay(context.Background(), s, newHTTPSender(srv.URL, 0), res.Corpus)
	if err != nil {
		t.Fatal(err)
	}
	replayed := 0
	for _, x := range xs {
		if x.Request.Path == "/static/data.json" && x.Response.Status == 200 {
			replayed++
		}
	}
	if replayed == 0 {
		t.Error("the linked request of /static/data.json was not replayed")
	}
}

func TestCrawlIsBoundedWithOneNote(t *testing.T) {
	var b strings.Builder
	b.WriteString("<html><body>")
	for i := range 3000 {
		fmt.Fprintf(&b, `<img src="/img/%d.png">`, i)
	}
	page := b.String()
	var mu sync.Mutex
	asked := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, page)
			return
		}
		mu.Lock()
		asked[r.URL.Path] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		fmt.Fprint(w, "x")
	}))
	defer srv.Close()
	s := testspecs.Load(t, "pages", pageSpec)
	f := New(s, newHTTPSender(srv.URL, 0), WithSeed(1), WithMaxRequests(200), WithCrawlLimits(crawl.Limits{MaxPaths: 20}))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	delete(asked, "/api/health")
	if len(asked) != 20 {
		t.Errorf("%d linked paths requested, want the limit of 20", len(asked))
	}
	notes := 0
	for _, w := range res.Warnings {
		if strings.HasPrefix(w, "crawl:") {
			notes++
		}
	}
	if notes != 1 || res.Crawl.Requested != 20 || res.Crawl.Dropped == 0 {
		t.Errorf("notes %d, summary %+v, warnings %q", notes, res.Crawl, res.Warnings)
	}
}

// With a browser, what a script asks for at run time, from a path built
// of parts that no parse finds, is requested and kept too.
func TestCrawlBrowserFindsWhatScriptsBuild(t *testing.T) {
	bin, err := browser.Find()
	if err != nil {
		t.Skipf("SKIP: %v: the browser load is not tested here", err)
	}
	var mu sync.Mutex
	var asked []string
	var read []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><head><script src="/static/app.js"></script></head><body></body></html>`)
		case "/static/app.js":
			w.Header().Set("Content-Type", "application/javascript")
			fmt.Fprint(w, `const parts = ['static', 'data', 'late']; fetch('/' + parts.join('/') + '.json');`)
		case "/static/data/late.json", "/api/health":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{}`)
		default:
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		read = append(read, "/srv"+r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	fb := feedbackFunc(func() Signal {
		mu.Lock()
		defer mu.Unlock()
		s := Signal{Files: len(read), NewFiles: read}
		read = nil
		return s
	})
	s := testspecs.Load(t, "pages", pageSpec)
	f := New(s, newHTTPSender(srv.URL, 0), WithSeed(1), WithMaxRequests(40), WithFeedback(fb), WithBrowser(bin))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(asked, "/static/data/late.json") {
		t.Fatalf("the path the script builds was never requested: %q (warnings %q)", asked, res.Warnings)
	}
	found := false
	for _, lf := range res.Linked {
		found = found || lf.Path == "/srv/static/data/late.json" && lf.From == "GET /"
	}
	if !found {
		t.Errorf("linked files %+v", res.Linked)
	}
}

type feedbackFunc func() Signal

func (f feedbackFunc) After(context.Context) (Signal, error) { return f(), nil }
