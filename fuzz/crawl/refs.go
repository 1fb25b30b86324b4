// Package crawl finds what a service's pages link on its own origin: the
// stylesheets, scripts, images, icons, fonts, preloads and web manifest an
// HTML answer names, what a stylesheet url()s or @imports, the paths a
// script names as string literals (what it fetches at run time), and the
// icons a web manifest lists. A spec lists none of them; a browser asks for
// all of them, so the minimal image must serve them.
//
// Refs parses one answer; a Crawler decides which of the paths found are
// requested, within a bounded depth and number of pages, and remembers the
// files each linked request made the target read, with the page that
// linked it.
package crawl

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxRefsPerAnswer bounds the references taken from one answer, before
// any are resolved: parsing a page that links millions of paths stays
// cheap. The Crawler bounds what is requested.
const maxRefsPerAnswer = 4096

// Kind tells which parser reads an answer.
type Kind int

const (
	None Kind = iota
	HTML
	CSS
	Script
	Manifest
)

func (k Kind) String() string {
	return [...]string{"none", "html", "css", "script", "manifest"}[k]
}

// KindOf is the parser for an answer of content type ct to a request of
// path (whose extension decides when the content type says nothing useful).
func KindOf(ct, path string) Kind {
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml":
		return HTML
	case mt == "text/css":
		return CSS
	case mt == "application/javascript" || mt == "text/javascript" || mt == "application/x-javascript" || mt == "application/ecmascript":
		return Script
	case mt == "application/manifest+json":
		return Manifest
	}
	if mt != "" && mt != "application/octet-stream" && mt != "text/plain" && mt != "application/json" {
		return None
	}
	p, _, _ := strings.Cut(path, "?")
	switch {
	case strings.HasSuffix(p, ".css"):
		return CSS
	case strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs"):
		return Script
	case strings.HasSuffix(p, ".webmanifest") || strings.HasSuffix(p, "manifest.json"):
		return Manifest
	}
	return None
}

