package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/compose"
	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/secrets"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/verify"
)

type replayFlags struct {
	spec           string
	basePath       string
	headers        []string
	port           int
	readyPath      string
	readyTimeout   time.Duration
	requestTimeout time.Duration
	runs           int
	outputs        []string
	baseline       string
	force          bool
	auth           []string
	runCfg         runConfigFlags
	compose        string
	service        string
}

func newReplayCommand() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay DIR IMAGE",
		Short: "Replay a stored corpus against IMAGE and compare the answers",
		Long: "replay starts IMAGE (as `run` does: default capabilities, port on 127.0.0.1), sends every\n" +
			"corpus entry in order, ids taken from this run's answers, and compares each answer with\n" +
			"the one stored in the corpus, or with a previous replay given with --baseline. With\n" +
			"--runs 2 (the default) it replays twice on fresh containers to learn which fields change\n" +
			"by themselves (timestamps, generated ids) and ignores them. A crashing entry restarts the\n" +
			"container and the replay goes on. Answers are matched by entry and step, as `run` verifies\n" +
			"a minimal image: the same crash noticed one request later is no difference. Exit status 3\n" +
			"when answers differ.",
		Example: "  whittle replay corpus/ shop:1.4 --spec openapi.yaml -o json=shop-1.4.json\n" +
			"  whittle replay corpus/ shop:1.5 --spec openapi.yaml --baseline shop-1.4.json",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], args[1], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.spec, "spec", "", "OpenAPI/Swagger spec: a file or an http(s) URL (default: discovered on the target)")
	fl.StringVar(&f.basePath, "base-path", "", "path prefix of the API on the target (default: from the spec)")
	fl.StringArrayVar(&f.headers, "header", nil, "header sent with every request, e.g. 'Authorization: Bearer x' (repeatable)")
	fl.IntVar(&f.port, "port", 0, "container port the service listens on (default: the image's exposed port)")
	fl.StringVar(&f.readyPath, "ready-path", "/", "HTTP path polled until the target answers")
	fl.DurationVar(&f.readyTimeout, "ready-timeout", 60*time.Second, "how long to wait for the target to answer")
	fl.DurationVar(&f.requestTimeout, "request-timeout", 10*time.Second, "timeout of each request")
	fl.IntVar(&f.runs, "runs", 2, "replays on fresh containers; 2 or more learn which fields change by themselves")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "write a report as FORMAT=FILE: json (the answers and the comparison; repeatable)")
	fl.StringVar(&f.baseline, "baseline", "", "compare with the answers of a previous replay (its -o file) instead of the stored ones")
	fl.BoolVar(&f.force, "force", false, "replay although the spec is not the one the corpus was recorded for")
	fl.StringArrayVar(&f.auth, "auth", nil, "value of a security scheme of the spec, SCHEME=VALUE (repeatable)")
	f.runCfg.add(fl)
	fl.StringVar(&f.compose, "compose", "", "compose file of the service: IMAGE is started with the service's settings beside fresh companion services (with --service)")
	fl.StringVar(&f.service, "service", "", "the service of the --compose file IMAGE stands for")
	return cmd
}

