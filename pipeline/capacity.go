package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/internal/loopback"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/report"
)

// CapacityProbe measures what the traced target takes right before fuzzing:
// closed loops of keep-alive GETs of Path (its cheapest 2xx operation), the
// ceiling the bench sets whittle's executions/s against, measured on the
// same container in the same run, with the tracer attached.
type CapacityProbe struct {
	Path  string         // request path, "/health"; it starts with "/"
	Loads []CapacityLoad // in order; none: DefaultCapacityLoads
}

// CapacityLoad is one measurement: Connections clients, each sending the
// next request as soon as the last one is answered, for Duration; on
// kept-alive connections, or with Fresh on a new connection each.
type CapacityLoad struct {
	Connections int
	Duration    time.Duration
	Fresh       bool
}

// DefaultCapacityLoads: 8 keep-alive connections, as the wrk
// measurements; one, as a sequential fuzzer sends; and 8 clients opening a
// connection per request, as whittle does where keep-alive answers are
// slow (Nagle's algorithm against delayed ACKs): the ceiling there.
var DefaultCapacityLoads = []CapacityLoad{
	{Connections: 8, Duration: 10 * time.Second},
	{Connections: 1, Duration: 5 * time.Second},
	{Connections: 8, Duration: 5 * time.Second, Fresh: true},
}

// errCapacityPath is a capacity path that is not a request path.
var errCapacityPath = errors.New("not a request path")

// CheckCapacityPath tells whether p can be the capacity probe's path: it
// starts with "/" and is the path (and query) of a URL, nothing more.
func CheckCapacityPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, " \t\r\n#") {
		return fmt.Errorf("%q: %w: want one starting with a single /, such as /health", p, errCapacityPath)
	}
	return nil
}

// measureCapacity runs the run's capacity probe (Config.Capacity) on the
// traced original, then drains what the load made the target do: no fuzzed
// request is credited with it, and the image keeps it as it keeps all the
// target used. It never fails the run: what went wrong is in the report.
func (s *session) measureCapacity(ctx context.Context, fb *traceFeedback) {
	r := s.run
	probe := r.cfg.Capacity
	if probe == nil || s.orig == nil || ctx.Err() != nil {
		return
	}
	started := time.Now()
	defer func() {
		// The load is not fuzzing: the fuzz phase's time leaves it out.
		took := time.Since(started)
		if r.timings != nil {
			r.timings["capacity"] += took.Seconds()
		}
		if t, ok := r.phaseStart[event.PhaseFuzz]; ok {
			r.phaseStart[event.PhaseFuzz] = t.Add(took)
		}
	}()
	if err := CheckCapacityPath(probe.Path); err != nil {
		r.logf(event.LevelWarn, "capacity: not measured: path %v", err)
		return
	}
	rc := &report.Capacity{Path: probe.Path}
	s.rep.Fuzz.Capacity = rc
	paused := fb != nil && fb.duty != nil
	switch {
	case paused:
		// A costly coverage (every Python line trapping) is on for a
		// sample of the fuzzing only; the load measures what the target
		// takes the rest of the time.
		fb.duty.pause()
		rc.CodeCoverage = "paused"
	case s.cov != nil:
		rc.CodeCoverage = "on"
	}
	s.runLoads(ctx, probe, rc)
	if paused {
		fb.duty.resume()
	}
	if fb != nil && ctx.Err() == nil {
		if err := fb.drain(ctx); err != nil {
			r.logf(event.LevelWarn, "capacity: %v", err)
		}
	}
}

