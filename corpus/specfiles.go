package corpus

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/internal/atomicfile"
	"github.com/whittle-dev/whittle/internal/remedy"
)

// specDir holds the documents of the spec a corpus was recorded for.
const specDir = "spec"

// ErrNoSpec is returned by SpecFile for a corpus that records only its
// spec's hash (written by an older whittle, or a spec whose documents could
// not be read back).
var ErrNoSpec = errors.New("corpus records no spec")

// FixGiveSpec is the remedy of ErrNoSpec and of a damaged spec directory.
const FixGiveSpec = "give the spec the corpus was recorded for"

// SpecRecord says where the spec of a corpus came from and which documents
// of DIR/spec/ it is made of (meta.json's "spec").
type SpecRecord struct {
	// Source is where the run read it: a file, a URL, or the URL on the
	// target where it was discovered.
	Source string `json:"source"`
	// Root is the document to load, relative to DIR/spec.
	Root string `json:"root"`
	// BasePath is the API prefix the run was given instead of the spec's
	// own; nil when the spec's was used.
	BasePath *string `json:"base_path,omitempty"`
	// Documents are the root and the documents its $refs reach, by name
	// relative to DIR/spec, with their SHA-256.
	Documents []SpecDocument `json:"documents"`
}

// SpecDocument is one file of a recorded spec.
type SpecDocument struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// SpecFiles is a spec as a run read it: the root document's name, every
// document's content by name (slash-separated, relative to the root's
// directory), where it came from and the base path the run was given.
type SpecFiles struct {
	Source   string
	Root     string
	BasePath *string
	Files    map[string][]byte
}

// check refuses names that would leave DIR/spec or that the root does not
// account for.
func (f *SpecFiles) check() error {
	if _, ok := f.Files[f.Root]; !ok {
		return fmt.Errorf("the root document %q is not among the spec's files", f.Root)
	}
	for name := range f.Files {
		if !validSpecName(name) {
			return fmt.Errorf("bad spec document name %q", name)
		}
	}
	return nil
}

// validSpecName accepts a clean relative slash path without "..", "." or
// hidden segments (temporary files start with a dot).
func validSpecName(name string) bool {
	if name == "" || len(name) > 512 || path.Clean(name) != name || path.IsAbs(name) || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == ".." || strings.HasPrefix(seg, ".") {
			return false
		}
	}
	return true
}

// PutSpec stores the documents of the spec the corpus is recorded for in
// DIR/spec/ and records them in meta.json, so that replays and builds need
// no spec of their own. A corpus that already records a spec keeps it (the
// corpus is keyed by the spec's hash: it is the same spec).
func (s *Store) PutSpec(f SpecFiles) error {
	if s.readOnly {
		return fmt.Errorf("storing the spec in %s: %w", s.dir, ErrReadOnly)
	}
	if err := f.check(); err != nil {
		return fmt.Errorf("storing the spec in %s: %w", s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.meta.Spec != nil {
		return nil
	}
	rec := &SpecRecord{Source: f.Source, Root: f.Root, BasePath: f.BasePath}
	names := make([]string, 0, len(f.Files))
	for name := range f.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := f.Files[name]
		p := filepath.Join(s.dir, specDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("storing the spec: %w", err)
		}
		if err := atomicfile.WriteFile(p, data); err != nil {
			return fmt.Errorf("storing the spec: %w", err)
		}
		sum := sha256.Sum256(data)
		rec.Documents = append(rec.Documents, SpecDocument{Name: name, SHA256: hex.EncodeToString(sum[:])})
	}
	// The record is written last: a reader trusts only documents it names
	// with their digests.
	s.meta.Spec = rec
	if err := s.writeMeta(); err != nil {
		s.meta.Spec = nil
		return err
	}
	return nil
}

// SpecFiles reads the recorded spec's documents back, each checked against
// its digest: ErrNoSpec when none is recorded.
func (s *Store) SpecFiles() (*SpecFiles, error) {
	s.mu.Lock()
	rec := s.meta.Spec
	s.mu.Unlock()
	if rec == nil {
		return nil, remedy.New(fmt.Errorf("%w: %s holds its spec's hash only", ErrNoSpec, s.dir), FixGiveSpec)
	}
	f := &SpecFiles{Source: rec.Source, Root: rec.Root, BasePath: rec.BasePath, Files: map[string][]byte{}}
	for _, d := range rec.Documents {
		if !validSpecName(d.Name) {
			return nil, remedy.New(corrupt("%s: spec document name %q", metaFile, d.Name), FixGiveSpec)
		}
		data, err := readCapped(filepath.Join(s.dir, specDir, filepath.FromSlash(d.Name)))
		if err != nil {
			return nil, remedy.New(fmt.Errorf("reading the spec of corpus %s: %w", s.dir, err), FixGiveSpec)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != strings.ToLower(d.SHA256) {
			return nil, remedy.New(corrupt("%s: %s/%s is not the document the corpus was recorded with (checksum mismatch)", s.dir, specDir, d.Name), FixGiveSpec)
		}
		f.Files[d.Name] = data
	}
	if err := f.check(); err != nil {
		return nil, remedy.New(corrupt("%s: %v", metaFile, err), FixGiveSpec)
	}
	return f, nil
}

// SpecFile is the path of the recorded spec's root document, once every
// document has been checked against its digest; the documents its $refs
// reach are beside it, as the run read them.
func (s *Store) SpecFile() (string, error) {
	f, err := s.SpecFiles()
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, specDir, filepath.FromSlash(f.Root)), nil
}

// SpecRecord returns the recorded spec's description (nil when the corpus
// records only the hash).
func (s *Store) SpecRecord() *SpecRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.meta.Spec == nil {
		return nil
	}
	rec := *s.meta.Spec
	rec.Documents = slices.Clone(rec.Documents)
	return &rec
}
