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
	reference      string
	force          bool
	auth           []string
	runCfg         runConfigFlags
	compose        string
	service        string
}

// Values of --reference besides an image name.
const (
	referenceOriginal = "original"
	referenceStored   = "stored"
)

func newReplayCommand() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay CORPUS IMAGE",
		Short: "Replay a stored corpus against IMAGE and compare its answers with the original image's",
		Long: "replay starts IMAGE (as `run` does: default capabilities, port on 127.0.0.1), sends every\n" +
			"corpus entry in order, ids taken from this run's answers, and compares each answer with\n" +
			"the reference's. By default the reference is the original image the corpus was recorded\n" +
			"on (named in the corpus, a merge of shards included), replayed now on fresh containers:\n" +
			"like for like. --reference stored compares with the answers stored while fuzzing (a target\n" +
			"holding more state), --reference IMAGE with another image, --baseline FILE with a previous\n" +
			"replay's -o file. Each image is replayed --runs times on fresh containers to learn which\n" +
			"fields change by themselves (timestamps, generated ids); those are ignored. The spec is the\n" +
			"one the corpus records. A crashing entry restarts the container and the replay goes on;\n" +
			"answers are matched by entry and step, so the same crash noticed one request later is no\n" +
			"difference. Exit status 3 when answers differ.",
		Example: "  whittle replay corpus/ shop:1.4-whittled -o json=shop.json   # against the original, shop:1.4\n" +
			"  whittle replay corpus/ shop:1.5 --reference shop:1.4\n" +
			"  whittle replay corpus/ shop:1.5 --baseline shop.json",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], args[1], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.spec, "spec", "", "OpenAPI/Swagger spec, a `FILE` or an http(s) URL (default: the one the corpus records, else discovered on the target)")
	fl.StringVar(&f.basePath, "base-path", "", "`PATH` prefix of the API on the target (default: the recording run's, else from the spec)")
	fl.StringArrayVar(&f.headers, "header", nil, "`HEADER` sent with every request, e.g. 'Authorization: Bearer x' (repeatable)")
	fl.StringArrayVar(&f.auth, "auth", nil, "value of a security scheme of the spec, `SCHEME=VALUE` (repeatable)")
	fl.IntVar(&f.port, "port", 0, "container `PORT` the service listens on (default: the image's exposed port)")
	fl.StringVar(&f.readyPath, "ready-path", "/", "HTTP `PATH` polled until the target answers")
	fl.DurationVar(&f.readyTimeout, "ready-timeout", 60*time.Second, "how long to wait for the target to answer")
	fl.DurationVar(&f.requestTimeout, "request-timeout", 10*time.Second, "timeout of each request")
	inGroup(fl, groupTarget, "spec", "base-path", "header", "auth", "port", "ready-path", "ready-timeout", "request-timeout")
	f.runCfg.add(fl)
	fl.StringVar(&f.compose, "compose", "", "compose `FILE` of the service: IMAGE is started with the service's settings beside fresh companion services (with --service)")
	fl.StringVar(&f.service, "service", "", "the `SERVICE` of the --compose file IMAGE stands for")
	inGroup(fl, groupCompose, "compose", "service")
	fl.StringVar(&f.reference, "reference", "", "compare IMAGE's answers with `original|stored|IMAGE`: original (default) is the image the corpus was recorded on, replayed now; stored, the answers stored while fuzzing; or another IMAGE, replayed now")
	fl.StringVar(&f.baseline, "baseline", "", "compare with the answers of a previous replay, its -o `FILE`, instead")
	fl.IntVar(&f.runs, "runs", 2, "`N` replays of each image on fresh containers; 2 or more learn which fields change by themselves")
	fl.BoolVar(&f.force, "force", false, "replay although the spec is not the one the corpus was recorded for")
	inGroup(fl, groupCompare, "reference", "baseline", "runs", "force")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "write a report as `FORMAT=FILE`: json (the answers and the comparison; repeatable)")
	inGroup(fl, groupOutputs, "output")
	setGroupedHelp(cmd, helpFooter{exitCodes: []int{exitOK, exitError, exitDiverged, exitInterrupted}, needs: needsEngine,
		meanings: map[int]string{exitOK: "ok: IMAGE answered every request as the reference did", exitDiverged: "answers of IMAGE differ from the reference's"}})
	return cmd
}

