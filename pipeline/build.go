package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/crawl"
	"github.com/whittle-dev/whittle/internal/imagepath"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/rebuild"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/seccomp"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/verify"
)

// needsFromTrace turns what the container used into what the minimal image
// must hold. Failed lookups are not needs: the file did not exist.
// A file that a linked path's request used is kept "linked from GET /" too.
func needsFromTrace(files []tracer.FileAccess, selected []report.Selection, linked []report.Linked) []rebuild.Need {
	var needs []rebuild.Need
	used := map[string]bool{}
	for _, f := range files {
		if f.Errno != 0 || imagepath.UnderAny(f.Path, imagepath.PseudoFS) {
			continue
		}
		used[f.Path] = true
		needs = append(needs, rebuild.Need{Path: f.Path, Reason: "traced:" + f.Kind.String()})
	}
	for _, l := range linked {
		if used[l.Path] {
			needs = append(needs, rebuild.Need{Path: l.Path, Reason: crawl.Reason(l.From)})
		}
	}
	for _, sel := range selected {
		reason := "input-selected"
		if sel.Operation != "" {
			reason += fmt.Sprintf(":%s param %s", sel.Operation, sel.Parameter)
		}
		if sel.Names != "" {
			reason += ", names " + sel.Names
		}
		needs = append(needs, rebuild.Need{Path: sel.Dir, Reason: reason, Whole: true})
	}
	return needs
}

func (s *session) recordTrace() {
	files := s.tracer.Files()
	st := s.tracer.Stats()
	s.rep.Trace.Events, s.rep.Trace.Lost = st.Events, st.Lost
	s.rep.Trace.Files, s.rep.Trace.FailedLookups = 0, 0
	for _, f := range files {
		if f.Errno != 0 {
			s.rep.Trace.FailedLookups++
		} else {
			s.rep.Trace.Files++
		}
	}
	s.rep.Trace.Syscalls = s.rep.Trace.Syscalls[:0]
	for _, sc := range s.tracer.Syscalls() {
		s.rep.Trace.Syscalls = append(s.rep.Trace.Syscalls, sc.Name)
	}
	sort.Strings(s.rep.Trace.Syscalls)
	if st.Lost > 0 {
		s.run.logf(event.LevelWarn, "tracer lost %d events (ring buffer full): the file set may be incomplete", st.Lost)
	}
}

func (s *session) build(ctx context.Context) error {
	r := s.run
	r.startPhase(event.PhaseBuild, "minimal image of "+r.cfg.Image)
	if err := s.tracer.Sync(ctx); err != nil {
		r.endPhase(event.PhaseBuild, "", err)
		return fmt.Errorf("flushing the trace: %w", err)
	}
	s.recordTrace()
	// The original container is no longer needed; the trace is complete.
	if s.orig != nil {
		s.orig.Close(ctx)
	}
	fsys, err := s.imageFS.wait(ctx)
	if err != nil {
		r.endPhase(event.PhaseBuild, "", err)
		return err
	}
	opts := []rebuild.Option{
		rebuild.WithImageFS(fsys),
		rebuild.WithKeepShell(r.cfg.KeepShell),
		rebuild.WithEvents(r.bus),
		rebuild.WithSyscalls(s.rep.Trace.Syscalls),
	}
	if r.cfg.Tag != "" {
		opts = append(opts, rebuild.WithTag(r.cfg.Tag))
	}
	if len(r.cfg.Include) > 0 {
		opts = append(opts, rebuild.WithInclude(r.cfg.Include...))
	}
	if len(r.cfg.Exclude) > 0 {
		opts = append(opts, rebuild.WithExclude(r.cfg.Exclude...))
	}
	if r.cfg.OutputDir != "" {
		opts = append(opts, rebuild.WithOutputDir(r.cfg.OutputDir))
	}
	for _, h := range r.cfg.WithoutHeuristics {
		opts = append(opts, rebuild.WithoutHeuristics(rebuild.Heuristic(h)))
	}
	if rc := r.cfg.Run; !rc.IsZero() {
		opts = append(opts, rebuild.WithRunConfig(rebuild.RunConfig{
			Entrypoint: rc.Entrypoint, Cmd: rc.Cmd, User: rc.User, WorkingDir: rc.WorkingDir,
			Env: rc.Env, Mounts: rc.MountTargets(),
		}, r.cfg.BakeRunConfig))
	}
	res, err := rebuild.Build(ctx, s.engine.Client(), r.cfg.Image, needsFromTrace(s.tracer.Files(), s.rep.Fuzz.SelectedDirs, s.rep.Fuzz.Linked), opts...)
	if err != nil {
		r.endPhase(event.PhaseBuild, "", err)
		return fmt.Errorf("building the minimal image: %w", err)
	}
	s.minimal = res
	s.noteRunConfig(res)
	files := 0
	for _, f := range res.Files {
		if !f.Mode.IsDir() {
			files++
		}
	}
	s.rep.Minimal = &report.ImageInfo{Ref: res.Tag, ID: res.ImageID, Size: res.Size, Files: files}
	if res.Size > 0 {
		s.rep.Ratio = float64(s.rep.Original.Size) / float64(res.Size)
	}
	s.rep.Files = s.rep.Files[:0]
	for _, f := range res.Files {
		s.rep.Files = append(s.rep.Files, report.File{Path: f.Path, Size: f.Size, Mode: f.Mode.String(), Linkname: f.Linkname, Reasons: f.Reasons})
	}
	s.rep.Reasons = map[string]int64{}
	for kind, t := range res.Totals {
		s.rep.Reasons[kind] = t.Bytes
	}
	for _, o := range []struct{ kind, path string }{{"archive", res.Archive}, {"oci", res.Layout}, {"seccomp", res.Seccomp}} {
		if o.path != "" {
			s.rep.Outputs = append(s.rep.Outputs, o.kind+"="+o.path)
		}
	}
	if res.Replaced != "" {
		r.logf(event.LevelInfo, "removed the previous minimal image %s", shortImageID(res.Replaced))
	}
	for _, w := range res.Warnings {
		r.logf(event.LevelWarn, "rebuild: %s", w)
	}
	r.endPhase(event.PhaseBuild, fmt.Sprintf("%s: %s, %d files (%.1fx smaller)", res.Tag, report.HumanBytes(res.Size), files, s.rep.Ratio), nil)
	return nil
}

