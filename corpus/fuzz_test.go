package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeEntry: the decoder of entry and finding files never panics on
// arbitrary bytes, rejects with ErrCorrupt, and what it accepts re-encodes to
// something it accepts again.
func FuzzDecodeEntry(f *testing.F) {
	e := testEntry(1)
	e.ID = ContentID(e.Steps, e.Requests)
	good, err := EncodeEntry(e)
	if err != nil {
		f.Fatal(err)
	}
	fd, _ := EncodeFinding(FindingRecord{ID: "abc", Check: "crash"})
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(fd)
	f.Add([]byte(`{"format":"whittle-corpus-entry","version":1,"data":{"id":"x","requests":[{"method":"GET","path":"/"}]}}`))
	f.Add([]byte(`{"format":"whittle-corpus-entry","version":1,"data":{"steps":[1e999],"requests":[{"method":"GET"}]}}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeEntry(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
		} else {
			again, err := EncodeEntry(got)
			if err != nil {
				t.Fatalf("re-encoding an accepted entry: %v", err)
			}
			if _, err := DecodeEntry(again); err != nil {
				t.Fatalf("re-encoded entry rejected: %v", err)
			}
		}
		if _, err := DecodeFinding(data); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("finding error does not wrap ErrCorrupt: %v", err)
		}
	})
}

// FuzzMeta: whatever meta.json holds, Load never panics, and the spec it
// records is read only from files below DIR/spec whose digests match.
func FuzzMeta(f *testing.F) {
	f.Add([]byte(`{"format":"whittle-corpus","version":1,"spec_hash":"sha256:aa","spec":{"root":"openapi.yaml","documents":[{"name":"openapi.yaml","sha256":"00"}]}}`))
	f.Add([]byte(`{"format":"whittle-corpus","version":1,"spec_hash":"sha256:aa","spec":{"root":"../meta.json","documents":[{"name":"../meta.json","sha256":"00"}]}}`))
	f.Add([]byte(`{"format":"whittle-corpus","version":1,"spec_hash":"sha256:aa","shard":{"index":3,"count":2},"sources":[{"shard":null}],"selected_dirs":[{"dir":""}]}`))
	f.Add([]byte(`{"format":"whittle-corpus","version":1,"spec":null}`))
	f.Fuzz(func(t *testing.T, meta []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(dir)
		if err != nil {
			return
		}
		files, err := s.SpecFiles()
		if err != nil {
			return
		}
		for name := range files.Files {
			if !validSpecName(name) {
				t.Fatalf("read spec document %q", name)
			}
		}
		_ = s.Selections()
		_ = s.shards()
	})
}
