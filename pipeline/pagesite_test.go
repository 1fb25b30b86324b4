package pipeline

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/crawl/browser"
)

// A page-serving service whose spec names its home page and API but none
// of the assets the page links. The crawl requests them; the minimal image
// serves every one as the original does, and keeps each file "linked from"
// the page that linked it, but not the static files nothing links.
func TestPagesiteEndToEnd(t *testing.T) {
	const img = "whittle-fixture/pagesite:latest"
	const tag = "whittle-test/pagesite-e2e:latest"
	requireFixture(t, img)
	t.Cleanup(func() { removeImage(tag) })
	rep, logs := runPipelineLogged(t, Config{Image: img, Seed: 1, Duration: 30 * time.Second, Tag: tag})
	assertVerified(t, rep, 5)
	if !slices.ContainsFunc(logs, func(l string) bool { return strings.HasPrefix(l, "crawl: static parse") }) {
		t.Error("the log does not say how pages are crawled")
	}
	_, noBrowser := browser.Find()
	withBrowser := slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "headless Chromium (") })
	if withBrowser != (noBrowser == nil) {
		t.Errorf("Chromium found: %v; the log says it is used: %v", noBrowser == nil, withBrowser)
	}
	const pub = "/srv/pagesite/public/"
	// Each asset, and the page whose request made the target read it.
	want := map[string]string{
		pub + "css/site.css":       "GET /",
		pub + "icons/favicon.ico":  "GET /",
		pub + "icons/touch.png":    "GET /",
		pub + "img/logo.png":       "GET /",
		pub + "img/logo@2x.png":    "GET /",
		pub + "js/app.js":          "GET /",
		pub + "css/theme.css":      "GET /static/css/site.css",
		pub + "img/bg.png":         "GET /static/css/site.css",
		pub + "data/messages.json": "GET /static/js/app.js",
		pub + "icons/icon-192.png": "GET /site.webmanifest",
		pub + "icons/icon-512.png": "GET /site.webmanifest",
		pub + "fonts/brand.woff2":  "", // preloaded by the page and url()ed by the stylesheet: either
	}
	if noBrowser == nil {
		// Only a browser running app.js finds the path it builds from parts.
		want[pub+"data/extra.json"] = "GET /"
	} else {
		t.Logf("SKIP part: %v: the file a script fetches by a path built at run time is not checked", noBrowser)
	}
	kept := keptPaths(rep)
	for p, from := range want {
		f, ok := kept[p]
		if !ok {
			t.Errorf("%s missing from the minimal image", p)
			continue
		}
		linked := slices.ContainsFunc(f.Reasons, func(r string) bool {
			return strings.HasPrefix(r, "linked from GET /") && (from == "" || r == "linked from "+from)
		})
		if !linked {
			t.Errorf("%s kept for %q, want linked from %q", p, f.Reasons, from)
		}
	}
	if _, ok := kept[pub+"unused/never-linked.png"]; ok {
		t.Error("a static file that nothing links is in the minimal image")
	}
	if len(rep.Fuzz.Linked) < len(want) {
		t.Errorf("report: %d linked files, want at least %d: %+v", len(rep.Fuzz.Linked), len(want), rep.Fuzz.Linked)
	}
	// The minimal image serves every linked asset as the original does.
	paths := []string{"/", "/static/css/site.css", "/static/css/theme.css", "/favicon.ico", "/static/icons/touch.png",
		"/static/img/logo.png", "/static/img/logo@2x.png", "/static/img/bg.png", "/static/js/app.js",
		"/static/data/messages.json", "/site.webmanifest", "/static/icons/icon-192.png", "/static/icons/icon-512.png",
		"/static/fonts/brand.woff2"}
	if noBrowser == nil {
		paths = append(paths, "/static/data/extra.json")
	}
	orig, min := answersFrom(t, img, paths), answersFrom(t, rep.Minimal.Ref, paths)
	for i, p := range paths {
		if orig[i].status != 200 || orig[i] != min[i] {
			t.Errorf("GET %s: original %d (%d bytes), minimal %d (%d bytes)", p, orig[i].status, len(orig[i].body), min[i].status, len(min[i].body))
		}
	}
}
