package crawl

import (
	"fmt"
	"strings"
	"testing"
)

func TestCrawlerFollowsEachPathOnceWithinDepth(t *testing.T) {
	c := New(Limits{MaxDepth: 2, MaxPaths: 100})
	links, note := c.Page(HTML, "/", origin, []byte(`<link rel=stylesheet href="/s.css"><a href="/">home</a><img src="/i.png"><img src="/i.png">`))
	if note != "" || len(links) != 2 || links[0].Path != "/s.css" || links[0].From != "GET /" || links[0].Depth != 1 || links[1].Path != "/i.png" {
		t.Fatalf("links %+v, note %q", links, note)
	}
	links, _ = c.Page(CSS, "/s.css", origin, []byte(`x{background:url(/bg.png)} y{background:url(/i.png)}`))
	if len(links) != 1 || links[0].Path != "/bg.png" || links[0].From != "GET /s.css" || links[0].Depth != 2 {
		t.Fatalf("links %+v", links)
	}
	// /bg.png is at the depth limit: what it links is not followed.
	if links, _ = c.Page(CSS, "/bg.png", origin, []byte(`x{background:url(/deeper.png)}`)); len(links) != 0 {
		t.Fatalf("followed past the depth limit: %+v", links)
	}
	if s := c.Summary(); s.Requested != 3 || s.Pages != 2 || s.Dropped != 0 {
		t.Fatalf("summary %+v", s)
	}
}

func TestCrawlerBoundsAPageOfThousandsOfLinks(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `<img src="/img/%d.png">`, i)
	}
	c := New(Limits{MaxDepth: 3, MaxPaths: 50})
	links, note := c.Page(HTML, "/big", origin, []byte(b.String()))
	if len(links) != 50 {
		t.Fatalf("%d links requested, want the limit of 50", len(links))
	}
	if !strings.Contains(note, "GET /big") || !strings.Contains(note, "50") || strings.Contains(note, "\n") {
		t.Fatalf("note %q", note)
	}
	links, note = c.Page(HTML, "/big2", origin, []byte(`<img src="/more.png">`))
	if len(links) != 0 || note != "" {
		t.Fatalf("after the limit: links %+v, note %q (the note is said once)", links, note)
	}
	// Parsing stops at maxRefsPerAnswer references; /more.png is one more.
	if s := c.Summary(); s.Dropped != maxRefsPerAnswer-50+1 {
		t.Fatalf("dropped %d", s.Dropped)
	}
}

func TestCrawlerKeepsFilesWithTheLinkingPage(t *testing.T) {
	c := New(Limits{})
	c.Keep("GET /", "GET /s.css", []string{"/srv/static/s.css", ""})
	c.Keep("GET /other", "GET /s2.css", []string{"/srv/static/s.css", "/srv/static/s2.css"})
	got := c.Files()
	if len(got) != 2 || got[0] != (File{Path: "/srv/static/s.css", From: "GET /", Request: "GET /s.css"}) || got[1].From != "GET /other" {
		t.Fatalf("files %+v", got)
	}
	if Reason(got[0].From) != "linked from GET /" {
		t.Fatal(Reason(got[0].From))
	}
}

func TestCrawlerReadsEachPageOnceAndBoundsRoots(t *testing.T) {
	c := New(Limits{})
	page := []byte(`<img src="/a.png">`)
	if links, _ := c.Page(HTML, "/", origin, page); len(links) != 1 {
		t.Fatalf("links %+v", links)
	}
	if links, _ := c.Page(HTML, "/", origin, []byte(`<img src="/b.png">`)); len(links) != 0 {
		t.Fatalf("a page read twice: %+v", links)
	}
	for i := range maxRootPages + 10 {
		c.Page(HTML, fmt.Sprintf("/search/%d?q=x", i), origin, page)
	}
	if len(c.roots) != maxRootPages || len(c.depth) > maxRootPages+2 {
		t.Fatalf("%d roots, %d paths known: unbounded", len(c.roots), len(c.depth))
	}
	// The same root with other queries is not read again.
	if links, _ := c.Page(HTML, "/?q=2", origin, []byte(`<img src="/c.png">`)); len(links) != 0 {
		t.Fatalf("%+v", links)
	}
}
