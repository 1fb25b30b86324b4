package fuzz

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

const themedSpec = `openapi: 3.0.3
info: {title: site, version: "1"}
paths:
  /page/{page}:
    get:
      parameters:
        - {name: page, in: path, required: true, schema: {type: string, minLength: 3, maxLength: 40}, example: index}
        - {name: theme, in: query, required: true, schema: {type: string, maxLength: 40}, example: dark}
      responses:
        "200": {description: ok, content: {text/html: {schema: {type: string}}}}
        "404": {description: no such page}
  /render/{template}:
    get:
      parameters:
        - {name: template, in: path, required: true, schema: {type: string, maxLength: 40}, example: invoice}
        - {name: customer, in: query, required: true, schema: {type: string, maxLength: 40}, example: shop}
      responses:
        "200": {description: ok, content: {text/plain: {schema: {type: string}}}}
        "404": {description: no such template}
`

// themedSite opens /srv/site/themes/THEME/PAGE.html for a page of a
// theme it knows (both values choose: the theme a directory on the way,
// the page the file) and
// /usr/share/shop/templates/TEMPLATE.tmpl for a render, whose customer
// reads no file although the spec's example customer, "shop", spells a
// directory on the way.
type themedSite struct {
	mu     sync.Mutex
	seen   map[string]bool
	last   []string
	themes map[string]bool
}

func (s *themedSite) handler(w http.ResponseWriter, r *http.Request) {
	var p string
	switch dir, name := path.Split(r.URL.Path); dir {
	case "/page/":
		// Unknown themes touch no file: only the directory's names can
		// show that the theme selects.
		theme := r.URL.Query().Get("theme")
		if !slices.Contains([]string{"dark", "light", "solar"}, theme) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		p = "/srv/site/themes/" + theme + "/" + name + ".html"
	case "/render/":
		p = "/usr/share/shop/templates/" + name + ".tmpl"
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.mu.Lock()
	if !s.seen[p] {
		s.seen[p] = true
		s.last = append(s.last, p)
	}
	s.mu.Unlock()
	_, _ = w.Write([]byte("ok"))
}

func (s *themedSite) After(context.Context) (Signal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sig Signal
	for _, p := range s.last {
		sig.NewFiles = append(sig.NewFiles, p)
		sig.Dirs = append(sig.Dirs, inputsel.DirListing{Path: path.Dir(p)})
		if strings.HasPrefix(p, "/srv/site/themes/") {
			s.themes[strings.Split(p, "/")[4]] = true
		}
	}
	sig.Files = len(s.last)
	s.last = nil
	return sig, nil
}

// A value that selects a directory on the way (the theme) is found even
// when the first request that reached the directory also carried a new
// page: another theme, sent with the page unchanged, confirms it. A value
// that spells a directory on the way by chance (the customer) selects
// nothing: no other customer makes the target use a file there.
func TestAValueOnTheWayIsConfirmedByAnother(t *testing.T) {
	s := testspecs.Load(t, "themed.yaml", themedSpec)
	target := &themedSite{seen: map[string]bool{}, themes: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(target.handler))
	defer srv.Close()
	lister := fakeimage.Lister{
		"/srv/site/themes":          {"dark", "light", "solar"},
		"/srv/site/themes/dark":     {"about.html", "index.html"},
		"/usr/share":                {"doc", "java", "locale", "man", "shop", "zoneinfo"},
		"/usr/share/shop/templates": {"invoice.tmpl", "receipt.tmpl"},
	}
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(3), WithMaxRequests(150), WithFeedback(target), WithDirLister(lister))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.SelectedDirs, "/srv/site/themes") {
		t.Errorf("the theme's directory is not selected: %v (themes used: %v)", res.SelectedDirs, target.themes)
	}
	if !slices.Contains(res.SelectedDirs, "/usr/share/shop/templates") {
		t.Errorf("the templates' directory is not selected: %v", res.SelectedDirs)
	}
	for _, sel := range res.Selections {
		if sel.Target == "query.customer" || sel.Dir == "/usr/share" {
			t.Errorf("the customer, which reads no file, selected %+v", sel)
		}
	}
}
