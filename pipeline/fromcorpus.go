package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/internal/remedy"
	"github.com/whittle-dev/whittle/report"
)

// A build from a corpus (Config.FromCorpus) fuzzes nothing: the corpus —
// typically the merge of a campaign's shards — is replayed on the traced
// original (the reference replays), and the minimal image is built from
// what that used and verified against the same replays.

// FixSameSecrets is the remedy of a corpus recorded with values the run
// was not given.
const FixSameSecrets = "give the same header, credential and environment values as the run that recorded it; they are never stored"

// openSourceCorpus reads the corpus to build from, checks it can be
// replayed as recorded, and loads the spec it records unless one was
// given (which must then be the same).
func (s *session) openSourceCorpus(ctx context.Context) error {
	r := s.run
	st, err := corpus.Load(r.cfg.CorpusDir, corpus.WithSecrets(r.secrets))
	if err != nil {
		return err
	}
	if st.Len() == 0 {
		return remedy.New(fmt.Errorf("corpus %s holds no entries", r.cfg.CorpusDir), corpus.FixOtherCorpus)
	}
	if missing := st.MissingSecrets(); len(missing) > 0 {
		return remedy.New(fmt.Errorf("corpus %s was recorded with values this run was not given: %s", r.cfg.CorpusDir, strings.Join(missing, ", ")), FixSameSecrets)
	}
	for _, w := range st.Warnings() {
		r.logf(event.LevelWarn, "corpus: %s", w)
	}
	s.source = st
	meta := st.Meta()
	if s.spec != nil {
		if s.spec.Hash != meta.SpecHash {
			return remedy.New(fmt.Errorf("%w: corpus %s was recorded for spec %s, %s is %s", corpus.ErrSpecMismatch, r.cfg.CorpusDir, meta.SpecHash, s.spec.Source, s.spec.Hash), corpus.FixGiveSpec)
		}
		return nil
	}
	if st.SpecRecord() == nil {
		r.logf(event.LevelWarn, "corpus %s records only its spec's hash: the spec is discovered on the target", r.cfg.CorpusDir)
		return nil
	}
	if s.spec, err = LoadCorpusSpec(ctx, st, s.specOptions()...); err != nil {
		return err
	}
	s.noteSpec()
	r.logf(event.LevelInfo, "spec recorded in the corpus (first read from %s)", st.SpecRecord().Source)
	return nil
}

// exerciseCorpus takes the corpus's entries, findings and input-selected
// directories as the run's own.
func (s *session) exerciseCorpus(ctx context.Context) error {
	r := s.run
	st := s.source
	s.rep.Fuzz.Strategy = "corpus"
	r.startPhase(event.PhaseFuzz, fmt.Sprintf("no fuzzing: %d entries of corpus %s", st.Len(), r.cfg.CorpusDir))
	if meta := st.Meta(); meta.ImageID != "" && meta.ImageID != s.image.ID {
		r.logf(event.LevelWarn, "corpus %s was recorded on %s, not on %s: the minimal image is built from %s and verified against its own answers",
			r.cfg.CorpusDir, originalName(meta), shortImageID(s.image.ID), r.cfg.Image)
	}
	entries, warns := fuzz.EntriesFromCorpus(st.Entries())
	for _, w := range warns {
		r.logf(event.LevelWarn, "corpus: %s", w)
	}
	s.entries = entries
	findings, warns := fuzz.FindingsFromCorpus(st.Findings())
	for _, w := range warns {
		r.logf(event.LevelWarn, "corpus: %s", w)
	}
	fuzz.SortFindings(findings)
	s.rep.Fuzz.Findings = s.rep.Fuzz.Findings[:0]
	for _, f := range findings {
		s.rep.Fuzz.Findings = append(s.rep.Fuzz.Findings, s.findingReport(f))
	}
	for _, sel := range st.Selections() {
		s.rep.Fuzz.SelectedDirs = append(s.rep.Fuzz.SelectedDirs, report.Selection{Dir: sel.Dir, Operation: sel.Operation, Parameter: sel.Parameter, Names: sel.Names})
	}
	s.rep.Fuzz.CorpusSize = len(entries)
	r.ctr.update(func(p *event.Progress) { p.CorpusSize, p.Findings = len(entries), len(findings) })
	s.rep.Fuzz.StopReason = "built from a corpus"
	for _, op := range s.spec.Operations {
		s.rep.Fuzz.Operations = append(s.rep.Fuzz.Operations, report.Operation{Operation: op.ID})
	}
	r.endPhase(event.PhaseFuzz, fmt.Sprintf("%d corpus entries, %d findings, %d input-selected directories", len(entries), len(findings), len(s.rep.Fuzz.SelectedDirs)), ctx.Err())
	return ctx.Err()
}

// originalName is the original image of a corpus as the user knows it:
// its name and short id.
func originalName(m corpus.Meta) string {
	if m.ImageRef == "" {
		return shortImageID(m.ImageID)
	}
	return m.ImageRef + " (" + shortImageID(m.ImageID) + ")"
}
