package fuzz

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/crawl"
	"github.com/whittle-dev/whittle/fuzz/crawl/browser"
)

// The crawl's browser (fuzz/crawl/browser): each HTML page is loaded in a
// headless Chromium that is served the answers the run got, so that what
// its scripts ask for at run time is requested too. A page is loaded again
// once the paths it asked for were answered (its scripts then run and ask
// for more), up to maxPageLoads times.

const (
	maxPageLoads = 3
	// maxBrowserLoads bounds the browser's loads in a run: each starts
	// Chromium afresh (see load).
	maxBrowserLoads = 32
	// maxServedBody and maxServedBytes bound the answers kept to serve the
	// browser.
	maxServedBody  = 2 << 20
	maxServedBytes = 64 << 20
	maxServed      = 4096
	loadQuiet      = 300 * time.Millisecond
	loadLimit      = 10 * time.Second
)

// pageBrowser is the crawl's browser and what it serves.
type pageBrowser struct {
	total   int // loads so far (maxBrowserLoads)
	bin     string
	br      *browser.Browser
	failed  bool
	answers map[string]browser.Answer
	bytes   int
	// waiting are, per page, the paths its last load asked for that are
	// not answered yet; loads counts each page's loads.
	waiting map[string]map[string]bool
	loads   map[string]int
}

func newPageBrowser(bin string) *pageBrowser {
	if bin == "" {
		return nil
	}
	return &pageBrowser{bin: bin, answers: map[string]browser.Answer{}, waiting: map[string]map[string]bool{}, loads: map[string]int{}}
}

// keep files the answer to GET path for the browser to be served.
func (b *pageBrowser) keep(path string, resp corpus.Response) {
	if resp.NoAnswer() || resp.Truncated || len(resp.Body) > maxServedBody || b.bytes+len(resp.Body) > maxServedBytes || len(b.answers) >= maxServed {
		return
	}
	if _, ok := b.answers[path]; ok {
		return
	}
	b.answers[path] = browser.Answer{Status: resp.Status, Header: resp.Header, Body: resp.Body}
	b.bytes += len(resp.Body)
}

// answered notes that path was answered, and returns the pages that no
// longer wait for anything and may be loaded again.
func (b *pageBrowser) answered(path string) []string {
	var ready []string
	for page, w := range b.waiting {
		if !w[path] {
			continue
		}
		delete(w, path)
		if len(w) == 0 {
			delete(b.waiting, page)
			ready = append(ready, page)
		}
	}
	return ready
}

// load loads page (a path on origin) and returns what it asked for that
// was not served. A browser that does not start is said once, in note.
func (b *pageBrowser) load(ctx context.Context, origin, page string) (missing []string, note string) {
	if b.failed || b.loads[page] >= maxPageLoads || b.total >= maxBrowserLoads {
		return nil, ""
	}
	b.total++
	if b.br == nil {
		br, err := browser.Start(ctx, b.bin)
		if err != nil {
			b.failed = true
			return nil, fmt.Sprintf("crawl: %v; pages are read without running their scripts", err)
		}
		b.br = br
	}
	b.loads[page]++
	serve := func(p string) (browser.Answer, bool) {
		a, ok := b.answers[p]
		return a, ok
	}
	missing, err := b.br.Load(ctx, "http://"+origin+page, serve, loadQuiet, loadLimit)
	// Closed after every load: an idle Chromium (a page's timers, its
	// helper processes) took most of two cores from the fuzzer and the
	// target for the rest of the run. Starting it again costs well under
	// a second, and a run loads at most a few hundred pages.
	b.close()
	if err != nil && ctx.Err() == nil {
		return nil, "crawl: loading GET " + page + " in the browser: " + oneLine(err.Error())
	}
	return missing, ""
}

// wait records that page waits for the answers to the paths its load
// asked for that are to be requested and were not answered yet.
func (b *pageBrowser) wait(page string, missing []string, c *crawl.Crawler) {
	for _, p := range missing {
		if _, ok := b.answers[p]; ok || !c.Requested(p) {
			continue
		}
		w := b.waiting[page]
		if w == nil {
			w = map[string]bool{}
			b.waiting[page] = w
		}
		w[p] = true
	}
}

func (b *pageBrowser) close() {
	if b != nil && b.br != nil {
		b.br.Close()
		b.br = nil
	}
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