func runReplay(ctx context.Context, stdout, stderr io.Writer, dir, image string, f *replayFlags) error {
	if f.runs < 1 {
		return fmt.Errorf("--runs %d: at least one replay is needed", f.runs)
	}
	if f.baseline != "" && f.reference != "" {
		return fmt.Errorf("--reference and --baseline both say what to compare with: give one of them")
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
	ref, err := f.referenceImage(ctx, eng, dir, st.Meta(), warn)
	if err != nil {
		return err
	}
	runID := fmt.Sprintf("replay-%d-%d", os.Getpid(), time.Now().UnixNano())
	starter := func(img *probe.Image) verify.StartFunc {
		if proj == nil {
			return verify.Container(eng, img, f.probeOptions(runID, rc)...)
		}
		return pipeline.WithCompanions(eng, proj, runID, rc, func(extra []probe.Option) verify.StartFunc {
			return verify.Container(eng, img, append(f.probeOptions(runID, rc), extra...)...)
		}, compose.WithTimeout(f.readyTimeout))
	}
	check := &verify.Check{
		Entries:  stored,
		Start:    starter(img),
		Runs:     f.runs,
		Baseline: base,
		Spec: func(ctx context.Context, baseURL string) (*spec.Spec, error) {
			return f.loadSpec(ctx, baseURL, st, warn)
		},
		OnRun: func(run, runs int, baseURL string, reference bool) {
			name := image
			if reference {
				name = "the reference " + ref.name
			}
			fmt.Fprintf(stderr, "replay %d/%d: %d entries against %s on %s\n", run, runs, len(stored), name, baseURL)
		},
		Options: []verify.Option{verify.WithName(image), verify.WithWarnings(func(err error) { warn("%v", err) })},
	}
	if ref.image != nil {
		check.Reference, check.ReferenceName = starter(ref.image), ref.name
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
	switch {
	case f.baseline != "":
		rep.Against = f.baseline
	case ref.image != nil:
		rep.Against, rep.Reference, rep.ReferenceID = ref.against, ref.name, ref.image.ID
	default:
		rep.Against = "corpus"
	}
	for _, o := range outs {
		if err := writeReplayReport(o.path, rep, sec); err != nil {
			return err
		}
	}
	printReplay(stdout, redactedReplay(rep, sec))
	if n := rep.Differences(); n > 0 {
		return &answersDiffer{fmt.Sprintf("%d of %d answers of %s differ from %s", n, rep.Summary.Requests+rep.Summary.NotSent, image, comparedWith(rep))}
	}
	return nil
}

// reference is the image whose answers a replay compares with (nil image:
// the stored answers or a baseline).
type reference struct {
	image   *probe.Image
	name    string // as the output says it
	against string // the report's "against": "original" or "image"
}

// referenceImage resolves --reference: by default the original image the
// corpus was recorded on, found by its id (the name may since point to
// another build).
func (f *replayFlags) referenceImage(ctx context.Context, eng *probe.Engine, dir string, meta corpus.Meta, warn func(string, ...any)) (reference, error) {
	switch f.reference {
	case referenceStored:
		return reference{}, nil
	case "", referenceOriginal:
		if f.baseline != "" {
			return reference{}, nil
		}
		if meta.ImageID == "" {
			if f.reference == referenceOriginal {
				return reference{}, fmt.Errorf("corpus %s does not record its original image (an older whittle wrote it): name one with --reference IMAGE, or compare with the stored answers: --reference stored", dir)
			}
			warn("corpus %s does not record its original image: comparing with the answers stored while fuzzing", dir)
			return reference{}, nil
		}
		name := originalImageName(meta)
		img, err := eng.Inspect(ctx, meta.ImageID)
		if errors.Is(err, probe.ErrImageNotFound) {
			return reference{}, fmt.Errorf("the original image of corpus %s, %s, is not in this engine: load it (docker load), name another with --reference IMAGE, or compare with the stored answers: --reference stored", dir, name)
		}
		if err != nil {
			return reference{}, err
		}
		return reference{image: img, name: "original " + name, against: referenceOriginal}, nil
	default:
		img, err := eng.Inspect(ctx, f.reference)
		if err != nil {
			return reference{}, fmt.Errorf("--reference: %w", err)
		}
		return reference{image: img, name: f.reference + " (" + short12(strings.TrimPrefix(img.ID, "sha256:")) + ")", against: "image"}, nil
	}
}

// originalImageName names a corpus's original image: as the user named it,
// with its short id.
func originalImageName(m corpus.Meta) string {
	id := short12(strings.TrimPrefix(m.ImageID, "sha256:"))
	if m.ImageRef == "" {
		return id
	}
	return m.ImageRef + " (" + id + ")"
}

// comparedWith says what a replay's answers were compared with.
func comparedWith(rep *verify.Report) string {
	switch rep.Against {
	case "corpus":
		return "the answers stored in the corpus"
	case referenceOriginal:
		return "those of the " + rep.Reference + ", replayed now"
	case "image":
		return "those of " + rep.Reference + ", replayed now"
	}
	return rep.Against
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

// loadSpec is the spec to replay with: --spec, else the one the corpus
// records, else the target's own (corpora of older versions); one that is
// not the corpus's is refused unless --force.
func (f *replayFlags) loadSpec(ctx context.Context, baseURL string, st *corpus.Store, warn func(string, ...any)) (*spec.Spec, error) {
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
	var sp *spec.Spec
	var err error
	switch {
	case f.spec != "":
		sp, err = spec.LoadSpec(ctx, f.spec, opts...)
	case st.SpecRecord() != nil:
		return pipeline.LoadCorpusSpec(ctx, st, opts...)
	default:
		sp, _, err = spec.DiscoverSpec(ctx, baseURL, opts...)
		if errors.Is(err, spec.ErrNotFound) {
			return nil, fmt.Errorf("no --spec given, corpus %s records only its spec's hash and none was found on the target: %w", st.Dir(), err)
		}
		if err != nil {
			return nil, fmt.Errorf("no --spec given, corpus %s records only its spec's hash and the target's own cannot be used: %w", st.Dir(), err)
		}
	}
	if err != nil {
		return nil, err
	}
	if h := st.Meta().SpecHash; h != sp.Hash {
		if !f.force {
			return nil, fmt.Errorf("%w: corpus %s was recorded for spec %s, %s is %s (pass --force to replay anyway)", corpus.ErrSpecMismatch, st.Dir(), h, sp.Source, sp.Hash)
		}
		warn("corpus recorded for spec %s, replaying with %s", h, sp.Hash)
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
	fmt.Fprintf(w, "replayed:  %d requests of %s against %s (%d runs)\n", s.Requests, rep.Corpus, rep.Image, rep.Runs)
	switch rep.Against {
	case referenceOriginal:
		fmt.Fprintf(w, "reference: the %s, the image the corpus was recorded on, replayed %d times now: like for like\n", rep.Reference, rep.Runs)
	case "image":
		fmt.Fprintf(w, "reference: %s, replayed %d times now\n", rep.Reference, rep.Runs)
	case "corpus":
		fmt.Fprintln(w, "reference: the answers stored in the corpus while fuzzing")
	default:
		fmt.Fprintf(w, "reference: the answers of a previous replay, %s\n", rep.Against)
	}
	notSent := ""
	if s.NotSent > 0 {
		notSent = fmt.Sprintf(", %d not sent (the replay took another path)", s.NotSent)
	}
	fmt.Fprintf(w, "compared:  %d identical, %d differ%s, %d with nothing recorded\n", s.Identical, s.Differ, notSent, s.Unrecorded)
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
			"           like-for-like comparison replay the original too: --reference original (the default\n"+
			"           when the corpus records it) or --reference IMAGE")
	}
}

func short12(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
