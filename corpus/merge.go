package corpus

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/whittle-dev/whittle/internal/remedy"
)

// Remedies of Merge's refusals, in this package's words.
const (
	FixForceMerge = "merge them anyway only if the specs are compatible (force)"
	FixOneImage   = "build the image once and load that same image in every job, or merge them anyway (force: the first corpus's image stays the original)"
)

// MergeOptions configures Merge.
type MergeOptions struct {
	// Force merges corpora recorded for different specs or made on
	// different images; the output keeps the first one's spec and image.
	Force bool
	// DescribeSpecs, when set, says how two recorded specs differ (given
	// the paths of their root documents), for the refusal's message.
	DescribeSpecs func(a, b string) string
}

// MergeResult says what Merge did.
type MergeResult struct {
	Sources    int `json:"sources"`
	Read       int `json:"read"`
	Added      int `json:"added"`
	Duplicates int `json:"duplicates"`
	Findings   int `json:"findings_added"`
	// Coverage counts the sources whose code coverage was merged.
	Coverage int `json:"coverage_merged,omitempty"`
	// Shards are the campaign shards the merge holds ("1/4").
	Shards []string `json:"shards,omitempty"`
	// Warnings name skipped files, mixed keys and missing shards, one line each.
	Warnings []string `json:"warnings,omitempty"`
}

// Merge combines the corpora in dirs into out (created when absent; its own
// entries are kept), deduplicating entries by content and findings by id.
// Entries keep their relative order: out's own first, then each source's
// in the order given. The spec's documents, the original image and the
// input-selected directories travel with the entries, so the merge
// replays and builds like each source. Corpora of different specs, or made
// on different images, are refused unless opts.Force.
func Merge(out string, dirs []string, opts MergeOptions) (*MergeResult, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merging corpora: no source directory given")
	}
	res := &MergeResult{}
	sources, err := loadSources(out, dirs, res)
	if err != nil {
		return nil, err
	}
	first := sources[0].Meta()
	key, ref := first.Key, first.ImageRef
	if existing, err := readMeta(out); err == nil {
		key, ref = existing.Key, existing.ImageRef
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("merging corpora into %s: %w", out, err)
	}
	if err := checkSpecs(key, sources, opts); err != nil {
		return nil, err
	}
	if err := checkImages(out, key, ref, sources, opts); err != nil {
		return nil, err
	}
	dst, err := Open(out, key, WithAnySpec(), WithImageRef(ref))
	if err != nil {
		return nil, fmt.Errorf("merging corpora: %w", err)
	}
	defer dst.Close()
	for _, w := range dst.Warnings() {
		res.Warnings = append(res.Warnings, out+": "+w)
	}
	for _, s := range sources {
		res.Sources++
		if err := mergeEntries(dst, s, res); err != nil {
			return res, err
		}
		if err := mergeFindings(dst, s, res); err != nil {
			return res, err
		}
		if err := mergeSpec(dst, s, res); err != nil {
			return res, err
		}
		if err := dst.AddSelections(s.Selections()); err != nil {
			return res, fmt.Errorf("merging %s: %w", s.Dir(), err)
		}
		if merged, err := dst.mergeCoverage(s); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: coverage not merged: %v", s.Dir(), err))
		} else if merged {
			res.Coverage++
		}
		if err := dst.noteSource(s.Meta()); err != nil {
			return res, err
		}
	}
	shards := dst.shards()
	for _, sh := range shards {
		res.Shards = append(res.Shards, sh.String())
	}
	res.Warnings = append(res.Warnings, shardGaps(shards)...)
	return res, nil
}

// loadSources reads every source corpus (not out itself: its entries are
// kept anyway).
func loadSources(out string, dirs []string, res *MergeResult) ([]*Store, error) {
	var sources []*Store
	for _, d := range dirs {
		if same, _ := sameDir(d, out); same {
			continue
		}
		s, err := Load(d)
		if err != nil {
			return nil, fmt.Errorf("merging corpora: %w", err)
		}
		for _, w := range s.Warnings() {
			res.Warnings = append(res.Warnings, d+": "+w)
		}
		sources = append(sources, s)
	}
	if len(sources) == 0 {
		return nil, errors.New("merging corpora: the only source is the output")
	}
	return sources, nil
}

