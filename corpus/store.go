package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/internal/atomicfile"
	"github.com/whittle-dev/whittle/internal/remedy"
	"github.com/whittle-dev/whittle/internal/secrets"
)

// Layout of a corpus directory (FORMAT.md).
const (
	metaFile    = "meta.json"
	lockFile    = "lock"
	entriesDir  = "entries"
	findingsDir = "findings"
	tmpPrefix   = atomicfile.TempPrefix
)

// Errors of Open and Load, for errors.Is.
var (
	ErrSpecMismatch  = errors.New("corpus was recorded for another spec")
	ErrImageMismatch = errors.New("corpus was recorded against another image")
	ErrNotCorpus     = errors.New("not a whittle corpus directory")
	ErrLocked        = errors.New("corpus is in use by another whittle process")
)

// Remedies of the errors above, in this package's words (*remedy.Error
// carries them); a command may say them with its own options.
const (
	FixLocked      = "wait for it to finish, or use another corpus directory"
	FixOtherCorpus = "use another corpus directory"
)

// Key is what a corpus is recorded for: the spec (Spec.Hash) and the image
// (its id, "sha256:...").
type Key struct {
	SpecHash string `json:"spec_hash"`
	ImageID  string `json:"image_id,omitempty"`
}

// Meta is the content of meta.json.
type Meta struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Key
	// ImageRef is the name the first run gave the image of ImageID
	// ("shop:1.4"): the original image, whose answers a replay compares
	// with by default.
	ImageRef string `json:"image_ref,omitempty"`
	// Images lists every image id whose runs added entries, ImageID first.
	Images []string `json:"images,omitempty"`
	// Spec records the spec's documents, kept in DIR/spec; nil when only
	// its hash is known.
	Spec *SpecRecord `json:"spec,omitempty"`
	// Shard is the part of a campaign the corpus's runs fuzzed; nil for a
	// whole campaign.
	Shard *Shard `json:"shard,omitempty"`
	// Selected are the directories whose files a request value selects:
	// a minimal image built from the corpus keeps them whole.
	Selected []Selection `json:"selected_dirs,omitempty"`
	// Sources records the corpora merged into this one.
	Sources   []Source  `json:"sources,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Store is a corpus directory. Writes are atomic and durable when they
// return; it is safe for concurrent use.
type Store struct {
	dir      string
	unlock   func()
	readOnly bool

	mu   sync.Mutex
	meta Meta
	// entries is the index: every entry without its Responses, which a
	// target chooses (up to the answer caps, a megabyte or two each) and
	// stay on disk until Entries reads them.
	entries []Entry
	// added and addedBytes count what Put wrote since Open.
	added      int
	addedBytes int64
	byID       map[string]int
	findings   map[string]FindingRecord
	fOrder     []string
	nextSeq    int64
	warnings   []string
	// secrets are written as placeholders and put back when read; entries
	// and findings are held as written.
	secrets *secrets.Set
}

// OpenOption configures Open.
type OpenOption func(*openConfig)

type openConfig struct {
	strictImage bool
	anySpec     bool
	secrets     *secrets.Set
	imageRef    string
	shard       *Shard
}

// WithStrictImage makes Open refuse a corpus recorded against another image
// (by default that is allowed and noted in Warnings and Meta.Images).
func WithStrictImage() OpenOption { return func(c *openConfig) { c.strictImage = true } }

// WithAnySpec makes Open accept a corpus recorded for another spec (merge --force).
func WithAnySpec() OpenOption { return func(c *openConfig) { c.anySpec = true } }

// WithImageRef names the image of the key's ImageID as the user gave it
// ("shop:1.4"); a new corpus records it as its original image.
func WithImageRef(ref string) OpenOption { return func(c *openConfig) { c.imageRef = ref } }

// WithShard says the run fuzzes one shard of a campaign; a new corpus
// records it, and resuming a corpus of another shard is noted in Warnings.
func WithShard(sh Shard) OpenOption { return func(c *openConfig) { c.shard = &sh } }

// Open opens the corpus in dir for key, creating it when dir holds none, and
// loads what it holds for resuming. It takes an exclusive lock on the
// directory until Close. Corrupt or torn files are skipped and named in
// Warnings; only an unusable directory, a different spec (ErrSpecMismatch),
// or a lock held by another process (ErrLocked) are errors.
func Open(dir string, key Key, opts ...OpenOption) (*Store, error) {
	var cfg openConfig
	for _, o := range opts {
		o(&cfg)
	}
	if key.SpecHash == "" {
		return nil, fmt.Errorf("opening corpus %s: the key has no spec hash", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, entriesDir), filepath.Join(dir, findingsDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating corpus directory: %w", err)
		}
	}
	unlock, err := lockDir(filepath.Join(dir, lockFile))
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, remedy.New(fmt.Errorf("%w: %s", ErrLocked, dir), FixLocked)
		}
		return nil, fmt.Errorf("locking corpus %s: %w", dir, err)
	}
	s := newStore(dir)
	s.secrets = cfg.secrets
	s.unlock = unlock
	ok := false
	defer func() {
		if !ok {
			unlock()
		}
	}()
	meta, err := readMeta(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.meta = newMeta(key, cfg)
		if err := s.writeMeta(); err != nil {
			return nil, err
		}
	case err != nil && errors.Is(err, ErrCorrupt):
		s.warnf("%s is corrupt (%v): rewritten for spec %s", metaFile, err, key.SpecHash)
		s.meta = newMeta(key, cfg)
		if err := s.writeMeta(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		s.meta = meta
		if meta.SpecHash != key.SpecHash && !cfg.anySpec {
			return nil, remedy.New(fmt.Errorf("%w: %s holds a corpus for spec %s, this run's spec is %s",
				ErrSpecMismatch, dir, short(meta.SpecHash), short(key.SpecHash)), FixOtherCorpus)
		}
		if key.ImageID != "" && meta.ImageID != "" && key.ImageID != meta.ImageID {
			if cfg.strictImage {
				return nil, fmt.Errorf("%w: %s was recorded against image %s, not %s", ErrImageMismatch, dir, short(meta.ImageID), short(key.ImageID))
			}
			s.warnf("corpus %s was recorded against image %s; resuming it against %s", dir, short(meta.ImageID), short(key.ImageID))
		}
		changed := false
		if key.ImageID != "" && !slices.Contains(s.meta.Images, key.ImageID) {
			if s.meta.ImageID == "" {
				s.meta.ImageID = key.ImageID
			}
			s.meta.Images = append(s.meta.Images, key.ImageID)
			changed = true
		}
		if cfg.imageRef != "" && s.meta.ImageRef == "" && s.meta.ImageID == key.ImageID {
			s.meta.ImageRef, changed = cfg.imageRef, true
		}
		if changed {
			if err := s.writeMeta(); err != nil {
				return nil, err
			}
		}
	}
	s.removeTemps()
	s.load()
	if sh := cfg.shard; sh != nil && (s.meta.Shard == nil && len(s.entries) > 0 || s.meta.Shard != nil && *s.meta.Shard != *sh) {
		was := "a whole campaign"
		if s.meta.Shard != nil {
			was = "shard " + s.meta.Shard.String()
		}
		s.warnf("corpus %s was fuzzed as %s; this run fuzzes shard %s into it", dir, was, sh)
	}
	ok = true
	return s, nil
}

func newMeta(key Key, cfg openConfig) Meta {
	m := Meta{Format: formatMeta, Version: FormatVersion, Key: key, CreatedAt: time.Now().UTC(), Shard: cfg.shard}
	if key.ImageID != "" {
		m.Images = []string{key.ImageID}
		m.ImageRef = cfg.imageRef
	}
	return m
}

// Load reads an existing corpus without locking it or changing it (replay,
// merge sources). Corrupt files are skipped and named in Warnings.
// WithSecrets is the only option it uses.
func Load(dir string, opts ...OpenOption) (*Store, error) {
	var cfg openConfig
	for _, o := range opts {
		o(&cfg)
	}
	meta, err := readMeta(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s", ErrNotCorpus, dir, metaFile)
		}
		return nil, err
	}
	s := newStore(dir)
	s.secrets = cfg.secrets
	s.meta = meta
	s.readOnly = true
	s.load()
	return s, nil
}

// ErrReadOnly is returned by writes to a store opened with Load.
var ErrReadOnly = errors.New("corpus opened read-only")

func newStore(dir string) *Store {
	return &Store{dir: dir, byID: map[string]int{}, findings: map[string]FindingRecord{}, nextSeq: 1}
}

func short(h string) string {
	if i := strings.IndexByte(h, ':'); i >= 0 && len(h) > i+13 {
		return h[:i+13]
	}
	return h
}

func readMeta(dir string) (Meta, error) {
	data, err := readCapped(filepath.Join(dir, metaFile))
	if err != nil {
		return Meta{}, err
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return Meta{}, corrupt("%s: %v", metaFile, err)
	}
	if m.Format != formatMeta {
		return Meta{}, corrupt("%s: format %q, want %q", metaFile, m.Format, formatMeta)
	}
	if m.Version < 1 || m.Version > FormatVersion {
		return Meta{}, fmt.Errorf("%s: corpus format version %d; this whittle reads 1..%d (upgrade whittle)", filepath.Join(dir, metaFile), m.Version, FormatVersion)
	}
	return m, nil
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}

func (s *Store) writeMeta() error {
	data, err := json.MarshalIndent(s.meta, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, metaFile), append(data, '\n')); err != nil {
		return fmt.Errorf("writing corpus meta: %w", err)
	}
	return nil
}

func (s *Store) warnf(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// removeTemps deletes temporary files of writes that never completed.
func (s *Store) removeTemps() {
	for _, d := range []string{s.dir, filepath.Join(s.dir, entriesDir), filepath.Join(s.dir, findingsDir)} {
		list, _ := os.ReadDir(d)
		for _, de := range list {
			if strings.HasPrefix(de.Name(), tmpPrefix) {
				_ = os.Remove(filepath.Join(d, de.Name()))
			}
		}
	}
}

// load reads every entry and finding, skipping what is corrupt.
func (s *Store) load() {
	s.eachFile(entriesDir, "entry", func(name string, data []byte) error {
		e, err := DecodeEntry(data)
		if err != nil {
			return err
		}
		if e.ID+".json" != name {
			return fmt.Errorf("its id is %s", e.ID)
		}
		if _, dup := s.byID[e.ID]; !dup {
			s.byID[e.ID] = len(s.entries)
			s.entries = append(s.entries, indexed(e))
		}
		return nil
	})
	sort.SliceStable(s.entries, func(i, j int) bool {
		if s.entries[i].Seq != s.entries[j].Seq {
			return s.entries[i].Seq < s.entries[j].Seq
		}
		return s.entries[i].ID < s.entries[j].ID
	})
	for i, e := range s.entries {
		s.byID[e.ID] = i
		if e.Seq >= s.nextSeq {
			s.nextSeq = e.Seq + 1
		}
	}
	s.eachFile(findingsDir, "finding", func(name string, data []byte) error {
		f, err := DecodeFinding(data)
		if err != nil {
			return err
		}
		if f.ID+".json" != name {
			return fmt.Errorf("its id is %s", f.ID)
		}
		s.findings[f.ID] = f
		s.fOrder = append(s.fOrder, f.ID)
		return nil
	})
	sort.Strings(s.fOrder)
}

// eachFile reads the JSON files of a subdirectory (not temp files of torn
// writes) and hands them to fn; a file that cannot be read, or that fn
// rejects, is skipped with a warning naming it.
func (s *Store) eachFile(sub, what string, fn func(name string, data []byte) error) {
	dir := filepath.Join(s.dir, sub)
	list, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.warnf("reading %s: %v", dir, err)
	}
	for _, de := range list {
		name := de.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, tmpPrefix) || de.IsDir() {
			continue
		}
		data, err := readCapped(filepath.Join(dir, name))
		if err == nil {
			err = fn(name, data)
		}
		if err != nil {
			s.warnf("skipping %s %s: %v", what, name, err)
		}
	}
}

// Dir is the corpus directory.
func (s *Store) Dir() string { return s.dir }

// Meta returns the corpus's meta data.
func (s *Store) Meta() Meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.meta
	m.Images = slices.Clone(m.Images)
	m.Sources = slices.Clone(m.Sources)
	m.Selected = slices.Clone(m.Selected)
	return m
}

// Warnings lists what was skipped or noticed while opening, one line each.
func (s *Store) Warnings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.warnings)
}

// Len counts the entries.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Entries returns the entries in the order they joined, secrets put back,
// with their responses, read from disk. An entry whose file has gone or
// changed since comes without them.
func (s *Store) Entries() []Entry {
	index := s.Index()
	for i, e := range index {
		data, err := readCapped(filepath.Join(s.dir, entriesDir, e.ID+".json"))
		if err != nil {
			continue
		}
		if full, err := DecodeEntry(data); err == nil && full.ID == e.ID {
			index[i].Responses = restoreEntry(s.secrets, Entry{Responses: full.Responses}).Responses
		}
	}
	return index
}

// Index returns the entries in the order they joined, secrets put back,
// without their responses (Entries reads those): what resuming a run
// needs, held in memory.
func (s *Store) Index() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets.Empty() {
		return slices.Clone(s.entries)
	}
	out := make([]Entry, len(s.entries))
	for i, e := range s.entries {
		out[i] = restoreEntry(s.secrets, e)
	}
	return out
}

// indexed is e as the index holds it.
func indexed(e Entry) Entry {
	e.Responses = nil
	return e
}

// Added counts the entries Put wrote since the store was opened, and their
// bytes.
func (s *Store) Added() (entries int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.added, s.addedBytes
}

// Has reports whether an entry with this id is stored.
func (s *Store) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[id]
	return ok
}

// Put stores e durably (its ID and Seq are set here) and returns it as
// stored; added is false when an entry with the same content was already
// there, which is then returned as the index holds it (without Responses).
func (s *Store) Put(e Entry) (stored Entry, added bool, err error) {
	if s.readOnly {
		return Entry{}, false, fmt.Errorf("storing corpus entry in %s: %w", s.dir, ErrReadOnly)
	}
	clear := e
	// The id is the content's as written: it names the file, and the
	// same entry run with other credentials is the same entry.
	e = redactEntry(s.secrets, e)
	e.ID = ContentID(e.Steps, e.Requests)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.byID[e.ID]; ok {
		return restoreEntry(s.secrets, s.entries[i]), false, nil
	}
	e.Seq = s.nextSeq
	if err := e.check(); err != nil {
		return Entry{}, false, fmt.Errorf("storing corpus entry: %w", err)
	}
	data, err := EncodeEntry(e)
	if err != nil {
		return Entry{}, false, fmt.Errorf("encoding corpus entry: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, entriesDir, e.ID+".json"), data); err != nil {
		return Entry{}, false, fmt.Errorf("writing corpus entry: %w", err)
	}
	s.nextSeq++
	s.added++
	s.addedBytes += int64(len(data))
	s.byID[e.ID] = len(s.entries)
	s.entries = append(s.entries, indexed(e))
	if s.secrets.Empty() {
		return e, true, nil
	}
	clear.ID, clear.Seq = e.ID, e.Seq
	return clear, true, nil
}

// PutFinding stores or replaces a finding durably.
func (s *Store) PutFinding(f FindingRecord) error {
	if s.readOnly {
		return fmt.Errorf("storing finding in %s: %w", s.dir, ErrReadOnly)
	}
	if !validName(f.ID) {
		return fmt.Errorf("storing finding: bad id %q", f.ID)
	}
	f.Signature = s.secrets.Redact(f.Signature)
	f.Data = s.secrets.RedactJSON(f.Data)
	data, err := EncodeFinding(f)
	if err != nil {
		return fmt.Errorf("encoding finding: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := atomicfile.WriteFile(filepath.Join(s.dir, findingsDir, f.ID+".json"), data); err != nil {
		return fmt.Errorf("writing finding: %w", err)
	}
	if _, ok := s.findings[f.ID]; !ok {
		s.fOrder = append(s.fOrder, f.ID)
	}
	s.findings[f.ID] = f
	return nil
}

// RemoveFinding removes a stored finding (one a better finding replaced);
// an id not stored is no error.
func (s *Store) RemoveFinding(id string) error {
	if s.readOnly {
		return fmt.Errorf("removing finding from %s: %w", s.dir, ErrReadOnly)
	}
	if !validName(id) {
		return fmt.Errorf("removing finding: bad id %q", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(filepath.Join(s.dir, findingsDir, id+".json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing finding: %w", err)
	}
	delete(s.findings, id)
	s.fOrder = slices.DeleteFunc(s.fOrder, func(x string) bool { return x == id })
	return nil
}

// Findings returns the stored findings.
func (s *Store) Findings() []FindingRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FindingRecord, 0, len(s.fOrder))
	for _, id := range s.fOrder {
		f := s.findings[id]
		f.Signature = s.secrets.Restore(f.Signature)
		f.Data = s.secrets.RestoreJSON(f.Data)
		out = append(out, f)
	}
	return out
}

// Close releases the directory lock. Every write is already durable.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return nil
}
