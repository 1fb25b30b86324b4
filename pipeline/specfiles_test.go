package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

const splitRoot = `openapi: 3.0.3
info: {title: split, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "schemas/pets.yaml#/Pets"}
`

const splitPets = `Pets:
  type: array
  items: {$ref: "pet.yaml"}
`

const splitPet = `type: object
properties:
  id: {type: integer}
  owner: {$ref: "owner.yaml"}
`

// onePath is a spec of one operation, in one document.
const onePath = `openapi: 3.0.3
info: {title: one, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200": {description: ok}
`

// A spec split over files is recorded whole, as the run loaded it: the
// documents its $refs reach (from the root and from each other), and the
// corpus loads it back with the same hash.
func TestSpecFilesOfASplitSpec(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for name, body := range map[string]string{"openapi.yaml": splitRoot, "schemas/pets.yaml": splitPets, "schemas/pet.yaml": splitPet,
		"schemas/owner.yaml": "type: string\n", "unrelated.yaml": "x: 1\n"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := spec.LoadSpec(ctx, filepath.Join(dir, "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := specFiles(ctx, sp, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range files.Files {
		names = append(names, n)
	}
	slices.Sort(names)
	if strings.Join(names, " ") != "openapi.yaml schemas/owner.yaml schemas/pet.yaml schemas/pets.yaml" || files.Root != "openapi.yaml" {
		t.Fatalf("recorded %v, root %s", names, files.Root)
	}
	if _, err := specFiles(ctx, sp, nil, false); err == nil {
		t.Error("a spec that may refer only within itself was recorded from other documents")
	}

	st := corpusWithSpec(t, sp, files)
	back, err := LoadCorpusSpec(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if back.Hash != sp.Hash || len(back.Operations) != 1 {
		t.Errorf("loaded back: hash %s (want %s), %d operations", back.Hash, sp.Hash, len(back.Operations))
	}

	// A document changed after loading is not recorded as the spec.
	if err := os.WriteFile(filepath.Join(dir, "schemas", "pet.yaml"), []byte(splitPet+"# changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := specFiles(ctx, sp, nil, true); err == nil {
		t.Error("a changed document was recorded")
	}
}

// A recorded base path is the replay's unless it gives its own.
func TestCorpusSpecKeepsTheBasePath(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(file, []byte(onePath), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, err := spec.LoadSpec(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	bp := "/api/v2"
	files, err := specFiles(ctx, sp, &bp, true)
	if err != nil {
		t.Fatal(err)
	}
	st := corpusWithSpec(t, sp, files)
	back, err := LoadCorpusSpec(ctx, st)
	if err != nil || back.BasePath != "/api/v2" {
		t.Fatalf("base path %q, %v", back.BasePath, err)
	}
	back, err = LoadCorpusSpec(ctx, st, spec.WithBasePath("/other"))
	if err != nil || back.BasePath != "/other" {
		t.Fatalf("given base path %q, %v", back.BasePath, err)
	}
}

// corpusWithSpec is a new corpus for sp recording its documents.
func corpusWithSpec(t *testing.T, sp *spec.Spec, files *corpus.SpecFiles) *corpus.Store {
	t.Helper()
	st, err := corpus.Open(t.TempDir(), corpus.Key{SpecHash: sp.Hash})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.PutSpec(*files); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDescribeSpecDifference(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	base := onePath
	os.WriteFile(a, []byte(base), 0o644)
	os.WriteFile(b, []byte(base+"  /orders:\n    post:\n      responses: {\"201\": {description: ok}}\n"), 0o644)
	if got := DescribeSpecDifference(a, b); got != "1 operation(s) added (POST /orders)" {
		t.Errorf("added: %q", got)
	}
	if got := DescribeSpecDifference(b, a); got != "1 removed (POST /orders)" {
		t.Errorf("removed: %q", got)
	}
	os.WriteFile(b, []byte(strings.Replace(base, "description: ok", "description: fine", 1)), 0o644)
	if got := DescribeSpecDifference(a, b); !strings.Contains(got, "the same 1 operations, with other parameters, schemas or text") {
		t.Errorf("same operations: %q", got)
	}
}

// FuzzExternalRefs: any document yields only $refs naming another
// document, never a panic.
func FuzzExternalRefs(f *testing.F) {
	f.Add([]byte(splitRoot))
	f.Add([]byte(splitPet))
	f.Add([]byte(`{"$ref": "a.json#/x", "b": [{"$ref": "#/local"}, {"$ref": ""}]}`))
	f.Add([]byte("*a\n&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range externalRefs(data) {
			if r == "" || strings.HasPrefix(r, "#") {
				t.Fatalf("ref %q", r)
			}
		}
	})
}
