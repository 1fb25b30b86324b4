package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/internal/secrets"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/rebuild"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/verify"
)

// Version is reported in the JSON report's tool section.
var Version = "dev"

// Config is everything a run needs to know; the CLI fills it from flags.
// AdaptiveWorkers as Config.Workers (the default, as is 0) adapts the number
// of sequences in flight to what the target takes (fuzz.WithAdaptiveWorkers):
// it runs one at a time while new coverage comes, so that it is credited,
// and more on what the run knows.
const AdaptiveWorkers = -1

type Config struct {
	Image    string
	Spec     string // file or URL; empty: discovered on the target
	BasePath string
	Headers  []string
	Auth     []string // SCHEME=VALUE for the spec's named security schemes

	Seed        int64 // 0: pick one and report it
	Duration    time.Duration
	MaxRequests int64
	Plateau     time.Duration // stop when nothing new came for this long
	Workers     int           // sequences in flight at once: 1 one at a time, N > 1 fixed, 0 or AdaptiveWorkers adapts
	CorpusDir   string        // resume from and persist to this corpus
	Once        bool          // send each operation once instead of fuzzing (a baseline)
	// KeepState leaves what the run created alive and never restarts a
	// target that slows down (by default the oldest resources beyond a
	// bound are deleted, and a target whose latency keeps growing is
	// replaced by a fresh one).
	KeepState bool
	FailOn    string // severity at or above which findings fail the run ("" never)
	// Capacity, when set, measures what the traced target takes right
	// before fuzzing (report's fuzz.capacity): a bench hook.
	Capacity *CapacityProbe

	Port           int
	ReadyPath      string
	ReadyTimeout   time.Duration
	RequestTimeout time.Duration

	Tag               string
	Include           []string
	Exclude           []string
	KeepShell         bool
	OutputDir         string
	WithoutHeuristics []string // rebuild heuristics to switch off

	// CoverBinary is the file whose code is covered (default: the
	// container's main process); CoverPatterns narrow or widen the scope
	// (Go packages or symbol globs; Python file globs; Java packages,
	// "com.example.shop", for the JVM agent).
	CoverBinary   string
	CoverPatterns []string

	// Run is how every container of the run starts beyond its image's
	// config (environment, mounts, command, user, working directory): the
	// traced one, the reference replays', the spare and the minimal
	// image's alike. BakeRunConfig writes it into the minimal image's
	// config, which otherwise keeps the original's.
	Run           probe.RunConfig
	BakeRunConfig bool
	// Compose and Service take the target from a compose file: its image
	// (when Image is empty), its settings, and the companion services it
	// depends on, started fresh beside every container of the target.
	Compose string
	Service string
	// Drivers are the user's host commands run while fuzzing, pointed at
	// a recording proxy by WHITTLE_TARGET_URL.
	Drivers []string

	// Shard is the part of a campaign split across jobs this run fuzzes
	// (zero: all of it); Seed is then the campaign's (see PlanShard).
	Shard Shard
	// FuzzOnly ends the run after fuzzing: the corpus is its result (a
	// shard's; the minimal image is built once from the merged corpora).
	FuzzOnly bool
	// FromCorpus builds the minimal image from CorpusDir without fuzzing:
	// its entries are replayed on the traced original, and its spec,
	// findings and input-selected directories are the run's.
	FromCorpus bool

	// Tier forces a file-observation tier (tests, troubleshooting).
	Tier tracer.Tier
	// latency replaces upkeep.DefaultLatencyPolicy (tests).
	latency *upkeep.LatencyPolicy
	// maxLive, when positive, replaces upkeep.DefaultMaxLive (tests): the
	// fuzzer's own DELETEs keep a kind's live count near its creates', so
	// a short run may never pass the default bound.
	maxLive int
}

// Run is one execution of the pipeline.
type Run struct {
	cfg      Config
	bus      *event.Bus
	ctr      counters
	controls controls
	runID    string

	// phaseStart and timings belong to Execute's goroutine.
	phaseStart map[event.Phase]time.Time
	timings    map[string]float64

	// A panic in one of the run's goroutines ends the run: the first one is
	// kept and becomes Execute's error.
	panicMu  sync.Mutex
	panicked *panics.Panic
	cancel   context.CancelCauseFunc
	finished bool // Execute has returned: no run left to end

	// secrets are the values the user gave (environment, headers,
	// credentials): never written, never shown.
	secrets *secrets.Set
}

