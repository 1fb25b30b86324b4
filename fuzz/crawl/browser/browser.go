// Package browser loads a page in a headless Chromium so that what its
// scripts ask for at run time is found too: a path built from parts, a
// fetch after a click handler ran, a module a module imports. The browser
// never reaches the target, nor anything else: every request it makes is
// paused (the DevTools protocol's Fetch domain) and answered from the
// answers the fuzzer already got, or failed and reported, so that the
// fuzzer requests it itself, through its own client, with its own
// bookkeeping (corpus, coverage, the files it makes the target read).
package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ErrNoBrowser is returned by Find when no Chromium is installed.
var ErrNoBrowser = errors.New("no headless Chromium found (chromium, chromium-browser, google-chrome, headless_shell)")

var binaries = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell", "headless-shell"}

// Find returns the path of an installed Chromium, or ErrNoBrowser.
func Find() (string, error) {
	for _, b := range binaries {
		if p, err := exec.LookPath(b); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Answer is what the browser is served for a path.
type Answer struct {
	Status int
	Header map[string][]string
	Body   []byte
}

// Browser is a running headless Chromium.
type Browser struct {
	ctx    context.Context
	cancel func()
}

// Start runs the Chromium at bin. Its DNS resolves nothing, and every
// request a page makes is intercepted by Load: it opens no connection.
func Start(ctx context.Context, bin string) (*Browser, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // whittle runs as root, where Chromium's sandbox refuses to start
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	b := &Browser{ctx: bctx, cancel: func() { cancelBrowser(); cancelAlloc() }}
	// The first action starts the browser, which lives as long as the
	// context of that action: bctx, not one with a timeout.
	if err := chromedp.Do(bctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	return b, nil
}

// Close stops the browser.
func (b *Browser) Close() { b.cancel() }

// Load opens pageURL in a new tab, answering every request of the page's
// origin with serve (the page itself included) and failing all others.
// It returns the paths (with queries) of the page's origin that serve had
// no answer for, in the order asked, once each. It waits until no request
// came for quiet, or for at most limit.
func (b *Browser) Load(ctx context.Context, pageURL string, serve func(path string) (Answer, bool), quiet, limit time.Duration) ([]string, error) {
	page, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	deadline, cancelDeadline := context.WithTimeout(tab, limit)
	defer cancelDeadline()

	var mu sync.Mutex
	last := time.Now()
	var missing []string
	seen := map[string]bool{}
	paused := chromedp.Events(deadline, fetch.RequestPaused)
	if _, err := chromedp.Call(deadline, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		return nil, fmt.Errorf("intercepting requests: %w", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			mu.Lock()
			last = time.Now()
			mu.Unlock()
			path, same := sameOrigin(page, ev.Request.URL)
			if same {
				if a, ok := serve(path); ok {
					_, _ = chromedp.Call(deadline, fetch.FulfillRequest, fulfil(ev.RequestID, a))
					continue
				}
				mu.Lock()
				if !seen[path] {
					seen[path] = true
					missing = append(missing, path)
				}
				mu.Unlock()
			}
			_, _ = chromedp.Call(deadline, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
		}
	}()
	if err := chromedp.Do(deadline, chromedp.Navigate(pageURL)); err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	for deadline.Err() == nil {
		mu.Lock()
		idle := time.Since(last)
		mu.Unlock()
		if idle >= quiet {
			break
		}
		select {
		case <-deadline.Done():
		case <-time.After(quiet / 4):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), missing...), nil
}

// sameOrigin is the path and query of raw when it is on page's origin.
func sameOrigin(page *url.URL, raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != page.Scheme || u.Host != page.Host {
		return "", false
	}
	return u.RequestURI(), true
}

// fulfil answers a paused request with a; the body is sent decoded, so the
// headers that describe its transfer are left out.
func fulfil(id fetch.RequestID, a Answer) fetch.FulfillRequestParams {
	p := fetch.FulfillRequestParams{RequestID: id, ResponseCode: int64(a.Status), Body: a.Body}
	for k, vs := range a.Header {
		switch strings.ToLower(k) {
		case "content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive":
			continue
		}
		for _, v := range vs {
			p.ResponseHeaders = append(p.ResponseHeaders, &fetch.HeaderEntry{Name: k, Value: v})
		}
	}
	if p.Body == nil {
		p.Body = []byte{}
	}
	return p
}
