package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/probe"
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
			"container and the replay goes on. Exit status 3 when answers differ.",
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
	return cmd
}

// replayReport is the -o file of `whittle replay`; --baseline reads it back.
type replayReport struct {
	Corpus   string         `json:"corpus"`
	Image    string         `json:"image"`
	ImageID  string         `json:"image_id"`
	SpecHash string         `json:"spec_hash"`
	Runs     int            `json:"runs"`
	Against  string         `json:"against"` // "corpus" or the baseline file
	Summary  replaySummary  `json:"summary"`
	Answers  []replayAnswer `json:"answers"`
	Warnings []string       `json:"warnings,omitempty"`
}

type replaySummary struct {
	Requests   int `json:"requests"`
	Identical  int `json:"identical"`
	Differ     int `json:"differ"`
	Unrecorded int `json:"unrecorded"`
	Crashes    int `json:"crashes"`
}

type replayAnswer struct {
	EntryID  string          `json:"entry_id"`
	Entry    int             `json:"entry"`
	Step     int             `json:"step"`
	Request  corpus.Request  `json:"request"`
	Response corpus.Response `json:"response"`
	Crash    string          `json:"crash,omitempty"`
	Volatile corpus.Volatile `json:"volatile"`
	// Match is "identical", "differs" or "unrecorded" (nothing to compare with).
	Match  string `json:"match"`
	Reason string `json:"reason,omitempty"`
}

func runReplay(ctx context.Context, stdout, stderr io.Writer, dir, image string, f *replayFlags) error {
	if f.runs < 1 {
		return fmt.Errorf("--runs %d: at least one replay is needed", f.runs)
	}
	outs, err := parseOutputs(f.outputs, replayOutputFormats)
	if err != nil {
		return err
	}
	st, err := corpus.Load(dir)
	if err != nil {
		return err
	}
	warn := func(format string, args ...any) { fmt.Fprintf(stderr, "warning: "+format+"\n", args...) }
	for _, w := range st.Warnings() {
		warn("%s", w)
	}
	stored := st.Entries()
	if len(stored) == 0 {
		return fmt.Errorf("corpus %s holds no entries", dir)
	}
	var base map[string]replayAnswer
	if f.baseline != "" {
		if base, err = readBaseline(f.baseline); err != nil {
			return err
		}
	}
	eng, err := probe.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	img, err := eng.Inspect(ctx, image)
	if err != nil {
		return err
	}
	if removed, err := eng.RemoveLeftovers(ctx); err == nil && len(removed) > 0 {
		fmt.Fprintf(stderr, "removed %d container(s) left behind by an interrupted run\n", len(removed))
	}
	t := &replayTarget{eng: eng, img: img, opts: f.probeOptions()}
	defer t.remove(ctx)

	var sp *spec.Spec
	var runs [][]fuzz.Exchange
	var warns []string
	for i := 0; i < f.runs; i++ {
		if err := t.launch(ctx); err != nil {
			return err
		}
		if sp == nil {
			if sp, err = f.loadSpec(ctx, t.cur.BaseURL); err != nil {
				return err
			}
			if h := st.Meta().SpecHash; h != sp.Hash {
				if !f.force {
					return fmt.Errorf("%w: corpus %s was recorded for spec %s, %s is %s (pass --force to replay anyway)", corpus.ErrSpecMismatch, dir, h, sp.Source, sp.Hash)
				}
				warn("corpus recorded for spec %s, replaying with %s", h, sp.Hash)
			}
		}
		fmt.Fprintf(stderr, "replay %d/%d: %d entries against %s on %s\n", i+1, f.runs, len(stored), image, t.cur.BaseURL)
		x, w, err := fuzz.ReplayEntries(ctx, sp, t, stored, fuzz.WithTarget(t))
		if i == 0 {
			warns = w
		}
		if err != nil {
			return fmt.Errorf("replaying %s: %w", dir, err)
		}
		runs = append(runs, x)
		t.remove(ctx)
	}
	for _, w := range warns {
		warn("%s", w)
	}
	rep := compareReplay(stored, runs, base)
	rep.Corpus, rep.Image, rep.ImageID, rep.SpecHash, rep.Runs, rep.Warnings = dir, image, img.ID, sp.Hash, f.runs, warns
	rep.Against = "corpus"
	if f.baseline != "" {
		rep.Against = f.baseline
	}
	for _, o := range outs {
		if err := writeReplayReport(o.path, rep); err != nil {
			return err
		}
	}
	printReplay(stdout, rep)
	if rep.Summary.Differ > 0 {
		against := "the stored answers"
		if f.baseline != "" {
			against = f.baseline
		}
		return &answersDiffer{fmt.Sprintf("%d of %d answers of %s differ from %s", rep.Summary.Differ, rep.Summary.Requests, image, against)}
	}
	return nil
}

// answersDiffer is a replay whose answers differ: exit status 3, as a
// minimal image that diverged.
type answersDiffer struct{ msg string }

func (e *answersDiffer) Error() string        { return e.msg }
func (e *answersDiffer) Is(target error) bool { return target == pipeline.ErrDiverged }