// buildAndVerify records the original's answers to the corpus, builds the
// minimal image and replays the corpus against it.
func (s *session) buildAndVerify(ctx context.Context) error {
	if err := s.reference(ctx); err != nil {
		return err
	}
	if err := s.build(ctx); err != nil {
		return err
	}
	if err := s.verify(ctx); err != nil {
		return err
	}
	if v := s.rep.Verification; v != nil && v.Result != "identical" {
		return fmt.Errorf("%w: %d of %d answers differ (see the report's divergences)", ErrDiverged, len(v.Divergences), v.Total)
	}
	return nil
}

// reference replays the corpus twice on fresh containers of the original,
// the first one traced: the answers the minimal image must give, and what in
// them changes from run to run anyway (volatile fields).
func (s *session) reference(ctx context.Context) error {
	r := s.run
	r.bus.Publish(event.Step{Stamp: event.Now(), Phase: event.PhaseFuzz, Name: fmt.Sprintf("recording reference answers (%d corpus entries)", len(s.entries))})
	want, err := s.replayCorpus(ctx, s.image, true)
	if err != nil {
		return fmt.Errorf("replaying the corpus on the original: %w", err)
	}
	second, err := s.replayCorpus(ctx, s.image, false)
	if err != nil {
		return fmt.Errorf("replaying the corpus on the original: %w", err)
	}
	s.ref = &verify.Reference{Answers: want, Volatile: verify.LearnVolatility(want, second)}
	return nil
}

// replayCorpus replays every corpus entry in order on fresh containers of
// img, restarting one when an entry crashes it.
func (s *session) replayCorpus(ctx context.Context, img *probe.Image, traced bool, opts ...probe.Option) ([]fuzz.Exchange, error) {
	return verify.Replay(ctx, s.spec, s.entries, s.starter(img, traced, opts...), s.targetOptions(img)...)
}

// verify replays the corpus against the minimal image and compares.
func (s *session) verify(ctx context.Context) error {
	r := s.run
	r.startPhase(event.PhaseVerify, fmt.Sprintf("replaying %d requests against %s", len(s.ref.Answers), s.minimal.Tag))
	v, err := s.replayAndCompare(ctx)
	if err != nil {
		s.rep.Verification = &report.Verification{Result: "error", Error: err.Error()}
		r.endPhase(event.PhaseVerify, "", err)
		return err
	}
	s.rep.Verification = v
	r.endPhase(event.PhaseVerify, fmt.Sprintf("%d/%d identical", v.Identical, v.Total), nil)
	return nil
}

func (s *session) replayAndCompare(ctx context.Context) (*report.Verification, error) {
	minImg, err := s.engine.Inspect(ctx, s.minimal.Tag)
	if err != nil {
		return nil, err
	}
	// The minimal image is meant to run under its seccomp profile, so it is
	// verified that way; if that fails, a second replay without the profile
	// tells a too-strict profile from a broken image.
	profile, dropped := seccomp.Generate(s.rep.Trace.Syscalls)
	if len(dropped) > 0 {
		s.run.logf(event.LevelWarn, "seccomp profile: left out unknown syscalls %s", strings.Join(dropped, ", "))
	}
	profileJSON, err := profile.JSON()
	if err != nil {
		return nil, fmt.Errorf("encoding the seccomp profile: %w", err)
	}
	got, err := s.replayCorpus(ctx, minImg, false, probe.WithSeccompProfile(profileJSON))
	seccompProblem := ""
	if err == nil {
		v := s.ref.Verification(got)
		if v.Result == "identical" {
			v.Seccomp = "identical under the generated profile"
			return v, nil
		}
		d := v.Divergences[0]
		seccompProblem = fmt.Sprintf("diverged under the generated profile (%d answers; first: %s %s: %s)", len(v.Divergences), d.Operation, d.Request, d.Reason)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		seccompProblem = "failed under the generated profile: " + firstLine(err.Error())
	}
	got, err = s.replayCorpus(ctx, minImg, false)
	if err != nil {
		return nil, err
	}
	v := s.ref.Verification(got)
	if v.Result == "identical" {
		v.Seccomp = seccompProblem
		s.run.logf(event.LevelWarn, "the minimal image works, but %s: run it without --security-opt seccomp=... or report a bug", seccompProblem)
	} else {
		v.Seccomp = "not checked: the image diverges without the profile too"
	}
	s.publishDivergences(v)
	return v, nil
}

func (s *session) publishDivergences(v *report.Verification) {
	sec := s.run.secrets
	for _, d := range v.Divergences {
		s.run.bus.Publish(event.Divergence{Stamp: event.Now(), Operation: d.Operation, Request: sec.Redact(d.Request),
			Original: sec.Redact(d.Original), Minimal: sec.Redact(d.Minimal)})
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
