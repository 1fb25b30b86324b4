package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/crawl"
	"github.com/whittle-dev/whittle/fuzz/crawl/browser"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/verify"
)

// exercise fuzzes the target from its spec with the tracer's feedback, and
// keeps the corpus the verification replays.
func (s *session) exercise(ctx context.Context) error {
	r := s.run
	cfg := r.cfg
	switch {
	case cfg.FromCorpus:
		return s.exerciseCorpus(ctx)
	case cfg.Once:
		return s.exerciseOnce(ctx)
	}
	s.rep.Fuzz.Strategy = "fuzz"
	seed := s.planShard()
	r.startPhase(event.PhaseFuzz, fmt.Sprintf("%d operations, seed %d, budget %s%s", len(s.fuzzSpec().Operations), seed, budget(cfg), s.shardNote()))
	fb, err := newTraceFeedback(ctx, s.tracer, s.cov)
	if err != nil {
		r.endPhase(event.PhaseFuzz, "", err)
		return err
	}
	s.fuzzDuty.Store(fb.duty)
	defer s.fuzzDuty.Store(nil)
	s.measureCapacity(ctx, fb)
	feedback, credit := s.creditByThread(fb)
	events := make(chan fuzz.Event, 1024)
	opts := []fuzz.Option{
		fuzz.WithSeed(uint64(seed)),
		fuzz.WithBaseURL(s.orig.BaseURL()),
		fuzz.WithFeedback(feedback),
		fuzz.WithExchangeHook(credit),
		fuzz.WithLimits(s.limits),
		fuzz.WithDirLister(s.imageFS),
		fuzz.WithTarget(s.orig),
		fuzz.WithEvents(events),
	}
	if cfg.Duration > 0 {
		opts = append(opts, fuzz.WithDuration(cfg.Duration), fuzz.WithMinimizeBudget(1000, minimizeRestarts(cfg.Duration, s.orig.Startup())))
	}
	if cfg.MaxRequests > 0 {
		opts = append(opts, fuzz.WithMaxRequests(cfg.MaxRequests))
	}
	if cfg.Plateau > 0 {
		opts = append(opts, fuzz.WithPlateau(cfg.Plateau))
	}
	switch {
	case cfg.Workers <= 0:
		opts = append(opts, fuzz.WithAdaptiveWorkers(0))
	default:
		opts = append(opts, fuzz.WithWorkers(cfg.Workers))
	}
	switch {
	case cfg.KeepState:
		opts = append(opts, fuzz.WithCleanup(0), fuzz.WithLatencyRestarts(upkeep.LatencyPolicy{}))
	case cfg.latency != nil:
		opts = append(opts, fuzz.WithLatencyRestarts(*cfg.latency))
	}
	if cfg.maxLive > 0 && !cfg.KeepState {
		opts = append(opts, fuzz.WithCleanup(cfg.maxLive))
	}
	var store *corpus.Store
	if cfg.CorpusDir != "" {
		st, err := s.openCorpus(ctx)
		if err != nil {
			r.endPhase(event.PhaseFuzz, "", err)
			return err
		}
		defer st.Close()
		opts = append(opts, fuzz.WithStore(st))
		store = st
	}
	if bin, err := browser.Find(); err == nil {
		opts = append(opts, fuzz.WithBrowser(bin))
		r.logf(event.LevelInfo, "crawl: %s, and pages loaded in a headless Chromium (%s) served the run's answers, so that what their scripts fetch is requested too", crawl.Mode(), bin)
	} else {
		r.logf(event.LevelInfo, "crawl: %s; %v: scripts are not run", crawl.Mode(), err)
	}
	f := fuzz.New(s.fuzzSpec(), s.orig, opts...)
	// The user's drivers run beside the fuzzer; one that fails stops it.
	fctx, stopFuzzing := context.WithCancel(ctx)
	defer stopFuzzing()
	drv := s.startDrivers(ctx, stopFuzzing)
	started := time.Now()
	r.controls.attach(f)
	r.ctr.setExtra(func(p *event.Progress) { s.fuzzProgress(p, f, started) })
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		// forwardSafely catches each event's panic and goes on draining;
		// this only guards the loop itself.
		defer panics.Catch(string(faults.EventForwarder), s.run.fail)
		for e := range events {
			s.forwardSafely(e)
		}
	}()
	stopSampling := s.sampleTimeline(f, started)
	// Also when the fuzzer panics: no goroutine of this phase may outlive
	// the tracer and the target that Execute's cleanup releases.
	finish := sync.OnceFunc(func() {
		stopSampling()
		close(events)
		<-forwarded
		r.controls.detach()
	})
	defer finish()
	res, err := f.Run(fctx)
	if derr := s.waitDrivers(ctx, drv); derr != nil {
		finish()
		r.endPhase(event.PhaseFuzz, "", derr)
		return derr
	}
	finish()
	s.fuzzDuty.Store(nil)
	if fb.duty != nil {
		// The replays need no line coverage: let the interpreter run at full speed.
		_ = s.cov.Enable(false)
	}
	final := f.Stats()
	r.ctr.setExtra(func(p *event.Progress) { s.fuzzProgressFrom(p, final, started) })
	if err != nil {
		r.endPhase(event.PhaseFuzz, "", err)
		return fmt.Errorf("fuzzing %s: %w", cfg.Image, err)
	}
	s.entries = append(res.Corpus, s.driverEntries(drv, store)...)
	s.recordFuzz(res)
	s.recordCoverage(fb)
	s.storeCoverage(store)
	s.keepSelections(store)
	if c := res.Crawl; c.Requested > 0 {
		r.logf(event.LevelInfo, "crawl: %d linked paths requested from %d pages; %d files kept as linked", c.Requested, c.Pages, len(res.Linked))
	}
	for _, w := range res.Warnings {
		r.logf(event.LevelWarn, "fuzz: %s", w)
	}
	if len(res.NoSuccess) > 0 {
		r.logf(event.LevelWarn, "no 2xx answer for: %s", strings.Join(res.NoSuccess, ", "))
	}
	if st := res.Stats; st.CleanupDeletes > 0 || st.LatencyRestarts > 0 {
		r.logf(event.LevelInfo, "state: %d DELETE requests removed what the run created (%d failed); %d restarts because latency kept growing",
			st.CleanupDeletes, st.CleanupFailures, st.LatencyRestarts)
	}
	r.endPhase(event.PhaseFuzz, fmt.Sprintf("%d requests (%.0f/s), corpus %d, %d findings, stopped: %s",
		res.Stats.Requests, res.Stats.RequestsPerSecond, len(res.Corpus), len(res.Findings), res.StopReason), nil)
	return nil
}