// New prepares a run; events go to bus (which may be nil).
func New(cfg Config, bus *event.Bus) *Run {
	if cfg.Seed == 0 {
		cfg.Seed = rand.Int64N(1<<31-1) + 1
	}
	if cfg.ReadyPath == "" {
		cfg.ReadyPath = "/"
	}
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	r := &Run{cfg: cfg, bus: bus, runID: fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()), secrets: &secrets.Set{}}
	r.secrets.AddEnv(cfg.Run.Env)
	for _, h := range cfg.Headers {
		r.secrets.AddHeaderLine(h)
	}
	for _, a := range cfg.Auth {
		r.secrets.AddAuth(a)
	}
	r.ctr.update(func(p *event.Progress) {
		p.Image = cfg.Image
		p.Seed = cfg.Seed
		p.Phase = event.PhaseInspect
	})
	return r
}

// Progress returns a snapshot of the run's counters. The interfaces call it
// from their own goroutines: a panic in it ends the run (as an error) rather
// than the process.
func (r *Run) Progress() (p event.Progress) {
	defer panics.Catch(string(faults.ProgressSnapshot), r.fail)
	_ = faults.At(faults.ProgressSnapshot)
	return r.ctr.progress()
}

// fail is how the run's goroutines report a panic: the first one is kept
// and the run is cancelled, so Execute cleans up and returns it.
// After Execute has returned (an interface still showing the results), it
// goes to the process's panic handler instead.
func (r *Run) fail(p *panics.Panic) {
	r.panicMu.Lock()
	finished := r.finished
	if r.panicked == nil {
		r.panicked = p
	}
	if r.cancel != nil {
		r.cancel(p)
	}
	r.panicMu.Unlock()
	if finished {
		panics.Report(p)
	}
}

// Secrets are the values the user gave the run; what the run reports and
// writes holds placeholders instead (report.Redacted).
func (r *Run) Secrets() *secrets.Set { return r.secrets }

func (r *Run) logf(level event.Level, format string, args ...any) {
	r.bus.Publish(event.Log{Stamp: event.Now(), Level: level, Msg: r.secrets.Redact(fmt.Sprintf(format, args...))})
}

func (r *Run) startPhase(p event.Phase, detail string) {
	if r.phaseStart == nil {
		r.phaseStart, r.timings = map[event.Phase]time.Time{}, map[string]float64{}
	}
	r.phaseStart[p] = time.Now()
	r.ctr.setPhase(p)
	r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: p, Detail: detail})
}

func (r *Run) endPhase(p event.Phase, detail string, err error) {
	if t, ok := r.phaseStart[p]; ok {
		r.timings[string(p)] += time.Since(t).Seconds()
		delete(r.phaseStart, p)
	}
	r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: p, Detail: detail, Err: err})
}

