package corpus

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestMerge(t *testing.T) {
	a, b, out := t.TempDir(), t.TempDir(), t.TempDir()+"/merged"
	sa := mustOpen(t, a, testKey, WithImageRef("pets:1"), WithShard(Shard{Index: 1, Count: 2, CampaignSeed: 7}))
	sb := mustOpen(t, b, testKey, WithImageRef("pets:1"), WithShard(Shard{Index: 2, Count: 2, CampaignSeed: 7}))
	for i := 0; i < 4; i++ {
		if _, _, err := sa.Put(testEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 2; i < 7; i++ { // 2 and 3 are in both
		if _, _, err := sb.Put(testEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sa.PutFinding(FindingRecord{ID: "f1", Check: "crash", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := sb.PutFinding(FindingRecord{ID: "f1", Check: "crash", Data: json.RawMessage(`{"later":true}`)}); err != nil {
		t.Fatal(err)
	}
	if err := sb.PutFinding(FindingRecord{ID: "f2", Check: "server-error"}); err != nil {
		t.Fatal(err)
	}
	sa.Close()
	sb.Close()

	res, err := Merge(out, []string{a, b}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sources != 2 || res.Read != 9 || res.Added != 7 || res.Duplicates != 2 || res.Findings != 2 {
		t.Errorf("result %+v", res)
	}
	if len(res.Shards) != 2 || len(res.Warnings) != 0 {
		t.Errorf("shards %v, warnings %q: both shards of the campaign are merged", res.Shards, res.Warnings)
	}
	m, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Entries()
	if len(got) != 7 {
		t.Fatalf("%d entries", len(got))
	}
	for i, e := range got {
		if e.Coverage.Functions != i || e.Seq != int64(i+1) {
			t.Errorf("entry %d: functions %d seq %d (order lost)", i, e.Coverage.Functions, e.Seq)
		}
	}
	meta := m.Meta()
	if meta.SpecHash != testKey.SpecHash || meta.ImageID != testKey.ImageID || meta.ImageRef != "pets:1" || len(meta.Sources) != 2 || meta.Shard != nil {
		t.Errorf("meta %+v", meta)
	}
	if fs := m.Findings(); len(fs) != 2 || string(fs[0].Data) != `{}` {
		t.Errorf("findings %+v", fs)
	}

	// Merging again adds nothing.
	res, err = Merge(out, []string{a, b}, MergeOptions{})
	if err != nil || res.Added != 0 || res.Duplicates != 9 {
		t.Errorf("second merge: %+v %v", res, err)
	}
}

func TestMergeRefusesOtherSpecs(t *testing.T) {
	a, b, out := t.TempDir(), t.TempDir(), t.TempDir()
	sa := mustOpen(t, a, testKey)
	sb := mustOpen(t, b, Key{SpecHash: "sha256:bbbb"})
	if _, _, err := sb.Put(testEntry(1)); err != nil {
		t.Fatal(err)
	}
	sa.Close()
	sb.Close()
	if _, err := Merge(out, []string{a, b}, MergeOptions{}); !errors.Is(err, ErrSpecMismatch) {
		t.Fatalf("merge of different specs: %v", err)
	}
	res, err := Merge(out, []string{a, b}, MergeOptions{Force: true})
	if err != nil || res.Added != 1 {
		t.Fatalf("forced merge: %+v %v", res, err)
	}
	if _, err := Merge(out, []string{t.TempDir()}, MergeOptions{}); !errors.Is(err, ErrNotCorpus) {
		t.Errorf("merge of a non-corpus: %v", err)
	}
}

// A finding a better one replaced is removed from the store, on disk too.
func TestRemoveFinding(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	for _, id := range []string{"f1", "f2"} {
		if err := s.PutFinding(FindingRecord{ID: id, Check: "crash", Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveFinding("f1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveFinding("f1"); err != nil {
		t.Errorf("removing it again: %v", err)
	}
	if err := s.RemoveFinding("../meta"); err == nil {
		t.Error("a bad id was accepted")
	}
	if got := s.Findings(); len(got) != 1 || got[0].ID != "f2" {
		t.Fatalf("findings after the removal: %+v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := mustOpen(t, dir, testKey)
	if got := again.Findings(); len(got) != 1 || got[0].ID != "f2" {
		t.Errorf("findings read again: %+v", got)
	}
}
