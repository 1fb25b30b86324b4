package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/internal/remedy"
)

var petsSpec = SpecFiles{
	Source: "api/openapi.yaml",
	Root:   "openapi.yaml",
	Files: map[string][]byte{
		"openapi.yaml":     []byte("openapi: 3.0.3\npaths: {}\ncomponents: {schemas: {Pet: {$ref: 'schemas/pet.yaml'}}}\n"),
		"schemas/pet.yaml": []byte("type: object\n"),
	},
}

func TestSpecIsStoredAndCheckedWhenRead(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	if _, err := s.SpecFile(); !errors.Is(err, ErrNoSpec) {
		t.Fatalf("a corpus without a recorded spec: %v", err)
	}
	if err := s.PutSpec(petsSpec); err != nil {
		t.Fatal(err)
	}
	s.Close()

	l, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	root, err := l.SpecFile()
	if err != nil {
		t.Fatal(err)
	}
	if root != filepath.Join(dir, "spec", "openapi.yaml") {
		t.Errorf("root %s", root)
	}
	got, err := os.ReadFile(filepath.Join(dir, "spec", "schemas", "pet.yaml"))
	if err != nil || string(got) != "type: object\n" {
		t.Errorf("referenced document: %q %v", got, err)
	}
	if rec := l.SpecRecord(); rec == nil || rec.Source != "api/openapi.yaml" || len(rec.Documents) != 2 {
		t.Errorf("record %+v", rec)
	}

	// A document changed on disk is not the spec the corpus was recorded for.
	if err := os.WriteFile(filepath.Join(dir, "spec", "schemas", "pet.yaml"), []byte("type: string\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = l.SpecFile()
	var re *remedy.Error
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &re) || re.Remedy() != FixGiveSpec || !strings.Contains(err.Error(), "spec/schemas/pet.yaml") {
		t.Errorf("changed document: %v", err)
	}
}

func TestSpecNamesStayInTheSpecDirectory(t *testing.T) {
	s := mustOpen(t, t.TempDir(), testKey)
	for _, name := range []string{"../meta.json", "/etc/passwd", "a/../../b", ".tmp-x", "a//b", ""} {
		f := SpecFiles{Root: "openapi.yaml", Files: map[string][]byte{"openapi.yaml": nil, name: nil}}
		if err := s.PutSpec(f); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if err := s.PutSpec(SpecFiles{Root: "missing.yaml", Files: map[string][]byte{"openapi.yaml": nil}}); err == nil {
		t.Error("a root that is not among the files was accepted")
	}
}

func TestMergeCarriesSpecImageAndSelections(t *testing.T) {
	a, b, out := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "merged")
	sa := mustOpen(t, a, testKey, WithImageRef("pets:1"))
	sb := mustOpen(t, b, testKey, WithImageRef("pets:1"))
	if _, _, err := sa.Put(testEntry(1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sb.Put(testEntry(2)); err != nil {
		t.Fatal(err)
	}
	if err := sb.PutSpec(petsSpec); err != nil { // only the second records it
		t.Fatal(err)
	}
	if err := sa.AddSelections([]Selection{{Dir: "/srv/templates", Operation: "GET /page", Parameter: "query.t"}}); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddSelections([]Selection{{Dir: "/srv/lang"}, {Dir: "/srv/templates", Operation: "GET /other"}}); err != nil {
		t.Fatal(err)
	}
	sa.Close()
	sb.Close()
	if _, err := Merge(out, []string{a, b}, MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.SpecFile(); err != nil {
		t.Errorf("merged spec: %v", err)
	}
	sel := m.Selections()
	if len(sel) != 2 || sel[0].Dir != "/srv/lang" || sel[1].Operation != "GET /page" {
		t.Errorf("selections %+v", sel)
	}
	if meta := m.Meta(); meta.ImageRef != "pets:1" || meta.ImageID != testKey.ImageID {
		t.Errorf("original image %q %q", meta.ImageRef, meta.ImageID)
	}
}

func TestMergeRefusesOtherImages(t *testing.T) {
	a, b, out := t.TempDir(), t.TempDir(), t.TempDir()
	sa := mustOpen(t, a, testKey, WithImageRef("shop:ci"))
	sb := mustOpen(t, b, Key{SpecHash: testKey.SpecHash, ImageID: "sha256:2222"}, WithImageRef("shop:ci"))
	if _, _, err := sb.Put(testEntry(1)); err != nil {
		t.Fatal(err)
	}
	sa.Close()
	sb.Close()
	_, err := Merge(out, []string{a, b}, MergeOptions{})
	var re *remedy.Error
	if !errors.Is(err, ErrImageMismatch) || !errors.As(err, &re) || re.Remedy() != FixOneImage {
		t.Fatalf("merge of corpora of two images: %v", err)
	}
	for _, want := range []string{a + " was made on shop:ci sha256:1111", b + " on shop:ci sha256:2222", "the same name built twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
	res, err := Merge(out, []string{a, b}, MergeOptions{Force: true})
	if err != nil || res.Added != 1 {
		t.Fatalf("forced: %+v %v", res, err)
	}
	if m, _ := Load(out); m.Meta().ImageID != testKey.ImageID {
		t.Errorf("the first corpus's image must stay the original: %+v", m.Meta())
	}
}

func TestMergeSaysHowSpecsDiffer(t *testing.T) {
	a, b, out := t.TempDir(), t.TempDir(), t.TempDir()
	sa := mustOpen(t, a, testKey)
	sb := mustOpen(t, b, Key{SpecHash: "sha256:bbbb", ImageID: testKey.ImageID})
	for _, s := range []*Store{sa, sb} {
		if err := s.PutSpec(petsSpec); err != nil {
			t.Fatal(err)
		}
	}
	sa.Close()
	sb.Close()
	var asked [2]string
	_, err := Merge(out, []string{a, b}, MergeOptions{DescribeSpecs: func(x, y string) string {
		asked = [2]string{x, y}
		return "adds POST /orders"
	}})
	if !errors.Is(err, ErrSpecMismatch) || !strings.Contains(err.Error(), b+" against "+a+": adds POST /orders") {
		t.Fatalf("error %v", err)
	}
	if asked[0] != filepath.Join(a, "spec", "openapi.yaml") || asked[1] != filepath.Join(b, "spec", "openapi.yaml") {
		t.Errorf("compared %q", asked)
	}
}

func TestShardGaps(t *testing.T) {
	cases := []struct {
		shards []Shard
		want   []string
	}{
		{[]Shard{{1, 3, 7}, {2, 3, 7}, {3, 3, 7}}, nil},
		{[]Shard{{1, 3, 7}, {3, 3, 7}}, []string{"shard 2/3 of the campaign with seed 7 is not in the merge"}},
		{[]Shard{{1, 2, 7}, {2, 2, 7}, {1, 2, 8}}, []string{"different campaigns (2 shards with seed 7, 2 shards with seed 8)", "shard 2/2 of the campaign with seed 8"}},
	}
	for _, c := range cases {
		got := shardGaps(c.shards)
		if len(got) != len(c.want) {
			t.Errorf("%v: %q", c.shards, got)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], c.want[i]) {
				t.Errorf("%v: %q, want %q", c.shards, got[i], c.want[i])
			}
		}
	}
}

func TestResumingAnotherShardIsNoted(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey, WithShard(Shard{1, 2, 7}))
	s.Close()
	s2 := mustOpen(t, dir, testKey, WithShard(Shard{2, 2, 7}))
	if w := s2.Warnings(); len(w) != 1 || !strings.Contains(w[0], "fuzzed as shard 1/2; this run fuzzes shard 2/2") {
		t.Errorf("warnings %q", w)
	}
	if sh := s2.Meta().Shard; sh == nil || *sh != (Shard{1, 2, 7}) {
		t.Errorf("the corpus's shard %+v", sh)
	}
}
