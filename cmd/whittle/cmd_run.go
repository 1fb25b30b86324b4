package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/rebuild"
	"github.com/whittle-dev/whittle/report"
)

type runFlags struct {
	cfg     pipeline.Config
	auto    bool
	outputs []string
}

func newRunCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run IMAGE",
		Short: "Trace and fuzz IMAGE, build its minimal image and verify it",
		Example: "  whittle run shop:1.4 --spec openapi.yaml --auto -o json=report.json\n" +
			"  whittle run pets:latest            # spec discovered at /openapi.json etc.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.cfg.Image = args[0]
			for _, a := range f.cfg.Auth {
				if scheme, _, ok := strings.Cut(a, "="); !ok || scheme == "" {
					return fmt.Errorf("bad --auth %q: want SCHEME=VALUE with SCHEME a security scheme of the spec", a)
				}
			}
			for _, h := range f.cfg.WithoutHeuristics {
				if !slices.Contains(rebuild.AllHeuristics, rebuild.Heuristic(h)) {
					return fmt.Errorf("unknown heuristic %q in --without-heuristic: use one of %s", h, heuristicNames())
				}
			}
			if f.cfg.FailOn != "" && !slices.Contains(pipeline.Severities, f.cfg.FailOn) {
				return fmt.Errorf("bad --fail-on %q: use one of %s", f.cfg.FailOn, strings.Join(pipeline.Severities, ", "))
			}
			outs, err := parseOutputs(f.outputs, runOutputFormats)
			if err != nil {
				return err
			}
			return runPipeline(cmd, &f, outs)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.Spec, "spec", "", "OpenAPI/Swagger spec: a file or an http(s) URL (default: discovered on the target)")
	fl.StringVar(&f.cfg.BasePath, "base-path", "", "path prefix of the API on the target (default: from the spec's servers/basePath)")
	fl.StringArrayVar(&f.cfg.Headers, "header", nil, "header sent with every request, e.g. 'Authorization: Bearer x' (repeatable)")
	fl.StringArrayVar(&f.cfg.Auth, "auth", nil, "value of a security scheme of the spec, SCHEME=VALUE: a token, an API key, or user:password (repeatable)")
	fl.BoolVar(&f.auto, "auto", false, "headless: no TUI, progress lines on stderr (also when CI=true or no terminal)")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "write a report: json=FILE, junit=FILE, sarif=FILE, seccomp=FILE (repeatable)")
	fl.StringVar(&f.cfg.Tag, "tag", "", "tag of the minimal image (default IMAGE-whittled)")
	fl.Int64Var(&f.cfg.Seed, "seed", 0, "random seed; the same seed and answers give the same run (default: random, reported)")
	fl.DurationVar(&f.cfg.Duration, "duration", 30*time.Second, "fuzzing time budget")
	fl.Int64Var(&f.cfg.MaxRequests, "max-requests", 0, "stop fuzzing after this many requests (0: no limit)")
	fl.DurationVar(&f.cfg.Plateau, "plateau", 0, "stop fuzzing when nothing new was found for this long (0: never)")
	fl.BoolVar(&f.cfg.KeepState, "keep-state", false, "keep what the run creates and never restart a target that slows down (default: delete the oldest resources beyond 32 of a kind, restart when latency keeps growing)")
	fl.BoolVar(&f.cfg.Once, "once", false, "send each operation once instead of fuzzing (what simple minifiers do; a baseline to compare with)")
	fl.StringVar(&f.cfg.CorpusDir, "corpus", "", "keep the corpus in this directory and resume from what it holds")
	fl.StringVar(&f.cfg.FailOn, "fail-on", "", "exit with code 2 when findings of this severity or higher exist: "+strings.Join(pipeline.Severities, ", "))
	fl.IntVar(&f.cfg.Port, "port", 0, "container port the service listens on (default: the image's exposed port)")
	fl.StringVar(&f.cfg.ReadyPath, "ready-path", "/", "HTTP path polled until the target answers")
	fl.DurationVar(&f.cfg.ReadyTimeout, "ready-timeout", 60*time.Second, "how long to wait for the target to answer")
	fl.DurationVar(&f.cfg.RequestTimeout, "request-timeout", 10*time.Second, "timeout of each request")
	fl.StringArrayVar(&f.cfg.Include, "include", nil, "also keep this path or glob in the minimal image (repeatable)")
	fl.StringArrayVar(&f.cfg.Exclude, "exclude", nil, "never keep paths matching this glob (repeatable)")
	fl.BoolVar(&f.cfg.KeepShell, "keep-shell", false, "keep a shell and basic tools in the minimal image for debugging")
	fl.StringArrayVar(&f.cfg.WithoutHeuristics, "without-heuristic", nil, "switch off a rebuild heuristic: "+heuristicNames()+" (repeatable)")
	fl.StringVar(&f.cfg.CoverBinary, "cover-binary", "", "file in the image whose code is covered (default: the container's main process)")
	fl.StringArrayVar(&f.cfg.CoverPatterns, "cover", nil, "coverage scope: Go package or symbol globs, Python file globs, Java packages (default: the application's own code; repeatable)")
	fl.StringVar(&f.cfg.OutputDir, "output-dir", "", "also write the minimal image as a docker-archive tarball, an OCI layout, why.json and seccomp.json into this directory")
	return cmd
}

func runPipeline(cmd *cobra.Command, f *runFlags, outs []output) error {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	bus := event.NewBus()
	p := pipeline.New(f.cfg, bus)

	var rep *report.Report
	var runErr error
	if interactive(f.auto, cmd.OutOrStdout(), stderr) {
		wrote := false
		rep, runErr = runInteractive(ctx, p, bus, cmd.InOrStdin(), cmd.OutOrStdout(),
			withAfterRun(func(r *report.Report, _ error) error {
				wrote = true
				return writeOutputs(r, outs)
			}))
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
	}
	return runErr
}

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
	fmt.Fprintf(w, "requests:  %d to %d operations, %d findings\n", r.Fuzz.Requests, len(r.Fuzz.Operations), len(r.Fuzz.Findings))
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
