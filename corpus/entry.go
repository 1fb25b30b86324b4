package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// FormatVersion is the version of the on-disk corpus format described in
// FORMAT.md. Readers accept files of this version and older ones they know.
const FormatVersion = 1

// Envelope formats: the "format" field of each kind of file.
const (
	formatMeta    = "whittle-corpus"
	formatEntry   = "whittle-corpus-entry"
	formatFinding = "whittle-corpus-finding"
)

// maxFileSize bounds what is read of one corpus file; larger files are
// treated as corrupt.
const maxFileSize = 64 << 20

// Entry is one corpus entry: a sequence of requests whose last one earned
// something new, as the fuzzer needs it to mutate and replay it.
type Entry struct {
	// ID is a content hash (of Steps and Requests), set by Store.Put; it
	// names the entry's file and deduplicates merges.
	ID string `json:"id"`
	// Seq orders entries within a store: the order in which they joined.
	Seq int64 `json:"seq"`
	// Steps are the fuzzer's structured steps (operation, parameter values,
	// body, intent, bindings), opaque to this package: a JSON array.
	Steps json.RawMessage `json:"steps,omitempty"`
	// Requests are the concrete requests as sent, one per step that was sent.
	Requests []Request `json:"requests"`
	// Responses are the answers those requests got when the entry joined.
	Responses []Response `json:"responses,omitempty"`
	// Reasons says what was new ("new status 404", "+3 functions").
	Reasons []string `json:"reasons,omitempty"`
	// Coverage is the signal the last request earned.
	Coverage Coverage `json:"coverage"`
	// AddedAt is the request number of the run at which the entry joined.
	AddedAt int64 `json:"added_at,omitempty"`
	// Source says where the entry came from when not from the fuzzer:
	// "driver: CMD" for what a user's driver command sent.
	Source string `json:"source,omitempty"`
}

// Coverage is what a request newly exercised in the target.
type Coverage struct {
	Functions int      `json:"functions,omitempty"`
	Files     int      `json:"files,omitempty"`
	Syscalls  int      `json:"syscalls,omitempty"`
	NewFiles  []string `json:"new_files,omitempty"`
}

// FindingRecord is a finding as stored: its identity in the clear and the
// fuzzer's full record (sequence, reproducer, answer) as opaque JSON.
type FindingRecord struct {
	ID        string          `json:"id"`
	Operation string          `json:"operation"`
	Check     string          `json:"check"`
	Signature string          `json:"signature"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// ContentID hashes what makes an entry distinct: its steps (whitespace
// ignored) and its requests.
func ContentID(steps json.RawMessage, reqs []Request) string {
	h := sha256.New()
	if len(steps) > 0 {
		var buf bytes.Buffer
		if json.Compact(&buf, steps) == nil {
			h.Write(buf.Bytes())
		} else {
			h.Write(steps)
		}
	}
	h.Write([]byte{0})
	for _, r := range reqs {
		h.Write([]byte(r.Key()))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// envelope wraps every corpus file: what it is, its version, and a checksum
// of the exact bytes of Data.
type envelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	SHA256  string          `json:"sha256,omitempty"`
	Data    json.RawMessage `json:"data"`
}

// ErrCorrupt is wrapped by every decoding error of a corpus file.
var ErrCorrupt = errors.New("corrupt corpus file")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func seal(format string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	out, err := json.Marshal(envelope{Format: format, Version: FormatVersion, SHA256: hex.EncodeToString(sum[:]), Data: data})
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// open checks an envelope and returns its payload.
func open(data []byte, format string) (json.RawMessage, error) {
	if len(data) > maxFileSize {
		return nil, corrupt("larger than %d bytes", maxFileSize)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, corrupt("%v", err)
	}
	if env.Format != format {
		return nil, corrupt("format %q, want %q", env.Format, format)
	}
	if env.Version < 1 || env.Version > FormatVersion {
		return nil, corrupt("format version %d, this whittle reads 1..%d", env.Version, FormatVersion)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil, corrupt("no data")
	}
	if env.SHA256 != "" {
		sum := sha256.Sum256(env.Data)
		if hex.EncodeToString(sum[:]) != strings.ToLower(env.SHA256) {
			return nil, corrupt("checksum mismatch")
		}
	}
	return env.Data, nil
}

// EncodeEntry renders an entry as the content of its file.
func EncodeEntry(e Entry) ([]byte, error) { return seal(formatEntry, e) }

// DecodeEntry parses and checks the content of an entry file. It never
// panics; every failure wraps ErrCorrupt.
func DecodeEntry(data []byte) (Entry, error) {
	payload, err := open(data, formatEntry)
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	if err := json.Unmarshal(payload, &e); err != nil {
		return Entry{}, corrupt("entry: %v", err)
	}
	if err := e.check(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func (e *Entry) check() error {
	if len(e.Requests) == 0 {
		return corrupt("entry has no requests")
	}
	for i, r := range e.Requests {
		if r.Method == "" || strings.ContainsAny(r.Method, " \t\r\n") {
			return corrupt("request %d: bad method %q", i, r.Method)
		}
	}
	if len(e.Responses) > len(e.Requests) {
		return corrupt("%d responses for %d requests", len(e.Responses), len(e.Requests))
	}
	if len(e.Steps) > 0 {
		t := bytes.TrimSpace(e.Steps)
		if len(t) == 0 || t[0] != '[' || !json.Valid(t) {
			return corrupt("steps are not a JSON array")
		}
	}
	if e.ID == "" {
		return corrupt("entry has no id")
	}
	if id := ContentID(e.Steps, e.Requests); id != e.ID {
		return corrupt("id %s does not match content (%s)", e.ID, id)
	}
	if e.Seq < 0 {
		return corrupt("negative seq")
	}
	return nil
}

// EncodeFinding renders a finding as the content of its file.
func EncodeFinding(f FindingRecord) ([]byte, error) { return seal(formatFinding, f) }

// DecodeFinding parses and checks the content of a finding file.
func DecodeFinding(data []byte) (FindingRecord, error) {
	payload, err := open(data, formatFinding)
	if err != nil {
		return FindingRecord{}, err
	}
	var f FindingRecord
	if err := json.Unmarshal(payload, &f); err != nil {
		return FindingRecord{}, corrupt("finding: %v", err)
	}
	if !validName(f.ID) {
		return FindingRecord{}, corrupt("finding id %q", f.ID)
	}
	return f, nil
}

// validName reports whether s can name a file in a corpus directory.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
