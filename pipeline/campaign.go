package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/report"
)

// planShard decides what this run fuzzes and returns its fuzzing seed: the
// campaign's seed for a whole campaign, the shard's own for a shard.
func (s *session) planShard() int64 {
	cfg := s.run.cfg
	if cfg.Shard.IsZero() {
		return cfg.Seed
	}
	plan := PlanShard(s.spec, cfg.Shard, !cfg.KeepState)
	s.shard = &plan
	seed := ShardSeed(cfg.Seed, cfg.Shard.Index)
	s.rep.Fuzz.Shard = &report.Shard{Index: cfg.Shard.Index, Count: cfg.Shard.Count, Seed: seed, Operations: plan.Own, Support: plan.Support}
	s.run.logf(event.LevelInfo, "shard %s of the campaign with seed %d: fuzzing %d of %d operations with seed %d (%s), and %d more that they need (%s)",
		cfg.Shard, cfg.Seed, len(plan.Own), len(s.spec.Operations), seed, listSome(plan.Own, 6), len(plan.Support), listSome(plan.Support, 6))
	return seed
}

// fuzzSpec is the spec the fuzzer is given: the shard's part of it, or all.
func (s *session) fuzzSpec() *spec.Spec {
	if s.shard != nil {
		return s.shard.Spec
	}
	return s.spec
}

func (s *session) shardNote() string {
	if s.shard == nil {
		return ""
	}
	return fmt.Sprintf(", shard %s", s.shard.Shard)
}

// openCorpus opens the run's corpus for writing, recording the spec's
// documents, the original image's name and the shard, so that the corpus
// (or a merge of shards) replays and builds with nothing else.
func (s *session) openCorpus(ctx context.Context) (*corpus.Store, error) {
	r := s.run
	cfg := r.cfg
	opts := []corpus.OpenOption{corpus.WithSecrets(r.secrets), corpus.WithImageRef(s.image.Ref)}
	if !cfg.Shard.IsZero() {
		opts = append(opts, corpus.WithShard(corpus.Shard{Index: cfg.Shard.Index, Count: cfg.Shard.Count, CampaignSeed: cfg.Seed}))
	}
	st, err := corpus.Open(cfg.CorpusDir, corpus.Key{SpecHash: s.spec.Hash, ImageID: s.image.ID}, opts...)
	if err != nil {
		return nil, fmt.Errorf("opening the corpus %s: %w", cfg.CorpusDir, err)
	}
	for _, w := range st.Warnings() {
		r.logf(event.LevelWarn, "corpus: %s", w)
	}
	if n := st.Len(); n > 0 {
		r.logf(event.LevelInfo, "resuming from %d corpus entries in %s", n, cfg.CorpusDir)
	}
	if st.SpecRecord() == nil {
		s.recordSpec(ctx, st)
	}
	return st, nil
}

// recordSpec keeps the spec's documents in the corpus; a spec that cannot
// be read back as it was loaded is only logged: the corpus still records
// its hash, and replaying it then needs the spec.
func (s *session) recordSpec(ctx context.Context, st *corpus.Store) {
	cfg := s.run.cfg
	var basePath *string
	if cfg.BasePath != "" {
		basePath = &cfg.BasePath
	}
	files, err := specFiles(ctx, s.spec, basePath, cfg.Spec != "")
	if err == nil {
		err = st.PutSpec(*files)
	}
	if err != nil {
		why := err.Error()
		if errors.Is(err, errSpecChanged) {
			why = errSpecChanged.Error()
		}
		s.run.logf(event.LevelWarn, "the corpus records the spec's hash only (%s): replaying it will need the spec", strings.TrimSpace(why))
	}
}

// keepSelections records the input-selected directories in the corpus: a
// build from it (a merge of shards) keeps them whole too.
func (s *session) keepSelections(st *corpus.Store) {
	if st == nil || len(s.rep.Fuzz.SelectedDirs) == 0 {
		return
	}
	var sel []corpus.Selection
	for _, d := range s.rep.Fuzz.SelectedDirs {
		sel = append(sel, corpus.Selection{Dir: d.Dir, Operation: d.Operation, Parameter: d.Parameter, Names: d.Names})
	}
	if err := st.AddSelections(sel); err != nil {
		s.run.logf(event.LevelWarn, "corpus: %v", err)
	}
}

// skipPhases tells the interfaces that phases do not happen in this run,
// and why.
func (r *Run) skipPhases(why string, phases ...event.Phase) {
	for _, p := range phases {
		r.bus.Publish(event.PhaseFinished{Stamp: event.Now(), Phase: p, Detail: "skipped: " + why})
	}
}
