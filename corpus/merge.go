package corpus

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/whittle-dev/whittle/internal/remedy"
)

// MergeOptions configures Merge.
type MergeOptions struct {
	// Force merges corpora recorded for different specs.
	Force bool
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
	// Warnings name skipped files and mixed keys, one line each.
	Warnings []string `json:"warnings,omitempty"`
}

// Merge combines the corpora in dirs into out (created when absent; its own
// entries are kept), deduplicating entries by content and findings by id.
// Entries keep their relative order: out's own first, then each source's
// in the order given. Corpora of different specs are refused unless
// opts.Force; different images are allowed and listed in the meta file.
func Merge(out string, dirs []string, opts MergeOptions) (*MergeResult, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merging corpora: no source directory given")
	}
	res := &MergeResult{}
	var sources []*Store
	for _, d := range dirs {
		if same, _ := sameDir(d, out); same {
			continue // out's entries are kept anyway
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
	key := sources[0].Meta().Key
	if existing, err := readMeta(out); err == nil {
		key = existing.Key
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("merging corpora into %s: %w", out, err)
	}
	var specs []string
	for _, s := range sources {
		m := s.Meta()
		if m.SpecHash != key.SpecHash && !slices.Contains(specs, m.SpecHash) {
			specs = append(specs, m.SpecHash)
		}
	}
	if len(specs) > 0 && !opts.Force {
		var names []string
		for _, s := range sources {
			names = append(names, fmt.Sprintf("%s (%s)", s.Dir(), short(s.Meta().SpecHash)))
		}
		return nil, remedy.New(fmt.Errorf("%w: the corpora were recorded for different specs: %s",
			ErrSpecMismatch, strings.Join(names, ", ")), FixForceMerge)
	}
	dst, err := Open(out, key, WithAnySpec())
	if err != nil {
		return nil, fmt.Errorf("merging corpora: %w", err)
	}
	defer dst.Close()
	for _, w := range dst.Warnings() {
		res.Warnings = append(res.Warnings, out+": "+w)
	}
	for _, s := range sources {
		res.Sources++
		m := s.Meta()
		for _, e := range s.Entries() {
			res.Read++
			_, added, err := dst.Put(e)
			if err != nil {
				return res, fmt.Errorf("merging %s: %w", s.Dir(), err)
			}
			if added {
				res.Added++
			} else {
				res.Duplicates++
			}
		}
		have := map[string]bool{}
		for _, f := range dst.Findings() {
			have[f.ID] = true
		}
		for _, f := range s.Findings() {
			if have[f.ID] {
				continue
			}
			if err := dst.PutFinding(f); err != nil {
				return res, fmt.Errorf("merging %s: %w", s.Dir(), err)
			}
			res.Findings++
		}
		if merged, err := dst.mergeCoverage(s); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: coverage not merged: %v", s.Dir(), err))
		} else if merged {
			res.Coverage++
		}
		if err := dst.noteSource(m); err != nil {
			return res, err
		}
	}
	return res, nil
}

// noteSource records a merged corpus's key and images in the meta file.
func (s *Store) noteSource(m Meta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	if !slices.Contains(s.meta.Sources, m.Key) {
		s.meta.Sources = append(s.meta.Sources, m.Key)
		changed = true
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
			}
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.writeMeta()
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
