package fuzz

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/crawl"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// linkedKind is the Intent.Kind of a request the crawl made; its
// Intent.Target is the request of the page that linked it ("GET /").
const linkedKind = "linked"

// crawling requests what the target's pages link on its own origin
// (fuzz/crawl): every 2xx answer to a GET that is a page, a stylesheet, a
// script or a web manifest proposes a GET of each path it links, once, to a
// bounded depth and number; and the files a linked request made the target
// use for the first time are kept with the page that linked it.
// Reads: step, req, resp, sig (the new files of a linked request).
// Changes: its crawler; fills tries; notes once when the crawl is bounded.
type crawling struct {
	crawler *crawl.Crawler
	browser *pageBrowser // nil: pages are only parsed
	// origin is the target's host:port, prefix its base path (no
	// trailing slash): links resolve as a browser at the base URL would.
	origin, prefix string
	note           func(string)
	// browsedOps are the operations one of whose pages the browser loaded:
	// an operation that renders a page per id (a label, an invoice) runs
	// the same scripts on each, and a browser load costs the target and
	// the fuzzer a second of two cores.
	browsedOps map[string]bool
}

func newCrawling(base string, limits crawl.Limits, browserBin string, note func(string)) *crawling {
	o := &crawling{crawler: crawl.New(limits), browser: newPageBrowser(browserBin), origin: "127.0.0.1", note: note, browsedOps: map[string]bool{}}
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		o.origin, o.prefix = u.Host, strings.TrimRight(u.EscapedPath(), "/")
	}
	return o
}

func (o *crawling) observe(ctx context.Context, rec *record) {
	req := rec.req.Request
	if req.Method != http.MethodGet {
		return
	}
	full := o.prefix + req.Path
	if rec.req.Intent.Kind == linkedKind {
		o.crawler.Keep(rec.req.Intent.Target, "GET "+req.Path, rec.sig.NewFiles)
	}
	kind := crawl.None
	if is2xx(rec.resp.Status) && len(rec.resp.Body) > 0 {
		kind = crawl.KindOf(rec.resp.ContentType(), req.Path)
	}
	if kind != crawl.None {
		links, note := o.crawler.Page(kind, full, o.origin, rec.resp.Body)
		o.propose(rec, links, note)
	}
	// The browser is served the answers of the pages and linked paths
	// (the crawler's, so bounded), and a page that waited for this one
	// is loaded again.
	if o.browser == nil || !o.crawler.Requested(full) {
		return
	}
	o.browser.keep(full, rec.resp)
	for _, page := range o.browser.answered(full) {
		o.browse(ctx, rec, page)
	}
	if kind == crawl.HTML && o.browser.loads[full] == 0 && !o.browsedOps[rec.op.ID] {
		// Loaded again only once what its load asked for was answered.
		o.browsedOps[rec.op.ID] = true
		o.browse(ctx, rec, full)
	}
}

// browse loads page in the browser and proposes what it asked for.
func (o *crawling) browse(ctx context.Context, rec *record, page string) {
	missing, note := o.browser.load(ctx, o.origin, page)
	if note != "" && o.note != nil {
		o.note(note)
	}
	links, note := o.crawler.Follow(page, missing)
	o.propose(rec, links, note)
	o.browser.wait(page, missing, o.crawler)
}

// propose adds a GET of each link to rec's tries.
func (o *crawling) propose(rec *record, links []crawl.Link, note string) {
	if note != "" && o.note != nil {
		o.note(note)
	}
	for _, ln := range links {
		path, ok := strings.CutPrefix(ln.Path, o.prefix)
		if !ok || !strings.HasPrefix(path, "/") {
			continue
		}
		from := strings.TrimPrefix(ln.From, "GET "+o.prefix)
		raw := corpus.Request{Method: http.MethodGet, Path: path}
		rec.tries = append(rec.tries, []Step{{Raw: &raw, Intent: gen.Intent{Kind: linkedKind, Target: "GET " + from}}})
	}
}

// linkedOperation stands for a linked path that no operation of the spec
// matches, so that its request is counted, judged (5xx, transport) and
// admitted to the corpus like any other.
func linkedOperation(req corpus.Request) *spec.Operation {
	p, _, _ := strings.Cut(req.Path, "?")
	return &spec.Operation{ID: http.MethodGet + " " + p, Method: http.MethodGet, Path: p}
}

// close stops the browser, if one ran.
func (o *crawling) close() { o.browser.close() }