func (f *replayFlags) probeOptions() []probe.Option {
	opts := []probe.Option{
		probe.WithRun(fmt.Sprintf("replay-%d-%d", os.Getpid(), time.Now().UnixNano())),
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

// compareReplay lines the first run's answers up with what they are
// compared to (the baseline's, or the ones stored with the entries) and
// masks what changed between the runs.
func compareReplay(stored []corpus.Entry, runs [][]fuzz.Exchange, base map[string]replayAnswer) *replayReport {
	rep := &replayReport{}
	first := runs[0]
	for i, x := range first {
		a := replayAnswer{Entry: x.Entry, Step: x.Step, Request: x.Request, Response: x.Response, Crash: x.Crash}
		if x.Entry < len(stored) {
			a.EntryID = stored[x.Entry].ID
		}
		for _, other := range runs[1:] {
			if i < len(other) && other[i].Entry == x.Entry && other[i].Step == x.Step {
				a.Volatile.Merge(corpus.LearnVolatile(x.Response, other[i].Response))
			} else {
				a.Volatile.Merge(corpus.Volatile{Status: true, Body: true}) // the runs took different paths
			}
		}
		var want *corpus.Response
		if base != nil {
			if b, ok := base[answerKey(a.EntryID, a.Step)]; ok {
				want = &b.Response
				a.Volatile.Merge(b.Volatile)
			}
		} else if x.Entry < len(stored) && x.Step < len(stored[x.Entry].Responses) {
			want = &stored[x.Entry].Responses[x.Step]
		}
		switch ok, why := false, ""; {
		case want == nil:
			a.Match = "unrecorded"
			rep.Summary.Unrecorded++
		default:
			if ok, why = corpus.Equivalent(*want, x.Response, a.Volatile); ok {
				a.Match = "identical"
				rep.Summary.Identical++
			} else {
				a.Match, a.Reason = "differs", why
				rep.Summary.Differ++
			}
		}
		if x.Crash != "" {
			rep.Summary.Crashes++
		}
		rep.Answers = append(rep.Answers, a)
	}
	rep.Summary.Requests = len(first)
	return rep
}

func answerKey(entryID string, step int) string { return fmt.Sprintf("%s/%d", entryID, step) }

func readBaseline(path string) (map[string]replayAnswer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the baseline: %w", err)
	}
	var rep replayReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("reading the baseline %s: %w (want the -o file of `whittle replay`)", path, err)
	}
	out := make(map[string]replayAnswer, len(rep.Answers))
	for _, a := range rep.Answers {
		out[answerKey(a.EntryID, a.Step)] = a
	}
	return out, nil
}

func writeReplayReport(path string, rep *replayReport) error {
	var buf bytes.Buffer
	if err := encodeIndented(&buf, rep); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return writeOutput(path, buf.Bytes())
}

func printReplay(w io.Writer, rep *replayReport) {
	s := rep.Summary
	against := "the answers stored in the corpus"
	if rep.Against != "corpus" {
		against = rep.Against
	}
	fmt.Fprintf(w, "replayed:  %d requests of %s against %s (%d runs)\n", s.Requests, rep.Corpus, rep.Image, rep.Runs)
	fmt.Fprintf(w, "compared:  with %s: %d identical, %d differ, %d with nothing recorded\n", against, s.Identical, s.Differ, s.Unrecorded)
	if s.Crashes > 0 {
		fmt.Fprintf(w, "crashes:   %d (the container was restarted each time)\n", s.Crashes)
	}
	shown := 0
	for _, a := range rep.Answers {
		if a.Match != "differs" {
			continue
		}
		if shown == 10 {
			fmt.Fprintf(w, "  ... %d more (see -o)\n", s.Differ-shown)
			break
		}
		shown++
		fmt.Fprintf(w, "  %s #%d %s %s: %s\n", short12(a.EntryID), a.Step, a.Request.Method, a.Request.Path, a.Reason)
	}
	if s.Differ > 0 && rep.Against == "corpus" {
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

// replayTarget runs IMAGE with probe, restarts it when it dies, and is the
// Sender and TargetHealth of a replay.
type replayTarget struct {
	eng  *probe.Engine
	img  *probe.Image
	opts []probe.Option
	cur  *probe.Target
}

func (t *replayTarget) launch(ctx context.Context) error {
	c, err := t.eng.Create(ctx, t.img, t.opts...)
	if err != nil {
		return err
	}
	t.cur = c
	if err := c.Start(ctx); err != nil {
		return err
	}
	return c.WaitReady(ctx)
}

func (t *replayTarget) remove(ctx context.Context) {
	if t.cur != nil {
		_ = t.cur.Remove(ctx)
		t.cur = nil
	}
}

// Send implements fuzz.Sender.
func (t *replayTarget) Send(ctx context.Context, req corpus.Request) corpus.Response {
	if t.cur == nil {
		return corpus.Response{Err: "no target running"}
	}
	return t.cur.Send(ctx, req)
}

// Crashed implements fuzz.TargetHealth.
func (t *replayTarget) Crashed() (bool, string) {
	if t.cur != nil && t.cur.Exited() {
		return true, fmt.Sprintf("exited with status %d", t.cur.ExitCode())
	}
	return false, ""
}

// Restart implements fuzz.TargetHealth.
func (t *replayTarget) Restart(ctx context.Context) error {
	t.remove(ctx)
	if err := t.launch(ctx); err != nil {
		return fmt.Errorf("restarting %s: %w", t.img.Ref, err)
	}
	return nil
}