// Execute runs every step and returns the report, also when a step fails
// (then with what was learnt so far). Containers and BPF programs are always
// released before it returns.
//
// A panic in Execute or in a goroutine of the run does not skip that cleanup:
// it is recovered and returned as a *panics.Panic error (errors.Is
// panics.ErrPanic), with the stack of the goroutine that panicked.
func (r *Run) Execute(ctx context.Context) (rep *report.Report, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.panicMu.Lock()
	r.cancel = cancel
	if r.panicked != nil {
		cancel(r.panicked)
	}
	r.panicMu.Unlock()
	rep = &report.Report{
		Schema:    report.SchemaVersion,
		Tool:      report.Tool{Name: "whittle", Version: Version},
		StartedAt: time.Now().UTC(),
		Original:  report.ImageInfo{Ref: r.cfg.Image},
		Spec:      report.SpecInfo{Source: r.cfg.Spec},
	}
	rep.Fuzz.Seed = r.cfg.Seed
	s := &session{run: r, rep: rep, limits: r.newLimits()}
	s.recordRunConfig()
	defer func() {
		if v := recover(); v != nil {
			err = panics.New("pipeline", v)
		}
		s.close(ctx)
		s.recordCompanions()
		rep.FinishedAt = time.Now().UTC()
		rep.Timings = r.timings
		rep.LimitsHit = s.limits.Hits()
		r.panicMu.Lock()
		r.finished = true
		if r.panicked != nil {
			err = r.panicked // whatever else failed, it failed because of the panic
		}
		r.panicMu.Unlock()
		if err != nil {
			var p *panics.Panic
			switch {
			case errors.As(err, &p):
			case errors.As(context.Cause(ctx), &p):
				// A goroutine outside the pipeline panicked and the CLI
				// cancelled the run with it.
				err = p
			case ctx.Err() != nil:
				err = fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx))
			}
			rep.Error = err.Error()
		}
		r.ctr.setPhase(event.PhaseDone)
		detail := "ok"
		if err != nil {
			detail = "failed"
		}
		r.bus.Publish(event.PhaseStarted{Stamp: event.Now(), Phase: event.PhaseDone, Detail: detail})
	}()

	if err := s.inspect(ctx); err != nil {
		return rep, err
	}
	if err := s.startOriginal(ctx); err != nil {
		return rep, err
	}
	if err := s.exercise(ctx); err != nil {
		return rep, err
	}
	if !r.cfg.FuzzOnly {
		if err := s.buildAndVerify(ctx); err != nil {
			return rep, err
		}
	} else {
		r.skipPhases("fuzzing only: the corpus is this run's result", event.PhaseBuild, event.PhaseVerify)
	}
	if n := findingsAtOrAbove(rep.Fuzz.Findings, r.cfg.FailOn); n > 0 {
		return rep, fmt.Errorf("%w: %d finding(s) of severity %s or higher", ErrFindings, n, r.cfg.FailOn)
	}
	return rep, nil
}

// session holds the resources of one Execute call.
type session struct {
	run *Run
	rep *report.Report

	spec   *spec.Spec
	engine *probe.Engine
	image  *probe.Image
	tracer *tracer.Tracer
	traced *cover.Starter // starts the traced containers, covers the first one's code
	cov    cover.Source   // nil when the target's code cannot be covered
	// runtimes are the runtimes whose coverage needs more than the
	// tracer's uprobes, made once per run (coverRuntimes).
	runtimes []cover.Runtime
	starts   startLog // when traced containers were starting (coverunits.go)
	// fuzzDuty is the costly coverage's duty cycle while fuzzing (nil
	// otherwise): traced starts hold it on (dutyCycle.holdForStart).
	fuzzDuty atomic.Pointer[dutyCycle]
	orig     *verify.Target // the traced original, restarted when it crashes
	imageFS  *imageExport
	deps     *companions // the target's compose services; nil without --compose

	entries []fuzz.Entry  // the corpus the verification replays
	source  *corpus.Store // the corpus a build from a corpus reads
	shard   *ShardPlan    // what this shard of a campaign fuzzes; nil: everything
	// ref holds the original's answers to the replayed corpus and what in
	// them changes between runs.
	ref     *verify.Reference
	minimal *rebuild.Result

	// restartReasons are the reasons of restarts already logged: a known
	// crash found again is counted in the progress, not logged each time.
	restartReasons map[string]bool
	// maxWorkersLogged is the highest worker count logged (workers.go).
	maxWorkersLogged int
	// threadCredit says how a concurrent run credits coverage by thread,
	// flights is its book (workers.go).
	threadCredit string
	flights      *flightBook
	// limits records the budgets the target made the run reach (limits.go).
	limits *limits.Recorder
}

func (s *session) close(ctx context.Context) {
	if s.orig != nil {
		s.orig.Close(ctx)
	}
	if s.tracer != nil {
		if err := s.tracer.Close(); err != nil {
			s.run.logf(event.LevelWarn, "closing tracer: %v", err)
		}
	}
	if s.imageFS != nil {
		s.imageFS.close()
	}
	s.closeRuntimes()
	if s.engine != nil {
		s.removeOwn(ctx)
		// Again at the end: a run killed while this one ran (its owner
		// still exiting at the start) leaves nothing for long.
		s.removeLeftovers(ctx)
		s.engine.Close()
	}
}

