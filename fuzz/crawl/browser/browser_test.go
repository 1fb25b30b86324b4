package browser

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func startBrowser(t *testing.T) *Browser {
	t.Helper()
	bin, err := Find()
	if errors.Is(err, ErrNoBrowser) {
		t.Skip("SKIP: no Chromium installed (Debian: apt-get install chromium): the browser load is not tested here")
	}
	b, err := Start(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// The page is served from answers only (nothing listens at its address):
// what its scripts ask for at run time, built from parts, is reported;
// what was served is not, nor what is off the origin.
func TestLoadReportsWhatScriptsAskFor(t *testing.T) {
	b := startBrowser(t)
	answers := map[string]Answer{
		"/": {Status: 200, Header: map[string][]string{"Content-Type": {"text/html"}},
			Body: []byte(`<html><head><script src="/js/app.js"></script></head><body><img src="/img/missing.png"></body></html>`)},
		"/js/app.js": {Status: 200, Header: map[string][]string{"Content-Type": {"application/javascript"}},
			Body: []byte(`const parts = ['data', 'messages'];
fetch('/' + parts.join('/') + '.json').catch(() => {});
fetch('http://elsewhere.example/x.json').catch(() => {});
const s = document.createElement('script'); s.src = '/js/' + 'late' + '.js'; document.head.appendChild(s);`)},
	}
	var mu sync.Mutex
	var served []string
	serve := func(p string) (Answer, bool) {
		mu.Lock()
		defer mu.Unlock()
		a, ok := answers[p]
		if ok {
			served = append(served, p)
		}
		return a, ok
	}
	// Port 9 (discard): nothing listens there, and nothing may connect.
	missing, err := b.Load(context.Background(), "http://127.0.0.1:9/", serve, 300*time.Millisecond, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/img/missing.png", "/data/messages.json", "/js/late.js"} {
		if !slices.Contains(missing, want) {
			t.Errorf("%s not reported; missing %q", want, missing)
		}
	}
	for _, p := range missing {
		if p == "/" || p == "/js/app.js" || p == "/x.json" {
			t.Errorf("%s reported, but it was served or is off the origin", p)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(served, "/") || !slices.Contains(served, "/js/app.js") {
		t.Errorf("served %q", served)
	}
}
