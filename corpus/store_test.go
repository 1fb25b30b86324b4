package corpus

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testKey = Key{SpecHash: "sha256:aaaa", ImageID: "sha256:1111"}

func testEntry(i int) Entry {
	path := "/pets/" + string(rune('a'+i%26))
	return Entry{
		Steps:     json.RawMessage(`[{"op":"GET /pets/{id}","input":{"op":"GET /pets/{id}"}}]`),
		Requests:  []Request{{Operation: "GET /pets/{id}", Method: "GET", Path: path + strings.Repeat("x", i/26)}},
		Responses: []Response{{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"id":1}`)}},
		Reasons:   []string{"new status 200"},
		Coverage:  Coverage{Functions: i},
		AddedAt:   int64(i),
	}
}

func mustOpen(t *testing.T, dir string, key Key, opts ...OpenOption) *Store {
	t.Helper()
	s, err := Open(dir, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPutAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	for i := 0; i < 5; i++ {
		e, added, err := s.Put(testEntry(i))
		if err != nil || !added {
			t.Fatalf("put %d: added %v, %v", i, added, err)
		}
		if e.Seq != int64(i+1) || e.ID == "" {
			t.Fatalf("entry %d: seq %d id %q", i, e.Seq, e.ID)
		}
	}
	if _, added, _ := s.Put(testEntry(2)); added {
		t.Error("duplicate content added twice")
	}
	if err := s.PutFinding(FindingRecord{ID: "abc123", Operation: "GET /pets", Check: "crash", Data: json.RawMessage(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	r := mustOpen(t, dir, testKey)
	if len(r.Warnings()) != 0 {
		t.Errorf("warnings: %v", r.Warnings())
	}
	got := r.Entries()
	if len(got) != 5 {
		t.Fatalf("%d entries after reopening", len(got))
	}
	for i, e := range got {
		want := testEntry(i)
		if e.Requests[0].Path != want.Requests[0].Path || e.Coverage.Functions != i || string(e.Responses[0].Body) != `{"id":1}` {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	e, added, err := r.Put(testEntry(7))
	if err != nil || !added || e.Seq != 6 {
		t.Fatalf("put after reopen: seq %d added %v %v", e.Seq, added, err)
	}
	if f := r.Findings(); len(f) != 1 || f[0].Check != "crash" || string(f[0].Data) != `{"x":1}` {
		t.Errorf("findings %+v", f)
	}
}

func TestOpenKeys(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, testKey).Close()
	tests := []struct {
		name    string
		key     Key
		opts    []OpenOption
		wantErr error
		warn    string
	}{
		{"same key", testKey, nil, nil, ""},
		{"other spec", Key{SpecHash: "sha256:bbbb", ImageID: testKey.ImageID}, nil, ErrSpecMismatch, ""},
		{"other spec forced", Key{SpecHash: "sha256:bbbb"}, []OpenOption{WithAnySpec()}, nil, ""},
		{"other image", Key{SpecHash: testKey.SpecHash, ImageID: "sha256:2222"}, nil, nil, "recorded against image"},
		{"other image strict", Key{SpecHash: testKey.SpecHash, ImageID: "sha256:3333"}, []OpenOption{WithStrictImage()}, ErrImageMismatch, ""},
		{"no spec hash", Key{}, nil, errors.New("any"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(dir, tt.key, tt.opts...)
			if tt.wantErr != nil {
				if err == nil {
					s.Close()
					t.Fatal("no error")
				}
				if tt.wantErr.Error() != "any" && !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w := strings.Join(s.Warnings(), "\n")
			if tt.warn != "" && !strings.Contains(w, tt.warn) {
				t.Errorf("warnings %q, want %q", w, tt.warn)
			}
		})
	}
	m := mustOpen(t, dir, testKey).Meta()
	if m.ImageID != testKey.ImageID || len(m.Images) != 2 {
		t.Errorf("meta %+v", m)
	}
}

func TestOpenIsExclusive(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	if _, err := Open(dir, testKey); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	// Reading does not need the lock.
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	s.Close()
	mustOpen(t, dir, testKey)
}

func TestLoadIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, testKey).Close()
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(testEntry(1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("put on a loaded store: %v", err)
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNotCorpus) {
		t.Errorf("load of an empty directory: %v", err)
	}
}

// TestCorruptEntriesAreSkipped damages stored entries in every way a crash
// or a disk can, then resumes: the damaged ones are skipped with a warning,
// the rest load, and new entries are stored after them.
func TestCorruptEntriesAreSkipped(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	var ids []string
	for i := 0; i < 8; i++ {
		e, _, err := s.Put(testEntry(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	s.Close()
	path := func(i int) string { return filepath.Join(dir, entriesDir, ids[i]+".json") }
	read := func(i int) []byte {
		b, err := os.ReadFile(path(i))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(i int, b []byte) {
		if err := os.WriteFile(path(i), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	damage := []struct {
		name string
		do   func(i int)
	}{
		{"truncated", func(i int) { b := read(i); write(i, b[:len(b)/2]) }},
		{"empty", func(i int) { write(i, nil) }},
		{"bit flip in data", func(i int) {
			b := read(i)
			j := strings.Index(string(b), `"path":"/pets/`) + len(`"path":"/pets/`)
			b[j] ^= 0x01
			write(i, b)
		}},
		{"garbage", func(i int) { write(i, []byte("\x00\x01\x02not json")) }},
		{"renamed", func(i int) {
			if err := os.Rename(path(i), filepath.Join(dir, entriesDir, "0000.json")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, d := range damage {
		d.do(i)
	}
	// A torn write leaves a temporary file; it must be ignored and removed.
	tmp := filepath.Join(dir, entriesDir, tmpPrefix+"x.json-123")
	if err := os.WriteFile(tmp, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := mustOpen(t, dir, testKey)
	got := r.Entries()
	if len(got) != 8-len(damage) {
		t.Fatalf("%d entries loaded, want %d", len(got), 8-len(damage))
	}
	for k, e := range got {
		if e.ID != ids[len(damage)+k] {
			t.Errorf("entry %d is %s, want %s", k, e.ID, ids[len(damage)+k])
		}
	}
	if w := r.Warnings(); len(w) != len(damage) {
		t.Errorf("%d warnings for %d damaged files: %q", len(w), len(damage), w)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Error("temporary file of a torn write left in place")
	}
	// Resuming re-adds a damaged entry's content under its own name.
	e, added, err := r.Put(testEntry(0))
	if err != nil || !added || e.Seq != 9 {
		t.Fatalf("re-put of a damaged entry: seq %d added %v %v", e.Seq, added, err)
	}
}

func TestCorruptMetaIsRewritten(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	if _, _, err := s.Put(testEntry(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, metaFile), []byte(`{"format":"whittle-corp`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, dir, testKey)
	if r.Len() != 1 || len(r.Warnings()) != 1 {
		t.Fatalf("len %d warnings %q", r.Len(), r.Warnings())
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	good, err := EncodeEntry(func() Entry { e := testEntry(3); e.ID = ContentID(e.Steps, e.Requests); return e }())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeEntry(good); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"not an object", "[]"},
		{"other format", `{"format":"x","version":1,"data":{}}`},
		{"future version", `{"format":"whittle-corpus-entry","version":99,"data":{}}`},
		{"null data", `{"format":"whittle-corpus-entry","version":1,"data":null}`},
		{"no requests", `{"format":"whittle-corpus-entry","version":1,"data":{"id":"x","requests":[]}}`},
		{"steps not array", `{"format":"whittle-corpus-entry","version":1,"data":{"id":"x","steps":{"a":1},"requests":[{"method":"GET","path":"/"}]}}`},
		{"wrong id", `{"format":"whittle-corpus-entry","version":1,"data":{"id":"x","requests":[{"method":"GET","path":"/"}]}}`},
		{"bad checksum", strings.Replace(string(good), `"sha256":"`, `"sha256":"00`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeEntry([]byte(tt.data)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
}

// The store holds an index in memory; the answers, which the target
// chooses, are read from disk when Entries asks for them, in a run and
// after reopening.
func TestIndexHoldsNoResponses(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	big := testEntry(1)
	big.Responses[0].Header["X-Flood"] = []string{strings.Repeat("h", 900<<10)}
	if _, _, err := s.Put(big); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(testEntry(2)); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		for _, e := range s.Index() {
			if e.Responses != nil {
				t.Errorf("index entry %s holds its responses", e.ID)
			}
		}
		full := s.Entries()
		if len(full) != 2 || len(full[0].Responses) != 1 || len(full[0].Responses[0].Header["X-Flood"][0]) != 900<<10 ||
			string(full[1].Responses[0].Body) != `{"id":1}` {
			t.Fatalf("entries read back: %d", len(full))
		}
		for _, e := range s.entries {
			if e.Responses != nil {
				t.Errorf("the store keeps the responses of %s in memory", e.ID)
			}
		}
	}
	check(s)
	s.Close()
	check(mustOpen(t, dir, testKey))
}
