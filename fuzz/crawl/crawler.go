package crawl

import (
	"fmt"
	"sort"
	"strings"
)

// Limits bound a crawl: how many links deep from a page the spec names it
// goes, and how many linked paths it requests in all.
type Limits struct {
	MaxDepth int
	MaxPaths int
}

// DefaultLimits reach the assets of a page, those of its stylesheets and
// scripts, and one more level; a site of a few hundred files.
var DefaultLimits = Limits{MaxDepth: 3, MaxPaths: 300}

// Link is a path to request: what page linked it, how deep.
type Link struct {
	Path string
	// From is the request of the page that linked it, e.g. "GET /".
	From  string
	Depth int
}

// File is a file a linked request made the target use for the first time.
type File struct {
	Path string `json:"path"`
	// From is the request of the page that linked the request, e.g.
	// "GET /": the file is kept "linked from GET /".
	From string `json:"from"`
	// Request is the linked request itself, e.g. "GET /static/app.css".
	Request string `json:"request"`
}

// Summary says what a crawl did.
type Summary struct {
	// Pages counts the answers parsed that linked something.
	Pages int `json:"pages"`
	// Requested counts the linked paths requested; Dropped those found
	// beyond the limits.
	Requested int `json:"requested"`
	Dropped   int `json:"dropped,omitempty"`
}

// Crawler decides which linked paths to request: each once, none already
// sent, within its Limits. It is not safe for concurrent use.
type Crawler struct {
	limits Limits
	// depth is the depth of every page read and every path linked;
	// roots are the pages the run sent itself (by path without query),
	// parsed those read.
	depth   map[string]int
	roots   map[string]bool
	parsed  map[string]bool
	files   []File
	kept    map[string]bool
	summary Summary
	// bounded is set once the path limit was hit (noted once).
	bounded bool
}

// New returns a crawler within l (zero fields take DefaultLimits').
func New(l Limits) *Crawler {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxPaths <= 0 {
		l.MaxPaths = DefaultLimits.MaxPaths
	}
	return &Crawler{limits: l, depth: map[string]int{}, roots: map[string]bool{}, parsed: map[string]bool{}, kept: map[string]bool{}}
}

// Page takes the references of an answer of kind k to GET page (on
// origin) and returns the links to request. note is a one-line message
// when the answer links more than the crawl requests (said once per
// crawl), else "".
//
// Each page is read once. A page the crawl did not link (the run sent it)
// is a root, at depth 0; at most maxRootPages of them, by path without
// the query, are read: an operation answering HTML to every query is not
// crawled anew for each.
func (c *Crawler) Page(k Kind, page, origin string, body []byte) (links []Link, note string) {
	if c.parsed[page] {
		return nil, ""
	}
	d, ok := c.depth[page]
	if !ok {
		root, _, _ := strings.Cut(page, "?")
		if c.roots[root] || len(c.roots) >= maxRootPages {
			return nil, ""
		}
		c.roots[root] = true
		c.depth[page] = 0
	}
	c.parsed[page] = true
	if d >= c.limits.MaxDepth {
		return nil, ""
	}
	return c.Follow(page, Refs(k, page, origin, body))
}

// maxRootPages bounds the pages the run sent itself that are read.
const maxRootPages = 64

// Follow takes paths that the page at path page asked for (its references,
// or what a browser loading it requested) and returns the links to
// request, as Page does.
func (c *Crawler) Follow(page string, refs []string) (links []Link, note string) {
	d, ok := c.depth[page]
	if !ok {
		c.depth[page] = 0
	}
	if d >= c.limits.MaxDepth || len(refs) == 0 {
		return nil, ""
	}
	c.summary.Pages++
	from := "GET " + page
	dropped := 0
	for _, p := range refs {
		if _, seen := c.depth[p]; seen {
			continue
		}
		if c.summary.Requested >= c.limits.MaxPaths {
			dropped++
			continue
		}
		c.depth[p] = d + 1
		c.summary.Requested++
		links = append(links, Link{Path: p, From: from, Depth: d + 1})
	}
	c.summary.Dropped += dropped
	if dropped > 0 && !c.bounded {
		c.bounded = true
		note = fmt.Sprintf("crawl: %s links %d more paths than the crawl's limit of %d linked paths; those were not requested", from, dropped, c.limits.MaxPaths)
	}
	return links, note
}

// Requested reports whether path is a page read or a path linked.
func (c *Crawler) Requested(path string) bool {
	_, ok := c.depth[path]
	return ok
}

// Keep records files that the linked request req (e.g. "GET
// /static/app.css"), linked from from, made the target use for the first
// time.
func (c *Crawler) Keep(from, req string, files []string) {
	for _, f := range files {
		if f == "" || c.kept[f] {
			continue
		}
		c.kept[f] = true
		c.files = append(c.files, File{Path: f, From: from, Request: req})
	}
}

// Files are the files kept for linked requests, by path.
func (c *Crawler) Files() []File {
	out := append([]File(nil), c.files...)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Summary says what the crawl did so far.
func (c *Crawler) Summary() Summary { return c.summary }

// Reason is how a rebuild names why a file linked from page is kept:
// "linked from GET /".
func Reason(from string) string { return "linked from " + from }

// Mode says how pages are read, for the log.
func Mode() string {
	return "static parse of HTML, CSS, scripts and web manifests (href, src, srcset, url(), @import, script literals, manifest icons)"
}