// minimizeRestarts bounds the fresh targets one finding's minimisation may
// start to about a fifth of the fuzzing budget: a target that takes seconds
// to start (an interpreter loading a framework) would otherwise spend the
// run restarting instead of fuzzing.
func minimizeRestarts(budget, startup time.Duration) int {
	if startup <= 0 {
		return 24
	}
	return min(24, max(2, int(budget/5/startup)))
}

func budget(cfg Config) string {
	var parts []string
	if cfg.Duration > 0 {
		parts = append(parts, cfg.Duration.String())
	}
	if cfg.MaxRequests > 0 {
		parts = append(parts, fmt.Sprintf("%d requests", cfg.MaxRequests))
	}
	if cfg.Plateau > 0 {
		parts = append(parts, "plateau "+cfg.Plateau.String())
	}
	if len(parts) == 0 {
		return "until stopped"
	}
	return strings.Join(parts, ", ")
}

// forwardSafely forwards one event; a panic doing so ends the run, and the
// forwarder keeps draining the channel so the fuzzer never blocks on it.
func (s *session) forwardSafely(e fuzz.Event) {
	defer panics.Catch(string(faults.EventForwarder), s.run.fail)
	_ = faults.At(faults.EventForwarder)
	s.forward(e)
}

// forward turns the fuzzer's events into the interfaces' events.
func (s *session) forward(e fuzz.Event) {
	switch e.Kind {
	case fuzz.EventFinding:
		if e.Finding != nil {
			s.run.bus.Publish(s.findingEvent(*e.Finding))
		}
	case fuzz.EventCoverage:
		s.run.bus.Publish(event.NewCoverage{Stamp: event.Now(), Operation: e.Operation, What: strings.Join(e.Reasons, ", ")})
	case fuzz.EventSelection:
		if sel := e.Selection; sel != nil {
			how := ""
			if sel.Names != "" {
				how = " (names " + sel.Names + ")"
			}
			s.run.logf(event.LevelInfo, "%s: %s selects files in %s%s", sel.Operation, sel.Target, sel.Dir, how)
		}
	case fuzz.EventConnections:
		s.run.logf(event.LevelInfo, "connections: %s", strings.Join(e.Reasons, ", "))
	case fuzz.EventWorkers:
		s.logWorkers(e)
	case fuzz.EventRestart:
		why := strings.Join(e.Reasons, ", ")
		if s.restartReasons == nil {
			s.restartReasons = map[string]bool{}
		}
		if !s.restartReasons[why] {
			s.restartReasons[why] = true
			s.run.logf(event.LevelWarn, "target restarted: %s (restarts for the same reason are counted, not logged)", why)
		}
	}
}