// checkSpecs refuses sources recorded for another spec than key's, saying
// how the first such spec differs when it can.
func checkSpecs(key Key, sources []*Store, opts MergeOptions) error {
	if opts.Force {
		return nil
	}
	var base, other *Store
	for _, s := range sources {
		switch {
		case s.Meta().SpecHash == key.SpecHash && base == nil:
			base = s
		case s.Meta().SpecHash != key.SpecHash && other == nil:
			other = s
		}
	}
	if other == nil {
		return nil
	}
	var names []string
	for _, s := range sources {
		names = append(names, fmt.Sprintf("%s (%s)", s.Dir(), short(s.Meta().SpecHash)))
	}
	how := ""
	if base != nil && opts.DescribeSpecs != nil {
		a, errA := base.SpecFile()
		b, errB := other.SpecFile()
		if errA == nil && errB == nil {
			if d := opts.DescribeSpecs(a, b); d != "" {
				how = "; " + other.Dir() + " against " + base.Dir() + ": " + d
			}
		}
	}
	return remedy.New(fmt.Errorf("%w: the corpora were recorded for different specs: %s%s",
		ErrSpecMismatch, strings.Join(names, ", "), how), FixForceMerge)
}

// checkImages refuses sources made on another image than key's: a merged
// corpus replays against one original.
func checkImages(out string, key Key, ref string, sources []*Store, opts MergeOptions) error {
	if opts.Force || key.ImageID == "" {
		return nil
	}
	for _, s := range sources {
		m := s.Meta()
		if m.ImageID == "" || m.ImageID == key.ImageID {
			continue
		}
		first := out
		for _, o := range sources {
			if o.Meta().ImageID == key.ImageID {
				first = o.Dir()
				break
			}
		}
		same := ""
		if ref != "" && ref == m.ImageRef {
			same = " (the same name built twice?)"
		}
		return remedy.New(fmt.Errorf("%w: %s was made on %s, %s on %s%s",
			ErrImageMismatch, first, imageName(ref, key.ImageID), s.Dir(), imageName(m.ImageRef, m.ImageID), same), FixOneImage)
	}
	return nil
}

func imageName(ref, id string) string {
	if ref == "" {
		return short(id)
	}
	return ref + " " + short(id)
}

func mergeEntries(dst, s *Store, res *MergeResult) error {
	for _, e := range s.Entries() {
		res.Read++
		_, added, err := dst.Put(e)
		if err != nil {
			return fmt.Errorf("merging %s: %w", s.Dir(), err)
		}
		if added {
			res.Added++
		} else {
			res.Duplicates++
		}
	}
	return nil
}

func mergeFindings(dst, s *Store, res *MergeResult) error {
	have := map[string]bool{}
	for _, f := range dst.Findings() {
		have[f.ID] = true
	}
	for _, f := range s.Findings() {
		if have[f.ID] {
			continue
		}
		if err := dst.PutFinding(f); err != nil {
			return fmt.Errorf("merging %s: %w", s.Dir(), err)
		}
		res.Findings++
	}
	return nil
}

// mergeSpec gives dst the spec's documents of the first source recording
// them (of dst's own spec).
func mergeSpec(dst, s *Store, res *MergeResult) error {
	if dst.SpecRecord() != nil || s.SpecRecord() == nil || s.Meta().SpecHash != dst.Meta().SpecHash {
		return nil
	}
	f, err := s.SpecFiles()
	if err != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: its spec is not copied: %v", s.Dir(), err))
		return nil
	}
	if err := dst.PutSpec(*f); err != nil {
		return fmt.Errorf("merging %s: %w", s.Dir(), err)
	}
	return nil
}

// noteSource records a merged corpus (and those it was merged from) and
// its images in the meta file.
func (s *Store) noteSource(m Meta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, src := range append([]Source{{Key: m.Key, ImageRef: m.ImageRef, Shard: m.Shard}}, m.Sources...) {
		if !slices.ContainsFunc(s.meta.Sources, src.same) {
			s.meta.Sources = append(s.meta.Sources, src)
			changed = true
		}
	}
	imgs := m.Images
	if m.ImageID != "" {
		imgs = append([]string{m.ImageID}, imgs...)
	}
	for _, id := range imgs {
		if id != "" && !slices.Contains(s.meta.Images, id) {
			s.meta.Images = append(s.meta.Images, id)
			if s.meta.ImageID == "" {
				s.meta.ImageID = id
				s.meta.ImageRef = m.ImageRef
			}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.writeMeta()
}

// shards lists the campaign shards the corpus holds: its own and its
// sources'.
func (s *Store) shards() []Shard {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Shard
	add := func(sh *Shard) {
		if sh != nil && !slices.Contains(out, *sh) {
			out = append(out, *sh)
		}
	}
	add(s.meta.Shard)
	for _, src := range s.meta.Sources {
		add(src.Shard)
	}
	return out
}

func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
