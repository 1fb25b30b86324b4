package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whittle-dev/whittle/internal/panics"
)

// Rate is what `benchtool rate` measures: plain keep-alive GETs, no tracer,
// cycling through a fixed list of URLs.
type Rate struct {
	URLs     []string       `json:"urls"`
	Workers  int            `json:"workers"`
	Seconds  float64        `json:"seconds"`
	Requests int64          `json:"requests"`
	Errors   int64          `json:"errors"`
	RPS      float64        `json:"requests_per_second"`
	Statuses map[string]int `json:"statuses"`
}

type urlList []string

func (u *urlList) String() string     { return strings.Join(*u, ",") }
func (u *urlList) Set(v string) error { *u = append(*u, v); return nil }

func runRate(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	var urls urlList
	fs.Var(&urls, "url", "URL to GET (repeatable; requests cycle through them)")
	workers := fs.Int("workers", 1, "concurrent keep-alive clients")
	duration := fs.Duration("duration", 10*time.Second, "measuring time")
	warmup := fs.Duration("warmup", 2*time.Second, "load before measuring")
	wait := fs.Duration("wait", 60*time.Second, "how long to wait for the first URL to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(urls) == 0 || *workers < 1 {
		return fmt.Errorf("rate: need -url and -workers ≥ 1")
	}
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *workers, DisableCompression: true}}
	if err := waitReady(ctx, client, urls[0], *wait); err != nil {
		return err
	}
	if _, err := load(ctx, client, urls, *workers, *warmup); err != nil {
		return err
	}
	r, err := load(ctx, client, urls, *workers, *duration)
	if err != nil {
		return err
	}
	return writeJSON(stdout, r)
}

func waitReady(ctx context.Context, client *http.Client, url string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rate: %s never answered: %w", url, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// load sends GETs with workers keep-alive clients for d.
func load(ctx context.Context, client *http.Client, urls []string, workers int, d time.Duration) (Rate, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var done, failed atomic.Int64
	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	start := time.Now()
	// A worker's panic is raised again here, once the others have stopped,
	// so that the caller's deferred cleanup runs.
	var panicked atomic.Pointer[panics.Panic]
	defer func() {
		if p := panicked.Load(); p != nil {
			panics.Report(p)
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer panics.Catch("benchtool: load worker", func(p *panics.Panic) {
				panicked.CompareAndSwap(nil, p)
				cancel()
			})
			for i := w; ; i++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls[i%len(urls)], nil)
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					if err == nil {
						resp.Body.Close()
					}
					return
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				done.Add(1)
				mu.Lock()
				statuses[fmt.Sprint(resp.StatusCode)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	r := Rate{URLs: urls, Workers: workers, Seconds: secs, Requests: done.Load(), Errors: failed.Load(), Statuses: statuses}
	if secs > 0 {
		r.RPS = float64(r.Requests) / secs
	}
	return r, nil
}
