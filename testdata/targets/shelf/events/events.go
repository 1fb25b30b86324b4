// Package events is shelf's activity log: append-only, never trimmed. It is
// kept as JSON lines, as it would be written to a file, and every read
// parses it all (the log of many small services).
package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/kestrel-labs/slug"
)

// Event is one entry of the log.
type Event struct {
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Message string `json:"message"`
}

// Log holds the events in order, one JSON line each.
type Log struct {
	journal []byte
	n       int64
}

// New returns an empty log.
func New() *Log { return &Log{} }

// Append adds an event.
func (l *Log) Append(kind, subject, message string) Event {
	l.n++
	e := Event{Seq: l.n, Kind: kind, Subject: subject, Message: message}
	line, _ := json.Marshal(e)
	l.journal = append(append(l.journal, line...), '\n')
	return e
}

// each calls f with every event, oldest first.
func (l *Log) each(f func(line []byte, e Event)) {
	rest := l.journal
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		line := rest[:i]
		rest = rest[i+1:]
		var e Event
		if json.Unmarshal(line, &e) == nil {
			f(line, e)
		}
	}
}

// Recent returns the last limit events of a kind ("" any), newest first,
// how many there are of it, and an entity tag of all of them.
func (l *Log) Recent(kind string, limit int) (out []Event, total int, etag string) {
	h := sha256.New()
	var all []Event
	l.each(func(line []byte, e Event) {
		if kind == "" || e.Kind == kind {
			all = append(all, e)
			h.Write(line)
		}
	})
	out = []Event{}
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, all[i])
	}
	return out, len(all), `"` + hex.EncodeToString(h.Sum(nil)[:8]) + `"`
}

// Summary counts the events by kind and names the subjects most talked
// about. A subject counts every event that spells it, give or take case,
// punctuation and one typo ("Blue Mug", "blue-mug", "blue mgu" are one), so
// every event is compared with every other: the log grows by one event and
// the summary costs the whole log once more.
func (l *Log) Summary(top int) (counts map[string]int, subjects []string) {
	counts = map[string]int{}
	var slugs []string
	l.each(func(_ []byte, e Event) {
		counts[e.Kind]++
		slugs = append(slugs, slug.Make(e.Subject))
	})
	mentions := map[string]int{}
	for _, s := range slugs {
		if _, done := mentions[s]; done {
			continue
		}
		for _, o := range slugs {
			if nearlySame(s, o) {
				mentions[s]++
			}
		}
	}
	for s := range mentions {
		subjects = append(subjects, s)
	}
	sort.Slice(subjects, func(i, j int) bool {
		a, b := subjects[i], subjects[j]
		return mentions[a] > mentions[b] || mentions[a] == mentions[b] && a < b
	})
	if len(subjects) > top {
		subjects = subjects[:top]
	}
	if subjects == nil {
		subjects = []string{}
	}
	return counts, subjects
}

// nearlySame says whether a and b are equal but for one changed, added,
// removed or swapped-neighbour character.
func nearlySame(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	if len(a)-len(b) > 1 {
		return false
	}
	i := 0
	for i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(b) {
		return true
	}
	if len(a) > len(b) {
		return a[i+1:] == b[i:]
	}
	if a[i+1:] == b[i+1:] {
		return true
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}
