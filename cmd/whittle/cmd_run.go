package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/internal/secrets"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/rebuild"
	"github.com/whittle-dev/whittle/report"
)

type runFlags struct {
	cfg     pipeline.Config
	auto    bool
	outputs []string
	runCfg  runConfigFlags
	shard   string
	// capacityPath is --measure-capacity's (run only).
	capacityPath string
	// coverPathMap rewrites source paths in -o lcov/cobertura.
	coverPathMap []string
}

func newRunCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run IMAGE",
		Short: "Trace and fuzz IMAGE, build its minimal image and verify it",
		Example: "  whittle run shop:1.4 --spec openapi.yaml --auto -o json=report.json\n" +
			"  whittle run pets:latest            # spec discovered at /openapi.json etc.\n" +
			"  whittle run shop:ci --auto --seed 7 --shard 2/4 --fuzz-only --corpus shard-2   # one job of four",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				f.cfg.Image = args[0]
			}
			if f.cfg.Image == "" && f.cfg.Compose == "" {
				return fmt.Errorf("no image given: name IMAGE, or a compose file and its service with --compose FILE --service NAME")
			}
			if err := f.checkCampaign(cmd.Flags()); err != nil {
				return err
			}
			return f.execute(cmd)
		},
	}
	fl := cmd.Flags()
	f.addTargetFlags(fl)
	f.addComposeFlags(fl)
	fl.StringArrayVar(&f.cfg.Drivers, "driver", nil, "host `COMMAND` run while fuzzing, e.g. 'pytest tests/e2e'; WHITTLE_TARGET_URL points it at the target (repeatable; what it sends joins the corpus)")
	inGroup(fl, groupCompose, "driver")
	f.addBudgetFlags(fl)
	// A bench hook (scripts/bench.sh concur), not a user's option: hidden.
	fl.StringVar(&f.capacityPath, "measure-capacity", "", "before fuzzing, measure what the traced target takes on request `PATH` (its cheapest 2xx operation, e.g. /health): keep-alive GETs as fast as it answers, 8 connections for 10 s then 1 for 5 s; the report's fuzz.capacity sets executions/s against it")
	inGroup(fl, groupBudget, "measure-capacity")
	_ = fl.MarkHidden("measure-capacity")
	fl.StringArrayVar(&f.cfg.CoverPatterns, "cover", nil, "coverage scope `PATTERN`: Go package or symbol globs, Python or JavaScript file globs, Java packages, or none for files only (default: the application's own code; repeatable)")
	fl.StringVar(&f.cfg.CoverBinary, "cover-binary", "", "`FILE` in the image whose code is covered (default: the container's main process)")
	addCoverPathMapFlag(fl, &f.coverPathMap)
	inGroup(fl, groupCoverage, "cover", "cover-binary", "cover-path-map")
	f.addImageFlags(fl)
	f.addOutputFlags(fl)
	setGroupedHelp(cmd, helpFooter{exitCodes: []int{exitOK, exitError, exitFindings, exitDiverged, exitInterrupted}, needs: needsTracing})
	return cmd
}

// addTargetFlags: what the target is and how it is reached and started
// (run and build).
func (f *runFlags) addTargetFlags(fl *pflag.FlagSet) {
	fl.StringVar(&f.cfg.Spec, "spec", "", "OpenAPI/Swagger spec, a `FILE` or an http(s) URL (default: discovered on the target)")
	fl.StringVar(&f.cfg.BasePath, "base-path", "", "`PATH` prefix of the API on the target (default: from the spec's servers/basePath)")
	fl.StringArrayVar(&f.cfg.Headers, "header", nil, "`HEADER` sent with every request, e.g. 'Authorization: Bearer x' (repeatable)")
	fl.StringArrayVar(&f.cfg.Auth, "auth", nil, "value of a security scheme of the spec, `SCHEME=VALUE`: a token, an API key, or user:password (repeatable)")
	fl.IntVar(&f.cfg.Port, "port", 0, "container `PORT` the service listens on (default: the image's exposed port)")
	fl.StringVar(&f.cfg.ReadyPath, "ready-path", "/", "HTTP `PATH` polled until the target answers")
	fl.DurationVar(&f.cfg.ReadyTimeout, "ready-timeout", 60*time.Second, "how long to wait for the target to answer")
	fl.DurationVar(&f.cfg.RequestTimeout, "request-timeout", 10*time.Second, "timeout of each request")
	inGroup(fl, groupTarget, "spec", "base-path", "header", "auth", "port", "ready-path", "ready-timeout", "request-timeout")
	f.runCfg.add(fl)
}