// Refs returns the paths (with their queries, without fragments) on the
// page's origin that body, an answer of kind k to GET page, refers to, each
// once, in the order found. page is the request's path; origin is the
// host[:port] the page was fetched from: absolute URLs count only on it.
func Refs(k Kind, page, origin string, body []byte) []string {
	var raw []string
	switch k {
	case HTML:
		raw = htmlRefs(body)
	case CSS:
		raw = cssRefs(body)
	case Script:
		raw = scriptRefs(body)
	case Manifest:
		raw = manifestRefs(body)
	default:
		return nil
	}
	base, err := url.Parse("http://" + origin + page)
	if err != nil {
		return nil
	}
	if k == HTML {
		if b := htmlBase(body); b != "" {
			if u, err := base.Parse(b); err == nil && u.Host == base.Host {
				base = u
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range raw {
		p, ok := sameOrigin(base, r)
		if ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// sameOrigin resolves ref against base, and returns its path and query
// when it stays on base's scheme-less origin.
func sameOrigin(base *url.URL, ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "#") || strings.ContainsAny(ref, "\x00\r\n\t<>{}`") || strings.Contains(ref, "${") {
		return "", false
	}
	u, err := base.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host != base.Host || u.User != nil {
		return "", false
	}
	u.Fragment, u.RawFragment = "", ""
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if strings.HasPrefix(p, "//") {
		// A request line's path that starts with "//" reads as an
		// authority to URL parsers on the way: it is not safely the origin's.
		return "", false
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, true
}

// linkRels are the rel values of <link> whose href a browser fetches.
var linkRels = map[string]bool{
	"stylesheet": true, "icon": true, "shortcut": true, "apple-touch-icon": true, "apple-touch-icon-precomposed": true,
	"mask-icon": true, "manifest": true, "preload": true, "modulepreload": true, "prefetch": true, "prerender": true,
}

// htmlRefs are the references of an HTML document, in document order.
func htmlRefs(body []byte) []string {
	var out []string
	add := func(s string) {
		if len(out) < maxRefsPerAnswer {
			out = append(out, s)
		}
	}
	z := html.NewTokenizer(bytes.NewReader(body))
	inStyle := false
	for len(out) < maxRefsPerAnswer {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.TextToken:
			if inStyle {
				for _, r := range cssRefs(z.Text()) {
					add(r)
				}
			}
		case html.EndTagToken:
			inStyle = false
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			inStyle = t.DataAtom == atom.Style
			for _, r := range tagRefs(t) {
				add(r)
			}
		}
	}
	return out
}

// tagRefs are the references one start tag makes: what a browser fetches
// (src, srcset, stylesheets, icons, preloads, the manifest, a poster) and
// where a user goes (a, area, form actions are left out: they are not
// assets).
func tagRefs(t html.Token) []string {
	var out []string
	attr := func(name string) (string, bool) {
		for _, a := range t.Attr {
			if a.Key == name && a.Namespace == "" {
				return a.Val, true
			}
		}
		return "", false
	}
	if v, ok := attr("src"); ok {
		out = append(out, v)
	}
	for _, name := range []string{"srcset", "imagesrcset"} {
		if v, ok := attr(name); ok {
			out = append(out, srcset(v)...)
		}
	}
	if v, ok := attr("poster"); ok {
		out = append(out, v)
	}
	if v, ok := attr("style"); ok {
		out = append(out, cssRefs([]byte(v))...)
	}
	switch t.DataAtom {
	case atom.Link:
		rel, _ := attr("rel")
		for _, r := range strings.Fields(strings.ToLower(rel)) {
			if linkRels[r] {
				if v, ok := attr("href"); ok {
					out = append(out, v)
				}
				break
			}
		}
	case atom.A, atom.Area:
		// Pages the page links are crawled too (a bounded depth).
		if v, ok := attr("href"); ok {
			out = append(out, v)
		}
	case atom.Object:
		if v, ok := attr("data"); ok {
			out = append(out, v)
		}
	case atom.Html:
		if v, ok := attr("manifest"); ok {
			out = append(out, v)
		}
	case atom.Meta:
		// <meta name="msapplication-config" content="/browserconfig.xml">
		// and the tile images are fetched by browsers that know them.
		name, _ := attr("name")
		if n := strings.ToLower(name); n == "msapplication-config" || n == "msapplication-tileimage" {
			if v, ok := attr("content"); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// htmlBase is the href of the document's <base>, if any.
func htmlBase(body []byte) string {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			if t.DataAtom == atom.Base {
				for _, a := range t.Attr {
					if a.Key == "href" {
						return a.Val
					}
				}
			}
			if t.DataAtom == atom.Body {
				return ""
			}
		}
	}
}

// srcset splits a srcset value ("a.png 1x, b.png 2x") into its URLs.
func srcset(v string) []string {
	var out []string
	for _, cand := range strings.Split(v, ",") {
		if f := strings.Fields(cand); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

var (
	cssURL    = regexp.MustCompile(`(?i)url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)`)
	cssImport = regexp.MustCompile(`(?i)@import\s+(?:"([^"]*)"|'([^']*)')`)
)

// cssRefs are the url(...) and @import references of a stylesheet.
func cssRefs(body []byte) []string {
	var out []string
	for _, re := range []*regexp.Regexp{cssImport, cssURL} {
		for _, m := range re.FindAllSubmatch(body, maxRefsPerAnswer) {
			for _, g := range m[1:] {
				if len(g) > 0 && !bytes.HasPrefix(bytes.TrimSpace(g), []byte("data:")) {
					out = append(out, string(g))
					break
				}
			}
		}
	}
	return out
}

var (
	// scriptPath is a string literal holding a root- or dot-relative path
	// to a file (it has an extension): what a script fetches, imports or
	// sets as a source. Other literals are too often not paths at all.
	scriptPath = regexp.MustCompile(`["'` + "`" + `]((?:/|\./|\.\./)[A-Za-z0-9_.~%/-]*\.[A-Za-z0-9]{1,10}(?:\?[^"'` + "`" + `\s<>]*)?)["'` + "`" + `]`)
	// scriptFetch is the first argument of fetch(), import() or new URL(),
	// whatever its form.
	scriptFetch = regexp.MustCompile(`(?:\bfetch|\bimport|\bnew\s+URL)\(\s*["'` + "`" + `]([^"'` + "`" + `\s<>]+)["'` + "`" + `]`)
)

// scriptRefs are the paths a script names as literals: root- or
// dot-relative file paths, and what it passes to fetch, import or new URL.
// A reference built at run time from parts is not found (a browser load
// would find it).
func scriptRefs(body []byte) []string {
	var out []string
	for _, re := range []*regexp.Regexp{scriptFetch, scriptPath} {
		for _, m := range re.FindAllSubmatch(body, maxRefsPerAnswer) {
			if s := string(m[1]); !strings.HasPrefix(s, "//") {
				out = append(out, s)
			}
		}
	}
	return out
}

// manifestRefs are the icons, screenshots, shortcuts and start URL of a
// web app manifest.
func manifestRefs(body []byte) []string {
	type image struct {
		Src string `json:"src"`
	}
	var m struct {
		StartURL    string  `json:"start_url"`
		Icons       []image `json:"icons"`
		Screenshots []image `json:"screenshots"`
		Shortcuts   []struct {
			URL   string  `json:"url"`
			Icons []image `json:"icons"`
		} `json:"shortcuts"`
	}
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	var out []string
	if m.StartURL != "" {
		out = append(out, m.StartURL)
	}
	for _, i := range append(m.Icons, m.Screenshots...) {
		out = append(out, i.Src)
	}
	for _, s := range m.Shortcuts {
		out = append(out, s.URL)
		for _, i := range s.Icons {
			out = append(out, i.Src)
		}
	}
	if len(out) > maxRefsPerAnswer {
		out = out[:maxRefsPerAnswer]
	}
	return out
}