func runReplay(ctx context.Context, stdout, stderr io.Writer, dir, image string, f *replayFlags) error {
	if f.runs < 1 {
		return fmt.Errorf("--runs %d: at least one replay is needed", f.runs)
	}
	outs, err := parseOutputs(f.outputs, replayOutputFormats)
	if err != nil {
		return err
	}
	warn := func(format string, args ...any) { fmt.Fprintf(stderr, "warning: "+format+"\n", args...) }
	for _, a := range f.auth {
		if scheme, _, ok := strings.Cut(a, "="); !ok || scheme == "" {
			return fmt.Errorf("bad --auth %q: want SCHEME=VALUE with SCHEME a security scheme of the spec", a)
		}
	}
	if (f.compose == "") != (f.service == "") {
		return fmt.Errorf("--compose and --service go together: --compose FILE --service NAME")
	}
	rc, err := f.runCfg.build()
	if err != nil {
		return err
	}
	var proj *compose.Project
	if f.compose != "" {
		if proj, err = compose.Load(ctx, f.compose, f.service); err != nil {
			return err
		}
		for _, w := range proj.Warnings {
			warn("compose: %s", w)
		}
		rc = pipeline.MergeRunConfig(proj.Target.Run, rc)
		if f.port == 0 {
			f.port = proj.Target.Port
		}
	}
	sec := f.secrets(rc)
	if proj != nil {
		sec.AddSensitiveEnv(proj.Target.Run.Env)
		for _, d := range proj.Deps {
			sec.AddSensitiveEnv(d.Run.Env)
		}
	}
	st, err := corpus.Load(dir, corpus.WithSecrets(sec))
	if err != nil {
		return err
	}
	if missing := st.MissingSecrets(); len(missing) > 0 {
		return fmt.Errorf("corpus %s was recorded with values this replay was not given: %s (pass the same --header, --auth and --env values as the run that recorded it; they are never stored)", dir, strings.Join(missing, ", "))
	}
	for _, w := range st.Warnings() {
		warn("%s", w)
	}
	stored := st.Entries()
	if len(stored) == 0 {
		return fmt.Errorf("corpus %s holds no entries", dir)
	}
	var base *verify.Report
	if f.baseline != "" {
		if base, err = readBaseline(f.baseline, sec); err != nil {
			return err
		}
	}
	eng, err := probe.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	if removed, err := eng.RemoveLeftovers(ctx); !removed.Empty() {
		fmt.Fprintf(stderr, "removed %s left behind by an interrupted run\n", removed)
	} else if err != nil {
		warn("%v", err)
	}
	img, err := eng.Inspect(ctx, image)
	if err != nil {
		return err
	}
	runID := fmt.Sprintf("replay-%d-%d", os.Getpid(), time.Now().UnixNano())
	start := verify.Container(eng, img, f.probeOptions(runID, rc)...)
	if proj != nil {
		start = pipeline.WithCompanions(eng, proj, runID, rc, func(extra []probe.Option) verify.StartFunc {
			return verify.Container(eng, img, append(f.probeOptions(runID, rc), extra...)...)
		}, compose.WithTimeout(f.readyTimeout))
	}
	check := &verify.Check{
		Entries:  stored,
		Start:    start,
		Runs:     f.runs,
		Baseline: base,
		Spec: func(ctx context.Context, baseURL string) (*spec.Spec, error) {
			sp, err := f.loadSpec(ctx, baseURL)
			if err != nil {
				return nil, err
			}
			if h := st.Meta().SpecHash; h != sp.Hash {
				if !f.force {
					return nil, fmt.Errorf("%w: corpus %s was recorded for spec %s, %s is %s (pass --force to replay anyway)", corpus.ErrSpecMismatch, dir, h, sp.Source, sp.Hash)
				}
				warn("corpus recorded for spec %s, replaying with %s", h, sp.Hash)
			}
			return sp, nil
		},
		OnRun: func(run, runs int, baseURL string) {
			fmt.Fprintf(stderr, "replay %d/%d: %d entries against %s on %s\n", run, runs, len(stored), image, baseURL)
		},
		Options: []verify.Option{verify.WithName(image), verify.WithWarnings(func(err error) { warn("%v", err) })},
	}
	rep, err := check.Run(ctx)
	if err != nil {
		if errors.Is(err, corpus.ErrSpecMismatch) {
			return err
		}
		return fmt.Errorf("replaying %s: %w", dir, err)
	}
	for _, w := range rep.Warnings {
		warn("%s", w)
	}
	rep.Corpus, rep.Image, rep.ImageID = dir, image, img.ID
	rep.Against = "corpus"
	if f.baseline != "" {
		rep.Against = f.baseline
	}
	for _, o := range outs {
		if err := writeReplayReport(o.path, rep, sec); err != nil {
			return err
		}
	}
	printReplay(stdout, redactedReplay(rep, sec))
	if n := rep.Differences(); n > 0 {
		against := "the stored answers"
		if f.baseline != "" {
			against = f.baseline
		}
		return &answersDiffer{fmt.Sprintf("%d of %d answers of %s differ from %s", n, rep.Summary.Requests+rep.Summary.NotSent, image, against)}
	}
	return nil
}

// answersDiffer is a replay whose answers differ: exit status 3, as a
// minimal image that diverged.
type answersDiffer struct{ msg string }

func (e *answersDiffer) Error() string        { return e.msg }
func (e *answersDiffer) Is(target error) bool { return target == pipeline.ErrDiverged }

// secrets are the values given to the replay: stored as placeholders in
// the corpus, never written by the replay either.
func (f *replayFlags) secrets(rc probe.RunConfig) *secrets.Set {
	s := &secrets.Set{}
	s.AddEnv(rc.Env)
	for _, h := range f.headers {
		s.AddHeaderLine(h)
	}
	for _, a := range f.auth {
		s.AddAuth(a)
	}
	return s
}

