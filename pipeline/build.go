package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/rebuild"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tracer"
)

// pseudoFS are mounted by the runtime, never part of an image.
var pseudoFS = []string{"/proc", "/sys", "/dev"}

// needsFromTrace turns what the container used into what the minimal image
// must hold. Failed lookups are not needs: the file did not exist.
func needsFromTrace(files []tracer.FileAccess, selectedDirs []string) []rebuild.Need {
	var needs []rebuild.Need
	for _, f := range files {
		if f.Errno != 0 || underAny(f.Path, pseudoFS) {
			continue
		}
		needs = append(needs, rebuild.Need{Path: f.Path, Reason: "traced:" + f.Kind.String()})
	}
	for _, d := range selectedDirs {
		needs = append(needs, rebuild.Need{Path: d, Reason: "input-selected", Whole: true})
	}
	return needs
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
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
	if err := s.target.Remove(ctx); err != nil {
		r.logf(event.LevelWarn, "%v", err)
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
	res, err := rebuild.Build(ctx, s.engine.Client(), r.cfg.Image, needsFromTrace(s.tracer.Files(), s.selected), opts...)
	if err != nil {
		r.endPhase(event.PhaseBuild, "", err)
		return fmt.Errorf("building the minimal image: %w", err)
	}
	s.minimal = res
	s.rep.Minimal = &report.ImageInfo{Ref: res.Tag, ID: res.ImageID, Size: res.Size, Files: len(res.Files)}
	if res.Size > 0 {
		s.rep.Ratio = float64(s.rep.Original.Size) / float64(res.Size)
	}
	s.rep.Files = s.rep.Files[:0]
	for _, f := range res.Files {
		s.rep.Files = append(s.rep.Files, report.File{Path: f.Path, Size: f.Size, Mode: f.Mode.String(), Linkname: f.Linkname, Reasons: f.Reasons})
	}
	if res.Archive != "" {
		s.rep.Outputs = append(s.rep.Outputs, "archive="+res.Archive)
	}
	for _, w := range res.Warnings {
		r.logf(event.LevelWarn, "rebuild: %s", w)
	}
	r.endPhase(event.PhaseBuild, fmt.Sprintf("%s: %s, %d files (%.1fx smaller)", res.Tag, humanSize(res.Size), len(res.Files), s.rep.Ratio), nil)
	return nil
}

// verify replays the corpus against two fresh containers of the original
// (to learn which answer fields are volatile) and one of the minimal image,
// and compares.
func (s *session) verify(ctx context.Context) error {
	r := s.run
	r.startPhase(event.PhaseVerify, fmt.Sprintf("replaying %d requests against %s", s.corpusRequests(), s.minimal.Tag))
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

func (s *session) corpusRequests() int {
	n := 0
	for _, seq := range s.corpus {
		n += len(seq)
	}
	return n
}

// replayOn starts a fresh container of img and replays the whole corpus.
func (s *session) replayOn(ctx context.Context, img *probe.Image) ([]corpus.Response, error) {
	t, err := s.startTarget(ctx, img, false)
	if t != nil {
		defer t.Remove(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s for the replay: %w", img.Ref, err)
	}
	var out []corpus.Response
	for _, seq := range s.corpus {
		resps, err := replay(ctx, t, seq)
		out = append(out, resps...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *session) replayAndCompare(ctx context.Context) (*report.Verification, error) {
	first, err := s.replayOn(ctx, s.image)
	if err != nil {
		return nil, err
	}
	second, err := s.replayOn(ctx, s.image)
	if err != nil {
		return nil, err
	}
	minImg, err := s.engine.Inspect(ctx, s.minimal.Tag)
	if err != nil {
		return nil, err
	}
	got, err := s.replayOn(ctx, minImg)
	if err != nil {
		return nil, err
	}
	var reqs []corpus.Request
	for _, seq := range s.corpus {
		reqs = append(reqs, seq...)
	}
	return compareRuns(reqs, first, got, learnVolatile(first, second), s.run.bus), nil
}
