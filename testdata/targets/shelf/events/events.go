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
// about (subjects that differ only in case or punctuation are one).
func (l *Log) Summary(top int) (counts map[string]int, subjects []string) {
	counts = map[string]int{}
	bySubject := map[string]int{}
	l.each(func(_ []byte, e Event) {
		counts[e.Kind]++
		bySubject[slug.Make(e.Subject)]++
	})
	for s := range bySubject {
		subjects = append(subjects, s)
	}
	sort.Slice(subjects, func(i, j int) bool {
		a, b := subjects[i], subjects[j]
		return bySubject[a] > bySubject[b] || bySubject[a] == bySubject[b] && a < b
	})
	if len(subjects) > top {
		subjects = subjects[:top]
	}
	if subjects == nil {
		subjects = []string{}
	}
	return counts, subjects
}