// runLoads measures probe's loads one after the other into rc, up to the
// first that fails.
func (s *session) runLoads(ctx context.Context, probe *CapacityProbe, rc *report.Capacity) {
	r := s.run
	header := http.Header{}
	for _, h := range r.cfg.Headers {
		if name, value, err := spec.ParseHeader(h); err == nil {
			header.Add(name, value)
		}
	}
	kept := loopback.NewClient(r.cfg.RequestTimeout)
	defer kept.CloseIdleConnections()
	fresh := loopback.NewClient(r.cfg.RequestTimeout, loopback.WithoutKeepAlive())
	loads := probe.Loads
	if len(loads) == 0 {
		loads = DefaultCapacityLoads
	}
	for _, l := range loads {
		client, how := kept, "connection(s)"
		if l.Fresh {
			client, how = fresh, "client(s), a fresh connection per request"
		}
		m := loadPath(ctx, client, s.orig.BaseURL()+probe.Path, header, l, r.fail)
		if ctx.Err() != nil {
			return
		}
		rc.Measurements = append(rc.Measurements, m)
		if m.Error != "" {
			r.logf(event.LevelWarn, "capacity: GET %s, %d %s: %s; the run goes on without measuring further", probe.Path, l.Connections, how, m.Error)
			return
		}
		r.logf(event.LevelInfo, "capacity: GET %s, %d %s, %.1f s: %d answers, %.0f/s (%s)%s",
			probe.Path, l.Connections, how, m.Seconds, m.Requests, m.RequestsPerSecond, statusSummary(m.Statuses), coverageNote(rc.CodeCoverage))
	}
}

func coverageNote(codeCoverage string) string {
	if codeCoverage == "paused" {
		return ", traced, code coverage paused as between the fuzzer's samples"
	}
	return ", traced"
}

// statusSummary is "200: 3391, 503: 2", by status.
func statusSummary(statuses map[string]int64) string {
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, statuses[k]))
	}
	return strings.Join(parts, ", ")
}

// loadPath sends GETs of url from l.Connections clients (on client's
// connections: kept alive or not), each the next as soon as the last is
// answered, for l.Duration. The first
// request that fails stops the load: its error is the measurement's. So does
// a majority of answers that are not 2xx, at the end.
func loadPath(ctx context.Context, client *http.Client, url string, header http.Header, l CapacityLoad, fail func(*panics.Panic)) report.CapacityMeasurement {
	conns := max(1, l.Connections)
	lctx, stop := context.WithTimeout(ctx, l.Duration)
	defer stop()
	var (
		firstErr atomic.Pointer[error]
		mu       sync.Mutex
		statuses = map[int]int64{}
		wg       sync.WaitGroup
	)
	started := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer panics.Catch("pipeline: capacity load", func(p *panics.Panic) {
				stop()
				if fail != nil {
					fail(p)
				}
			})
			mine := map[int]int64{}
			defer func() {
				mu.Lock()
				for code, n := range mine {
					statuses[code] += n
				}
				mu.Unlock()
			}()
			for lctx.Err() == nil {
				code, err := getOnce(lctx, client, url, header)
				if lctx.Err() != nil {
					return // the time is up: an answer cut short counts for nothing
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					stop()
					return
				}
				mine[code]++
			}
		}()
	}
	wg.Wait()
	m := report.CapacityMeasurement{Connections: conns, FreshConnections: l.Fresh, Seconds: time.Since(started).Seconds(), Statuses: map[string]int64{}}
	var ok int64
	for code, n := range statuses {
		m.Statuses[strconv.Itoa(code)] = n
		m.Requests += n
		if code >= 200 && code < 300 {
			ok += n
		}
	}
	if m.Seconds > 0 {
		m.RequestsPerSecond = float64(m.Requests) / m.Seconds
	}
	switch {
	case firstErr.Load() != nil:
		m.Error = fmt.Sprintf("a request failed after %d answers: %v", m.Requests, *firstErr.Load())
	case m.Requests == 0:
		m.Error = fmt.Sprintf("no answer within %s", l.Duration)
	case 2*ok <= m.Requests:
		m.Error = fmt.Sprintf("%d of %d answers were not 2xx: not an operation the target serves", m.Requests-ok, m.Requests)
	}
	return m
}

// getOnce sends one GET and reads its answer, up to the fuzzer's budget
// for an answer's body (beyond it, the connection is closed, not reused).
func getOnce(ctx context.Context, client *http.Client, url string, header http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	for name, values := range header {
		req.Header[name] = slices.Clone(values)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, limits.AnswerBodyBytes.Value)); err != nil {
		return 0, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, nil
}
