package corpus

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Shard is one part of a campaign split across jobs: shard Index of Count
// (1-based), every shard run with the same campaign seed.
type Shard struct {
	Index        int   `json:"index"`
	Count        int   `json:"count"`
	CampaignSeed int64 `json:"campaign_seed"`
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Source is a corpus merged into another: its key, the name of its
// original image and the shard it fuzzed.
type Source struct {
	Key
	ImageRef string `json:"image_ref,omitempty"`
	Shard    *Shard `json:"shard,omitempty"`
}

func (s Source) same(o Source) bool {
	return s.Key == o.Key && s.ImageRef == o.ImageRef && (s.Shard == nil) == (o.Shard == nil) && (s.Shard == nil || *s.Shard == *o.Shard)
}

// Selection is a directory whose files a request value selects (the
// fuzzer saw a value looked up there); a minimal image keeps it whole.
type Selection struct {
	Dir       string `json:"dir"`
	Operation string `json:"operation,omitempty"`
	Parameter string `json:"parameter,omitempty"`
	// Names is set when the target resolved names from a listing of the
	// directory (which files a value can select was known beforehand).
	Names string `json:"names,omitempty"`
}

// AddSelections records input-selected directories in meta.json, once per
// directory (the first reason is kept).
func (s *Store) AddSelections(sel []Selection) error {
	if s.readOnly {
		return fmt.Errorf("storing selected directories in %s: %w", s.dir, ErrReadOnly)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	merged, changed := unionSelections(s.meta.Selected, sel)
	if !changed {
		return nil
	}
	old := s.meta.Selected
	s.meta.Selected = merged
	if err := s.writeMeta(); err != nil {
		s.meta.Selected = old
		return err
	}
	return nil
}

// Selections returns the input-selected directories the corpus records.
func (s *Store) Selections() []Selection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.meta.Selected)
}

func unionSelections(have, add []Selection) ([]Selection, bool) {
	out := slices.Clone(have)
	changed := false
	for _, x := range add {
		if x.Dir == "" || slices.ContainsFunc(out, func(h Selection) bool { return h.Dir == x.Dir }) {
			continue
		}
		out = append(out, x)
		changed = true
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out, changed
}

// shardGaps names what is missing or mixed among the shards of merged
// corpora: shards of a campaign that none of them fuzzed (their operations
// were not fuzzed), and shards of campaigns split differently.
func shardGaps(shards []Shard) []string {
	type campaign struct {
		seed  int64
		count int
	}
	seen := map[campaign][]int{}
	var order []campaign
	for _, sh := range shards {
		c := campaign{sh.CampaignSeed, sh.Count}
		if _, ok := seen[c]; !ok {
			order = append(order, c)
		}
		if !slices.Contains(seen[c], sh.Index) {
			seen[c] = append(seen[c], sh.Index)
		}
	}
	var out []string
	if len(order) > 1 {
		var names []string
		for _, c := range order {
			names = append(names, fmt.Sprintf("%d shards with seed %d", c.count, c.seed))
		}
		out = append(out, "the merged shards come from different campaigns ("+strings.Join(names, ", ")+"): each campaign's shards split the operations their own way")
	}
	for _, c := range order {
		var missing []string
		for i := 1; i <= c.count; i++ {
			if !slices.Contains(seen[c], i) {
				missing = append(missing, fmt.Sprintf("%d/%d", i, c.count))
			}
		}
		if len(missing) > 0 {
			out = append(out, fmt.Sprintf("shard %s of the campaign with seed %d is not in the merge: its operations were fuzzed only as producers of others', if at all", strings.Join(missing, ", "), c.seed))
		}
	}
	return out
}