func (s *session) fuzzProgress(p *event.Progress, f *fuzz.Fuzzer, started time.Time) {
	s.fuzzProgressFrom(p, f.Stats(), started)
}

func (s *session) fuzzProgressFrom(p *event.Progress, st fuzz.Stats, started time.Time) {
	p.Started = started
	p.Requests = st.Requests
	p.Findings = st.Findings
	p.CorpusSize = st.CorpusSize
	p.Restarts = st.Restarts
	if c := st.Concurrency; c != nil {
		p.Workers = c.Workers
	}
	p.Paused = st.Paused
	if s.cov != nil {
		cs := s.cov.Stats()
		p.Functions, p.FunctionsTotal = cs.Hit, cs.Total
	}
	p.Files = s.tracer.Stats().Files
	p.Syscalls = len(s.tracer.Syscalls())
	if st.LastNew > 0 {
		p.LastNewSignal = started.Add(st.LastNew)
	}
	skipped := map[string]bool{}
	for _, op := range st.Skipped {
		skipped[op] = true
	}
	p.Operations = p.Operations[:0]
	for _, op := range s.fuzzSpec().Operations {
		o := st.Operations[op.ID]
		p.Operations = append(p.Operations, event.OperationProgress{
			Operation: op.ID, Requests: o.Requests,
			Status2xx: o.Status[2], Status4xx: o.Status[4], Status5xx: o.Status[5], Errors: o.Status[0],
			NewCoverage: o.New, Skipped: skipped[op.ID],
		})
	}
}