// removeOwn removes what this run created and no step released: a container
// a failed or panicking step created but never handed over. Normally there
// is nothing left; anything found is a bug worth a warning.
func (s *session) removeOwn(ctx context.Context) {
	removed, err := s.engine.RemoveRun(context.WithoutCancel(ctx), s.run.runID)
	if !removed.Empty() {
		s.run.logf(event.LevelWarn, "removed %s that a failed step of this run left behind", removed)
	}
	if err != nil {
		s.run.logf(event.LevelWarn, "%v", err)
	}
}

// removeLeftovers removes the containers, networks and volumes of earlier
// whittle runs whose process is gone.
func (s *session) removeLeftovers(ctx context.Context) {
	removed, err := s.engine.RemoveLeftovers(context.WithoutCancel(ctx))
	if !removed.Empty() {
		s.run.logf(event.LevelInfo, "removed %s left behind by an interrupted run", removed)
	}
	if err != nil {
		s.run.logf(event.LevelWarn, "%v", err)
	}
}

func (s *session) specOptions() []spec.SpecOption {
	opts := []spec.SpecOption{spec.WithLimits(s.limits)}
	if s.run.cfg.BasePath != "" {
		opts = append(opts, spec.WithBasePath(s.run.cfg.BasePath))
	}
	for _, h := range s.run.cfg.Headers {
		opts = append(opts, spec.WithHeaderLine(h))
	}
	for _, a := range s.run.cfg.Auth {
		scheme, value, _ := strings.Cut(a, "=")
		opts = append(opts, spec.WithSchemeValue(scheme, value))
	}
	return opts
}

// inspect checks everything that can be checked before a container starts,
// cheapest first, so bad input fails fast and leaves nothing behind.
func (s *session) inspect(ctx context.Context) error {
	r := s.run
	r.startPhase(event.PhaseInspect, r.cfg.Image)
	var err error
	if r.cfg.Compose != "" {
		if err := s.loadCompose(ctx); err != nil {
			r.endPhase(event.PhaseInspect, "", err)
			return err
		}
		s.recordRunConfig()
	}
	s.warnWidening()
	if r.cfg.Spec != "" {
		s.spec, err = spec.LoadSpec(ctx, r.cfg.Spec, s.specOptions()...)
		if err != nil {
			r.endPhase(event.PhaseInspect, "", err)
			return err
		}
		s.noteSpec()
	}
	if r.cfg.FromCorpus {
		if err := s.openSourceCorpus(ctx); err != nil {
			r.endPhase(event.PhaseInspect, "", err)
			return err
		}
	}
	s.tracer, err = tracer.New(tracer.WithTier(r.cfg.Tier))
	if err != nil {
		r.endPhase(event.PhaseInspect, "", err)
		return fmt.Errorf("arming the tracer: %w", err)
	}
	s.traced = cover.NewStarter(s.tracer, r.cfg.CoverBinary, s.coverOptions()...)
	s.rep.Trace.Tier = s.tracer.Tier().String()
	for _, fb := range s.tracer.Fallbacks() {
		r.logf(event.LevelInfo, "tracer: tier %s unavailable here, falling back (%v)", fb.Tier, fb.Err)
	}
	logContainerRoot(r)
	s.engine, err = probe.Connect(ctx)
	if err != nil {
		r.endPhase(event.PhaseInspect, "", err)
		return err
	}
	// First, whatever else fails: what killed runs left goes, whatever
	// their image.
	s.removeLeftovers(ctx)
	s.image, err = s.engine.Inspect(ctx, r.cfg.Image)
	if err != nil {
		r.endPhase(event.PhaseInspect, "", err)
		return err
	}
	s.rep.Original.ID, s.rep.Original.Size = s.image.ID, s.image.Size
	s.prepareRuntimes()
	if err := s.checkCompanionImages(ctx); err != nil {
		r.endPhase(event.PhaseInspect, "", err)
		return err
	}
	// The pristine filesystem is needed by the fuzzer (names in directories)
	// and the build; export it while the target starts and runs.
	s.imageFS = startExport(ctx, s.engine, r.cfg.Image, r.fail)
	r.endPhase(event.PhaseInspect, fmt.Sprintf("%s %s, entrypoint %s, ports %s",
		r.cfg.Image, report.HumanBytes(s.image.Size), strings.Join(append(s.image.Entrypoint, s.image.Cmd...), " "),
		strings.Join(s.image.ExposedPorts, ",")), nil)
	return nil
}