func (f *runFlags) addComposeFlags(fl *pflag.FlagSet) {
	fl.StringVar(&f.cfg.Compose, "compose", "", "compose `FILE` holding the target service and the services it depends on (with --service; IMAGE then defaults to the service's image)")
	fl.StringVar(&f.cfg.Service, "service", "", "the `SERVICE` of the --compose file to whittle")
	inGroup(fl, groupCompose, "compose", "service")
}

func (f *runFlags) addBudgetFlags(fl *pflag.FlagSet) {
	fl.DurationVar(&f.cfg.Duration, "duration", 30*time.Second, "fuzzing time budget")
	fl.Int64Var(&f.cfg.MaxRequests, "max-requests", 0, "stop fuzzing after `N` requests (0: no limit)")
	fl.DurationVar(&f.cfg.Plateau, "plateau", 0, "stop fuzzing when nothing new was found for this long (0: never)")
	fl.IntVar(&f.cfg.Workers, "workers", 0, "`N` sequences in flight at once; 0 adapts from 1 up to 16 to what the target takes, one at a time while new coverage comes; 1 sends one request at a time")
	fl.Int64Var(&f.cfg.Seed, "seed", 0, "random seed `N`: it fixes what each worker generates; with --workers 1 the same seed and answers give the same run (default: random, reported)")
	fl.BoolVar(&f.cfg.Once, "once", false, "send each operation once instead of fuzzing (what simple minifiers do; a baseline to compare with)")
	fl.BoolVar(&f.cfg.KeepState, "keep-state", false, "keep what the run creates and never restart a target that slows down (default: delete the oldest resources beyond 32 of a kind, restart when latency keeps growing)")
	fl.StringVar(&f.cfg.CorpusDir, "corpus", "", "keep the corpus in this `DIR` and resume from what it holds (it records the spec and the image: replay and build need nothing else)")
	fl.StringVar(&f.shard, "shard", "", "fuzz shard `i/n` of a campaign split across jobs, e.g. 2/4: its own part of the operations with a seed derived from --seed (give every job the same --seed)")
	fl.BoolVar(&f.cfg.FuzzOnly, "fuzz-only", false, "stop after fuzzing: the --corpus is the result (a shard's; merge the shards' corpora, then whittle build)")
	inGroup(fl, groupBudget, "duration", "max-requests", "plateau", "workers", "seed", "once", "keep-state", "corpus", "shard", "fuzz-only")
}

func (f *runFlags) addImageFlags(fl *pflag.FlagSet) {
	fl.StringVar(&f.cfg.Tag, "tag", "", "`TAG` of the minimal image (default IMAGE-whittled)")
	fl.StringArrayVar(&f.cfg.Include, "include", nil, "also keep this `PATH` or glob in the minimal image (repeatable)")
	fl.StringArrayVar(&f.cfg.Exclude, "exclude", nil, "never keep paths matching this `GLOB` (repeatable)")
	fl.BoolVar(&f.cfg.KeepShell, "keep-shell", false, "keep a shell and basic tools in the minimal image for debugging")
	fl.StringArrayVar(&f.cfg.WithoutHeuristics, "without-heuristic", nil, "switch off the rebuild heuristic `NAME`: "+heuristicNames()+" (repeatable)")
	fl.BoolVar(&f.cfg.BakeRunConfig, "bake-run-config", false, "write --env/--env-file, --entrypoint, --cmd, --user and --workdir into the minimal image's config (default: it keeps the original image's config)")
	inGroup(fl, groupImage, "tag", "include", "exclude", "keep-shell", "without-heuristic", "bake-run-config")
}

func (f *runFlags) addOutputFlags(fl *pflag.FlagSet) {
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "write a report, `FORMAT=FILE`: json=FILE, junit=FILE, sarif=FILE, seccomp=FILE, lcov=FILE, cobertura=FILE (repeatable)")
	fl.StringVar(&f.cfg.OutputDir, "output-dir", "", "also write the minimal image as a docker-archive tarball, an OCI layout, why.json and seccomp.json into this `DIR`")
	fl.BoolVar(&f.auto, "auto", false, "headless: no TUI, progress lines on stderr (also when CI=true or no terminal)")
	fl.StringVar(&f.cfg.FailOn, "fail-on", "", "exit with code 2 when findings of this `SEVERITY` or higher exist: "+strings.Join(pipeline.Severities, ", "))
	inGroup(fl, groupOutputs, "output", "output-dir", "auto", "fail-on")
}

