package fuzz

import (
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/crawl"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
	"github.com/whittle-dev/whittle/internal/limits"
)

// Option configures EachOperationOnce and New.
type Option func(*config)

type config struct {
	seed        uint64
	baseURL     string
	checks      []oracle.Check
	feedback    Feedback
	events      chan<- Event
	duration    time.Duration
	maxRequests int64
	plateau     time.Duration
	genOpts     []gen.Option
	retries     int
	lister      inputsel.DirLister
	onExchange  func(Exchange)
	maxSeqLen   int
	target      TargetHealth
	crashGrace  time.Duration
	maxCrashes  int
	minRequests int
	minRestarts int
	store       *corpus.Store
	seeds       []Entry
	maxLive     int
	latency     upkeep.LatencyPolicy
	limits      *limits.Recorder
	crawl       crawl.Limits
	browser     string

	freshMinimize bool

	// workers: the worker count, fixed (> 0) or adaptive (0, up to
	// maxWorkers); 1 is the sequential loop.
	workers    int
	maxWorkers int
}

func newConfig(opts []Option) *config {
	c := &config{retries: 2, maxSeqLen: 5, crashGrace: defaultCrashGrace, maxCrashes: defaultMaxCrashes,
		minRequests: defaultMinimizeRequests, minRestarts: defaultMinimizeRestarts,
		maxLive: upkeep.DefaultMaxLive, latency: upkeep.DefaultLatencyPolicy, workers: 1}
	for _, o := range opts {
		o(c)
	}
	return c
}

// WithSeed makes the run reproducible: same seed and same answers, same requests.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithLimits records in r the budgets the run reaches: the generator's
// (an operation whose required value is over budget is then skipped), the
// oracle's validation depth and work, and findings per operation and check.
func WithLimits(r *limits.Recorder) Option {
	return func(c *config) {
		c.limits = r
		c.genOpts = append(c.genOpts, gen.WithLimits(r))
	}
}

// WithBaseURL is the target's base URL, used in curl reproducers.
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = u } }

// WithFeedback connects the tracer's coverage.
func WithFeedback(f Feedback) Option { return func(c *config) { c.feedback = f } }

// WithEvents sends discrete events (findings, new coverage) to ch without
// ever blocking: events that do not fit are dropped and counted.
func WithEvents(ch chan<- Event) Option { return func(c *config) { c.events = ch } }

// WithDuration stops the loop after d.
func WithDuration(d time.Duration) Option { return func(c *config) { c.duration = d } }

// WithMaxRequests stops after n requests.
func WithMaxRequests(n int64) Option { return func(c *config) { c.maxRequests = n } }

// WithPlateau stops when nothing new was seen for d.
func WithPlateau(d time.Duration) Option { return func(c *config) { c.plateau = d } }

// WithDirLister lets the fuzzer list directories of the image for
// input-selected files.
func WithDirLister(l inputsel.DirLister) Option { return func(c *config) { c.lister = l } }

// WithExchangeHook is called synchronously after every answer (e.g. to
// credit coverage to the operation that reached it); it must be quick.
func WithExchangeHook(f func(Exchange)) Option { return func(c *config) { c.onExchange = f } }

// WithTarget lets the fuzzer notice that the target died (a crash finding,
// with the sequence that led to it, minimised on fresh targets) and get a
// fresh one to go on with. Without it a dead target only shows as
// transport errors, and multi-step findings are not minimised.
func WithTarget(t TargetHealth) Option { return func(c *config) { c.target = t } }

// WithCrashGrace sets how long, after a request got no answer, the fuzzer
// waits for TargetHealth to notice an exit (default 1s).
func WithCrashGrace(d time.Duration) Option { return func(c *config) { c.crashGrace = d } }

// WithMinimizeBudget bounds the minimisation of one finding: requests sent
// and fresh targets started (defaults 1000 and 24). requests 0 turns
// minimisation off.
func WithMinimizeBudget(requests, restarts int) Option {
	return func(c *config) { c.minRequests, c.minRestarts = requests, restarts }
}

// WithStore persists the corpus: every entry that joins the in-memory corpus
// is written to s as it joins, and every finding too. The store's entries
// are also the run's seeds (resume), before any given with withSeedEntries.
func WithStore(s *corpus.Store) Option { return func(c *config) { c.store = s } }

// WithCleanup sets how many resources of one kind the run keeps alive
// before it deletes the oldest (upkeep.DefaultMaxLive; 0: never delete).
func WithCleanup(maxLive int) Option { return func(c *config) { c.maxLive = maxLive } }

// WithLatencyRestarts sets when a target whose answers keep slowing down is
// replaced by a fresh one (upkeep.DefaultLatencyPolicy; the zero policy: never).
// It needs WithTarget.
func WithLatencyRestarts(p upkeep.LatencyPolicy) Option { return func(c *config) { c.latency = p } }

// WithWorkers runs n sequences at once (n > 1), each in a worker of its
// own; 1 (the default) is one at a time. See WithAdaptiveWorkers.
func WithWorkers(n int) Option { return func(c *config) { c.workers = max(1, n) } }

// WithAdaptiveWorkers lets the run choose how many sequences it runs at
// once, from 1 up to max (pace.DefaultMax when max ≤ 0): more while
// executions/s rise and latency stays within bounds, fewer on timeouts,
// bursts of 5xx and growing latency.
func WithAdaptiveWorkers(max int) Option {
	return func(c *config) { c.workers, c.maxWorkers = 0, max }
}

// The options below are the loop's own knobs: the tests set them; the
// pipeline runs with their defaults.

// withChecks chooses the oracles (oracle.DefaultChecks otherwise).
func withChecks(checks ...oracle.Check) Option { return func(c *config) { c.checks = checks } }

// withGeneratorOptions passes options to the request generator.
func withGeneratorOptions(opts ...gen.Option) Option {
	return func(c *config) { c.genOpts = append(c.genOpts, opts...) }
}

// withRetries sets how many more valid requests EachOperationOnce sends to
// an operation that got no 2xx (default 2).
func withRetries(n int) Option { return func(c *config) { c.retries = n } }

// withMaxCrashes ends the run (ErrTooManyCrashes) once the target crashed
// more than n times in a row, each time within a few requests of its start
// (default 100): it cannot serve any more. Crashes after a healthy stretch
// (a known bug found again) never end a run; a time-boxed run goes on.
func withMaxCrashes(n int) Option { return func(c *config) { c.maxCrashes = n } }

// withFreshMinimization minimises every finding, not only crashes, on a
// fresh target per attempt (TargetHealth.Restart), so that the minimal
// sequence does not rely on what the running target held. Slower: off by
// default, findings are then minimised on the running target.
func withFreshMinimization(on bool) Option { return func(c *config) { c.freshMinimize = on } }

// withSeedEntries starts the run from these entries: they join the corpus
// and are run first, so the loop knows what they cover before mutating them.
func withSeedEntries(entries []Entry) Option {
	return func(c *config) { c.seeds = append(c.seeds, entries...) }
}

// WithCrawlLimits bounds the requests of paths the target's pages link
// (zero fields: crawl.DefaultLimits).
func WithCrawlLimits(l crawl.Limits) Option { return func(c *config) { c.crawl = l } }

// WithBrowser has the crawl load each page in the headless Chromium at bin
// (browser.Find), served the run's answers, so that what the pages'
// scripts ask for at run time is requested too.
func WithBrowser(bin string) Option { return func(c *config) { c.browser = bin } }