// recordFuzz puts what the fuzzer did into the report.
func (s *session) recordFuzz(res *fuzz.Result) {
	rep := &s.rep.Fuzz
	rep.Requests = res.Stats.Requests
	rep.Duration = res.Stats.Elapsed.Seconds()
	rep.CorpusSize = len(res.Corpus)
	rep.StopReason = res.StopReason
	rep.Restarts, rep.LatencyRestarts = res.Stats.Restarts, res.Stats.LatencyRestarts
	rep.Concurrency, rep.Connections = reportConcurrency(res.Stats.Concurrency), res.Stats.Connections
	s.reportThreadCredit(rep.Concurrency)
	rep.GCDeletes, rep.GCDeleteFailures = res.Stats.CleanupDeletes, res.Stats.CleanupFailures
	rep.Operations = rep.Operations[:0]
	for _, op := range s.fuzzSpec().Operations {
		o := res.Stats.Operations[op.ID]
		rep.Operations = append(rep.Operations, report.Operation{
			Operation: op.ID, Requests: o.Requests,
			Status2xx: o.Status[2], Status4xx: o.Status[4], Status5xx: o.Status[5], Errors: o.Status[0],
			NewCoverage: o.New,
			LatencyMean: millis(o.MeanLatency), LatencyRecent: millis(o.RecentLatency),
		})
	}
	fuzz.SortFindings(res.Findings)
	rep.Findings = rep.Findings[:0]
	for _, f := range res.Findings {
		rep.Findings = append(rep.Findings, s.findingReport(f))
	}
	seen := map[string]bool{}
	for _, sel := range res.Selections {
		if seen[sel.Dir] {
			continue
		}
		seen[sel.Dir] = true
		rep.SelectedDirs = append(rep.SelectedDirs, report.Selection{Dir: sel.Dir, Operation: sel.Operation, Parameter: sel.Target, Names: sel.Names})
	}
	for _, d := range res.SelectedDirs {
		if !seen[d] {
			seen[d] = true
			rep.SelectedDirs = append(rep.SelectedDirs, report.Selection{Dir: d})
		}
	}
	sort.Slice(rep.SelectedDirs, func(i, j int) bool { return rep.SelectedDirs[i].Dir < rep.SelectedDirs[j].Dir })
	rep.ValueNames = res.ValueNames
	rep.Linked = rep.Linked[:0]
	for _, lf := range res.Linked {
		rep.Linked = append(rep.Linked, report.Linked{Path: lf.Path, From: lf.From, Request: lf.Request})
	}
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// findingReport is a finding as reports and interfaces show it: its curl
// reproducer and texts hold placeholders, not the user's secrets.
func (s *session) findingReport(f fuzz.Finding) report.Finding {
	rf := findingReport(f)
	sec := s.run.secrets
	rf.Summary, rf.Curl, rf.Response, rf.Request = sec.Redact(rf.Summary), sec.Redact(rf.Curl), sec.Redact(rf.Response), sec.Redact(rf.Request)
	return rf
}

func findingReport(f fuzz.Finding) report.Finding {
	rf := report.Finding{
		ID:        f.ID,
		Operation: f.Operation,
		Check:     string(f.Check),
		Severity:  severityOf(f.Check),
		Summary:   f.Message,
		Curl:      f.Curl,
		Response:  verify.Summarize(f.Response),
		Sequence:  len(f.Requests),
	}
	if n := len(f.Requests); n > 0 {
		rf.Request = f.Requests[n-1].Method + " " + f.Requests[n-1].Path
	}
	return rf
}

func (s *session) findingEvent(f fuzz.Finding) event.Finding {
	rf := s.findingReport(f)
	return event.Finding{Stamp: event.Now(), ID: rf.ID, Operation: rf.Operation, Check: rf.Check,
		Summary: rf.Summary, Curl: rf.Curl, Severity: rf.Severity, Request: rf.Request, Response: rf.Response}
}

// severityOf grades checks: crashes and server errors are what users act on first.
func severityOf(c oracle.Check) string {
	switch c {
	case oracle.CheckCrash:
		return "critical"
	case oracle.CheckServerError:
		return "high"
	case oracle.CheckTimeout, oracle.CheckTransport, oracle.CheckSchema:
		return "medium"
	default:
		return "low"
	}
}

// exerciseOnce sends each operation once with valid values, producers
// first: what simple minifiers do, kept as a baseline to compare with.
func (s *session) exerciseOnce(ctx context.Context) error {
	r := s.run
	s.rep.Fuzz.Strategy = "once"
	seed := s.planShard()
	r.startPhase(event.PhaseFuzz, fmt.Sprintf("each of %d operations once%s", len(s.fuzzSpec().Operations), s.shardNote()))
	fb, err := newTraceFeedback(ctx, s.tracer, s.cov)
	if err != nil {
		r.endPhase(event.PhaseFuzz, "", err)
		return err
	}
	s.measureCapacity(ctx, fb)
	fctx, stopFuzzing := context.WithCancel(ctx)
	defer stopFuzzing()
	drv := s.startDrivers(ctx, stopFuzzing)
	res, err := fuzz.EachOperationOnce(fctx, s.fuzzSpec(), s.orig, fuzz.WithSeed(uint64(seed)),
		fuzz.WithBaseURL(s.orig.BaseURL()), fuzz.WithFeedback(fb), fuzz.WithExchangeHook(fb.credit), fuzz.WithLimits(s.limits))
	if derr := s.waitDrivers(ctx, drv); derr != nil {
		r.endPhase(event.PhaseFuzz, "", derr)
		return derr
	}
	if err != nil {
		r.endPhase(event.PhaseFuzz, "", err)
		return fmt.Errorf("exercising %s: %w", r.cfg.Image, err)
	}
	s.entries = append([]fuzz.Entry{res.Entry}, s.driverEntries(drv, nil)...)
	s.rep.Fuzz.Requests = res.Stats.Requests
	s.rep.Fuzz.Duration = res.Stats.Elapsed.Seconds()
	s.rep.Fuzz.CorpusSize = len(s.entries)
	s.rep.Fuzz.StopReason = "each operation sent"
	for _, op := range s.fuzzSpec().Operations {
		o := res.Stats.Operations[op.ID]
		s.rep.Fuzz.Operations = append(s.rep.Fuzz.Operations, report.Operation{
			Operation: op.ID, Requests: o.Requests,
			Status2xx: o.Status[2], Status4xx: o.Status[4], Status5xx: o.Status[5], Errors: o.Status[0],
		})
	}
	for _, f := range res.Findings {
		s.rep.Fuzz.Findings = append(s.rep.Fuzz.Findings, s.findingReport(f))
	}
	s.recordCoverage(fb)
	r.endPhase(event.PhaseFuzz, fmt.Sprintf("%d requests, %d operations answered 2xx", res.Stats.Requests, len(res.Succeeded)), nil)
	return nil
}