// execute checks the flags and runs the pipeline.
func (f *runFlags) execute(cmd *cobra.Command) error {
	outs, err := f.check()
	if err != nil {
		return err
	}
	return runPipeline(cmd, f, outs)
}

// check validates what run and build share and returns the outputs.
func (f *runFlags) check() ([]output, error) {
	if (f.cfg.Compose == "") != (f.cfg.Service == "") {
		return nil, fmt.Errorf("--compose and --service go together: --compose FILE --service NAME")
	}
	rc, err := f.runCfg.build()
	if err != nil {
		return nil, err
	}
	f.cfg.Run = rc
	if err := checkDrivers(f.cfg.Drivers); err != nil {
		return nil, err
	}
	for _, a := range f.cfg.Auth {
		if scheme, _, ok := strings.Cut(a, "="); !ok || scheme == "" {
			return nil, fmt.Errorf("bad --auth %q: want SCHEME=VALUE with SCHEME a security scheme of the spec", a)
		}
	}
	for _, h := range f.cfg.WithoutHeuristics {
		if !slices.Contains(rebuild.AllHeuristics, rebuild.Heuristic(h)) {
			return nil, fmt.Errorf("unknown heuristic %q in --without-heuristic: use one of %s", h, heuristicNames())
		}
	}
	switch {
	case f.cfg.Workers < 0:
		return nil, fmt.Errorf("bad --workers %d: want N ≥ 1 sequences in flight, or 0 to adapt", f.cfg.Workers)
	case f.cfg.Workers == 0:
		f.cfg.Workers = pipeline.AdaptiveWorkers
	}
	if f.capacityPath != "" {
		if err := pipeline.CheckCapacityPath(f.capacityPath); err != nil {
			return nil, fmt.Errorf("bad --measure-capacity %w", err)
		}
		f.cfg.Capacity = &pipeline.CapacityProbe{Path: f.capacityPath}
	}
	if f.cfg.FailOn != "" && !slices.Contains(pipeline.Severities, f.cfg.FailOn) {
		return nil, fmt.Errorf("bad --fail-on %q: use one of %s", f.cfg.FailOn, strings.Join(pipeline.Severities, ", "))
	}
	outs, err := parseOutputs(f.outputs, runOutputFormats)
	if err != nil {
		return nil, err
	}
	return withCoverPathMap(outs, f.coverPathMap)
}

// checkCampaign reads --shard and checks the flags a campaign's jobs need.
func (f *runFlags) checkCampaign(fl *pflag.FlagSet) error {
	if f.shard != "" {
		sh, err := pipeline.ParseShard(f.shard)
		var se *pipeline.ShardError
		if errors.As(err, &se) {
			return fmt.Errorf("bad --shard %q: %s", se.Input, se.Problem)
		}
		if err != nil {
			return err
		}
		if !fl.Changed("seed") || f.cfg.Seed == 0 {
			return fmt.Errorf("--shard %s splits one campaign across jobs: give every job the same --seed N (not 0), so that the shards share the campaign's seed", sh)
		}
		f.cfg.Shard = sh
	}
	if f.cfg.FuzzOnly && f.cfg.CorpusDir == "" {
		return fmt.Errorf("--fuzz-only keeps nothing but the corpus: add --corpus DIR")
	}
	return nil
}