func (f *replayFlags) probeOptions(runID string, rc probe.RunConfig) []probe.Option {
	opts := []probe.Option{
		probe.WithRunConfig(rc),
		probe.WithRun(runID),
		probe.WithReadyPath(f.readyPath),
		probe.WithReadyTimeout(f.readyTimeout),
		probe.WithRequestTimeout(f.requestTimeout),
	}
	if f.port != 0 {
		opts = append(opts, probe.WithPort(f.port))
	}
	return opts
}

func (f *replayFlags) loadSpec(ctx context.Context, baseURL string) (*spec.Spec, error) {
	var opts []spec.SpecOption
	if f.basePath != "" {
		opts = append(opts, spec.WithBasePath(f.basePath))
	}
	for _, h := range f.headers {
		opts = append(opts, spec.WithHeaderLine(h))
	}
	for _, a := range f.auth {
		scheme, value, _ := strings.Cut(a, "=")
		opts = append(opts, spec.WithSchemeValue(scheme, value))
	}
	if f.spec != "" {
		return spec.LoadSpec(ctx, f.spec, opts...)
	}
	sp, _, err := spec.DiscoverSpec(ctx, baseURL, opts...)
	if err != nil {
		if errors.Is(err, spec.ErrNotFound) {
			return nil, fmt.Errorf("no --spec given and none found on the target: %w", err)
		}
		return nil, fmt.Errorf("no --spec given and the target's own cannot be used: %w", err)
	}
	return sp, nil
}

func readBaseline(path string, sec *secrets.Set) (*verify.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the baseline: %w", err)
	}
	var rep verify.Report
	if err := json.Unmarshal(sec.RestoreJSON(data), &rep); err != nil {
		return nil, fmt.Errorf("reading the baseline %s: %w (want the -o file of `whittle replay`)", path, err)
	}
	return &rep, nil
}

// writeReplayReport writes rep with placeholders for the replay's secrets
// (readBaseline puts them back).
func writeReplayReport(path string, rep *verify.Report, sec *secrets.Set) error {
	var buf bytes.Buffer
	if err := encodeIndented(&buf, redactedReplay(rep, sec)); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return writeOutput(path, buf.Bytes())
}

// redactedReplay is rep with placeholders for the secrets, for writing and
// printing.
func redactedReplay(rep *verify.Report, sec *secrets.Set) *verify.Report {
	if sec.Empty() {
		return rep
	}
	data, err := json.Marshal(rep)
	if err != nil {
		return rep
	}
	var out verify.Report
	if err := json.Unmarshal(sec.RedactJSON(data), &out); err != nil {
		return &verify.Report{Corpus: rep.Corpus, Image: rep.Image, Warnings: []string{"the report could not be redacted"}}
	}
	return &out
}

func printReplay(w io.Writer, rep *verify.Report) {
	s := rep.Summary
	against := "the answers stored in the corpus"
	if rep.Against != "corpus" {
		against = rep.Against
	}
	fmt.Fprintf(w, "replayed:  %d requests of %s against %s (%d runs)\n", s.Requests, rep.Corpus, rep.Image, rep.Runs)
	notSent := ""
	if s.NotSent > 0 {
		notSent = fmt.Sprintf(", %d not sent (the replay took another path)", s.NotSent)
	}
	fmt.Fprintf(w, "compared:  with %s: %d identical, %d differ%s, %d with nothing recorded\n", against, s.Identical, s.Differ, notSent, s.Unrecorded)
	if s.Crashes > 0 {
		fmt.Fprintf(w, "crashes:   %d (the container was restarted each time)\n", s.Crashes)
	}
	shown := 0
	for _, a := range rep.Answers {
		if a.Match != verify.Differs && a.Match != verify.NotSent {
			continue
		}
		if shown == 10 {
			fmt.Fprintf(w, "  ... %d more (see -o)\n", rep.Differences()-shown)
			break
		}
		shown++
		fmt.Fprintf(w, "  %s #%d %s %s: %s\n", short12(a.EntryID), a.Step, a.Request.Method, a.Request.Path, a.Reason)
	}
	if rep.Differences() > 0 && rep.Against == "corpus" {
		fmt.Fprintln(w, "note:      stored answers were recorded while fuzzing, on a target holding more state; for a\n"+
			"           like-for-like comparison replay the original with -o and pass that file as --baseline")
	}
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
