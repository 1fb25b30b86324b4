package crawl

import (
	"slices"
	"strings"
	"testing"
)

const origin = "127.0.0.1:8080"

func TestHTMLRefsFindEveryAssetKind(t *testing.T) {
	page := `<!doctype html><html manifest="/app.appcache"><head>
<link rel="stylesheet" href="/static/site.css">
<link rel="icon" href="favicon.ico">
<link rel="apple-touch-icon" href="/static/touch.png">
<link rel="manifest" href="/site.webmanifest">
<link rel="preload" as="font" href="/static/font.woff2" crossorigin>
<link rel="modulepreload" href="/static/mod.js">
<link rel="canonical" href="/canonical-is-not-fetched">
<link rel="stylesheet" href="https://cdn.example.com/other.css">
<link rel="stylesheet" href="//cdn.example.com/proto-relative.css">
<style>body { background: url("/static/bg.png") } @import '/static/extra.css';</style>
<script src="/static/app.js?v=2"></script>
</head><body style="background-image: url(/static/inline.png)">
<img src="img/logo.png" srcset="img/logo-2x.png 2x, /img/logo-3x.png 3x">
<picture><source srcset="/img/wide.webp 1200w"></picture>
<video poster="/static/poster.jpg"><source src="/static/clip.mp4"></video>
<a href="/about#team">about</a>
<a href="mailto:x@example.com">mail</a><a href="javascript:void(0)">js</a>
<img src="data:image/png;base64,AAAA">
<img src="http://127.0.0.1:8080/abs.png"><img src="http://127.0.0.1:9999/other-port.png">
</body></html>`
	got := Refs(HTML, "/", origin, []byte(page))
	want := []string{
		"/app.appcache", "/static/site.css", "/favicon.ico", "/static/touch.png", "/site.webmanifest",
		"/static/font.woff2", "/static/mod.js", "/static/extra.css", "/static/bg.png", "/static/app.js?v=2",
		"/static/inline.png", "/img/logo.png", "/img/logo-2x.png", "/img/logo-3x.png", "/img/wide.webp",
		"/static/clip.mp4", "/static/poster.jpg", "/about", "/abs.png",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s in %q", w, got)
		}
	}
	for _, g := range got {
		if strings.Contains(g, "canonical") || strings.Contains(g, "other") || strings.Contains(g, "proto") || strings.Contains(g, "mail") || strings.Contains(g, "void") || strings.HasPrefix(g, "data") {
			t.Errorf("kept %s, which is off origin or not fetched", g)
		}
	}
}

func TestHTMLBaseChangesResolution(t *testing.T) {
	got := Refs(HTML, "/shop/list", origin, []byte(`<head><base href="/assets/"></head><body><img src="a.png"><img src="../b.png"></body>`))
	if !slices.Equal(got, []string{"/assets/a.png", "/b.png"}) {
		t.Fatalf("got %q", got)
	}
	got = Refs(HTML, "/shop/list", origin, []byte(`<base href="http://elsewhere.example/"><img src="a.png">`))
	if !slices.Equal(got, []string{"/shop/a.png"}) {
		t.Fatalf("an off-origin base was used: %q", got)
	}
}

func TestCSSRefs(t *testing.T) {
	css := `@import "reset.css"; @import url('/static/theme.css');
@font-face { font-family: X; src: url(../fonts/x.woff2) format("woff2"), url( "fonts/x.ttf" ); }
.a { background: url(data:image/gif;base64,R0lG) } .b { background: URL('/img/b.svg#frag') }`
	got := Refs(CSS, "/static/css/site.css", origin, []byte(css))
	want := []string{"/static/css/reset.css", "/static/theme.css", "/static/fonts/x.woff2", "/static/css/fonts/x.ttf", "/img/b.svg"}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s in %q", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestScriptRefs(t *testing.T) {
	js := `const cfg = fetch('/static/config.json').then(r => r.json());
import('./lazy.mjs'); new URL("worker.js", import.meta.url);
const img = "/static/runtime.png"; const notPath = "hello/world"; const proto = "//cdn.example.com/x.js";
const tpl = ` + "`/api/${id}.json`" + `; fetch("https://api.example.com/x.json");`
	got := Refs(Script, "/static/js/app.js", origin, []byte(js))
	for _, w := range []string{"/static/config.json", "/static/js/lazy.mjs", "/static/js/worker.js", "/static/runtime.png"} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s in %q", w, got)
		}
	}
	for _, g := range got {
		if strings.Contains(g, "hello") || strings.Contains(g, "cdn") || strings.Contains(g, "$") || strings.Contains(g, "api.example") {
			t.Errorf("kept %s", g)
		}
	}
}

func TestManifestRefs(t *testing.T) {
	m := `{"name":"x","start_url":"/?source=pwa","icons":[{"src":"/icons/192.png","sizes":"192x192"},{"src":"icons/512.png"}],
"shortcuts":[{"url":"/new","icons":[{"src":"/icons/new.png"}]}]}`
	got := Refs(Manifest, "/site.webmanifest", origin, []byte(m))
	want := []string{"/?source=pwa", "/icons/192.png", "/icons/512.png", "/new", "/icons/new.png"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if Refs(Manifest, "/m.json", origin, []byte("not json")) != nil {
		t.Fatal("refs from a manifest that is not JSON")
	}
}

func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		ct, path string
		want     Kind
	}{
		{"text/html; charset=utf-8", "/", HTML},
		{"text/css", "/x", CSS},
		{"application/javascript; charset=UTF-8", "/x", Script},
		{"application/manifest+json", "/x", Manifest},
		{"application/octet-stream", "/a/site.webmanifest", Manifest},
		{"", "/a/app.js?v=1", Script},
		{"application/json", "/pets", None},
		{"image/png", "/x.css", None},
	} {
		if got := KindOf(c.ct, c.path); got != c.want {
			t.Errorf("KindOf(%q, %q) = %v, want %v", c.ct, c.path, got, c.want)
		}
	}
}

func FuzzRefs(f *testing.F) {
	f.Add(0, "/", []byte(`<link rel=stylesheet href=/a.css><img srcset="a.png 1x, b.png 2x"><style>x{background:url(c.png)}</style>`))
	f.Add(1, "/s/a.css", []byte(`@import "b.css"; x { src: url( '../f.woff' ) }`))
	f.Add(2, "/s/a.js", []byte(`fetch("/d.json"); const x = './y.png'`))
	f.Add(3, "/m.json", []byte(`{"icons":[{"src":"/i.png"}],"start_url":"/"}`))
	f.Fuzz(func(t *testing.T, k int, page string, body []byte) {
		kind := Kind(1 + (k%4+4)%4)
		if !strings.HasPrefix(page, "/") {
			page = "/" + page
		}
		seen := map[string]bool{}
		for _, p := range Refs(kind, page, origin, body) {
			if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
				t.Fatalf("%q is not a path on the origin", p)
			}
			if strings.Contains(p, "#") {
				t.Fatalf("%q keeps a fragment", p)
			}
			if seen[p] {
				t.Fatalf("%q twice", p)
			}
			seen[p] = true
		}
	})
}