func runPipeline(cmd *cobra.Command, f *runFlags, outs []output) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	bus := event.NewBus()
	p := pipeline.New(f.cfg, bus)

	var rep *report.Report
	var runErr error
	// Everything written or printed holds placeholders, not the values
	// the user gave (--env, --env-file, --header, --auth).
	redacted := func(r *report.Report) *report.Report { return report.Redacted(r, p.Secrets()) }
	if interactive(f.auto, cmd.OutOrStdout(), stderr) {
		wrote := false
		rep, runErr = runInteractive(ctx, p, bus, cmd.InOrStdin(), cmd.OutOrStdout(),
			withAfterRun(func(r *report.Report, _ error) error {
				wrote = true
				return writeOutputs(redacted(r), outs)
			}))
		rep = redacted(rep)
		if rep != nil && !wrote {
			if err := writeOutputs(rep, outs); err != nil && runErr == nil {
				runErr = err
			}
		}
	} else {
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer panics.Catch(string(faults.ProgressPrinter), nil)
			printProgress(ctx, stderr, bus, p.Progress, noColor())
		}()
		rep, runErr = p.Execute(ctx)
		rep = redacted(rep)
		bus.Close()
		<-done
		if rep != nil {
			if err := writeOutputs(rep, outs); err != nil && runErr == nil {
				runErr = err
			}
		}
	}
	// A run that failed before sending anything has nothing to summarise:
	// the error line says it all.
	if rep != nil && (rep.Fuzz.Requests > 0 || rep.Minimal != nil) {
		printSummary(cmd.OutOrStdout(), rep)
		if f.cfg.FuzzOnly && runErr == nil {
			fmt.Fprintf(cmd.OutOrStdout(), "corpus:    %s (no image built: merge the shards' corpora with whittle corpus merge, then whittle build)\n", f.cfg.CorpusDir)
		}
	}
	if runErr != nil && !p.Secrets().Empty() {
		runErr = redactedError{runErr, p.Secrets()}
	}
	return runErr
}

// redactedError says err with placeholders for the run's secrets (the
// error line goes to CI logs as much as the reports do); errors.Is and As
// still see err.
type redactedError struct {
	err error
	set *secrets.Set
}

func (e redactedError) Error() string { return e.set.Redact(e.err.Error()) }
func (e redactedError) Unwrap() error { return e.err }

// interactive decides between the TUI and headless progress lines: the TUI
// only for a person at a terminal.
func interactive(auto bool, stdout, stderr io.Writer) bool {
	if auto || os.Getenv("CI") == "true" {
		return false
	}
	return isTerminal(stdout) && isTerminal(stderr)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func heuristicNames() string {
	var names []string
	for _, h := range rebuild.AllHeuristics {
		names = append(names, string(h))
	}
	return strings.Join(names, ", ")
}

func noColor() bool {
	_, set := os.LookupEnv("NO_COLOR")
	return set
}

func printSummary(w io.Writer, r *report.Report) {
	fmt.Fprintf(w, "original:  %s  %s\n", r.Original.Ref, report.HumanBytes(r.Original.Size))
	if r.Minimal != nil {
		fmt.Fprintf(w, "minimal:   %s  %s  (%d files)\n", r.Minimal.Ref, report.HumanBytes(r.Minimal.Size), r.Minimal.Files)
		fmt.Fprintf(w, "ratio:     %.1fx smaller\n", r.Ratio)
	}
	switch {
	case r.Fuzz.Strategy == "corpus":
		fmt.Fprintf(w, "corpus:    %d entries replayed (no fuzzing), %d findings\n", r.Fuzz.CorpusSize, len(r.Fuzz.Findings))
	default:
		fmt.Fprintf(w, "requests:  %d to %d operations, %d findings\n", r.Fuzz.Requests, len(r.Fuzz.Operations), len(r.Fuzz.Findings))
	}
	if sh := r.Fuzz.Shard; sh != nil {
		fmt.Fprintf(w, "shard:     %d/%d of the campaign with seed %d: its %d operations with seed %d (+%d they need)\n", sh.Index, sh.Count, r.Fuzz.Seed, len(sh.Operations), sh.Seed, len(sh.Support))
	}
	if v := r.Verification; v != nil {
		switch v.Result {
		case "identical":
			fmt.Fprintf(w, "verified: %d/%d identical\n", v.Identical, v.Total)
		case "diverged":
			fmt.Fprintf(w, "verified: %d/%d identical, %d DIVERGED\n", v.Identical, v.Total, len(v.Divergences))
			for i, d := range v.Divergences {
				if i == 5 {
					fmt.Fprintf(w, "  ... %d more in the JSON report\n", len(v.Divergences)-5)
					break
				}
				fmt.Fprintf(w, "  %s %s: %s\n", d.Operation, d.Request, d.Reason)
			}
		default:
			fmt.Fprintf(w, "verified: not completed: %s\n", v.Error)
		}
	}
	for _, o := range r.Outputs {
		fmt.Fprintf(w, "wrote:     %s\n", o)
	}
}