func (s *session) noteSpec() {
	sp := s.spec
	s.rep.Spec.Source = sp.Source
	s.rep.Spec.Hash = sp.Hash
	s.rep.Spec.Operations = len(sp.Operations)
	s.rep.Spec.Warnings = sp.Warnings
	if sp.Doc != nil && sp.Doc.Info != nil {
		s.rep.Spec.Title, s.rep.Spec.Version = sp.Doc.Info.Title, sp.Doc.Info.Version
	}
	for _, w := range sp.Warnings {
		s.run.logf(event.LevelWarn, "spec: %s", w)
	}
}

// probeOptions are the options of every container of the run.
func (s *session) probeOptions(extra ...probe.Option) []probe.Option {
	cfg := s.run.cfg
	opts := []probe.Option{
		probe.WithRun(s.run.runID),
		probe.WithReadyPath(cfg.ReadyPath),
		probe.WithReadyTimeout(cfg.ReadyTimeout),
		probe.WithRequestTimeout(cfg.RequestTimeout),
	}
	if cfg.Port != 0 {
		opts = append(opts, probe.WithPort(cfg.Port))
	}
	if !cfg.Run.IsZero() {
		opts = append(opts, probe.WithRunConfig(cfg.Run))
	}
	return append(opts, extra...)
}

func (s *session) startOriginal(ctx context.Context) error {
	r := s.run
	if r.cfg.FromCorpus && s.spec != nil {
		r.skipPhases("the corpus's replays start the traced original", event.PhaseStart, event.PhaseTrace)
		return nil
	}
	r.startPhase(event.PhaseStart, "starting "+r.cfg.Image+s.companionNames())
	s.orig = verify.NewTarget(s.starter(s.image, true), s.targetOptions(s.image)...)
	if err := s.orig.Start(ctx); err != nil {
		r.endPhase(event.PhaseStart, "", err)
		return err
	}
	base := s.orig.BaseURL()
	r.ctr.update(func(p *event.Progress) { p.TargetURL = base })
	r.startPhase(event.PhaseTrace, "attaching coverage probes")
	if err := s.startCoverage(ctx); err != nil {
		r.endPhase(event.PhaseTrace, "", err)
		return err
	}
	base = s.orig.BaseURL() // another container when coverage needed a restart
	r.endPhase(event.PhaseTrace, s.rep.Trace.Coverage, nil)
	if s.spec == nil {
		sp, where, err := spec.DiscoverSpec(ctx, base, s.specOptions()...)
		if err != nil {
			r.endPhase(event.PhaseStart, "", err)
			if errors.Is(err, spec.ErrNotFound) {
				return fmt.Errorf("no spec given and none found on the target: %w", err)
			}
			return fmt.Errorf("no spec given and the target's own cannot be used: %w", err)
		}
		s.spec = sp
		s.noteSpec()
		r.logf(event.LevelInfo, "spec discovered at %s", where)
	}
	r.endPhase(event.PhaseStart, fmt.Sprintf("%s answers on %s (%d operations)", r.cfg.Image, base, len(s.spec.Operations)), nil)
	return nil
}

// Severities from least to most severe; --fail-on names one of them.
var Severities = []string{"low", "medium", "high", "critical"}

func severityRank(s string) int {
	for i, x := range Severities {
		if x == s {
			return i
		}
	}
	return -1
}

// findingsAtOrAbove counts findings at or above the severity threshold.
func findingsAtOrAbove(fs []report.Finding, threshold string) int {
	t := severityRank(threshold)
	if t < 0 {
		return 0
	}
	n := 0
	for _, f := range fs {
		if severityRank(f.Severity) >= t {
			n++
		}
	}
	return n
}
