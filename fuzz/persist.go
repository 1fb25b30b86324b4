package fuzz

import (
	"encoding/json"
	"fmt"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/limits"
)

// entryFromCorpus turns a stored entry into one the fuzzer can run and
// mutate: its steps when they can be read, otherwise its requests, sent as
// they are.
func entryFromCorpus(ce corpus.Entry) (Entry, error) {
	e := Entry{StoreID: ce.ID, Requests: ce.Requests, Reasons: ce.Reasons, AddedAt: ce.AddedAt}
	var err error
	if len(ce.Steps) > 0 {
		var steps []Step
		if err = json.Unmarshal(ce.Steps, &steps); err == nil && validSteps(steps) {
			e.Steps = steps
			return e, nil
		}
		if err == nil {
			err = fmt.Errorf("steps without operations")
		}
		err = fmt.Errorf("corpus entry %s: reading its steps: %w; replaying its requests as they are", ce.ID, err)
	}
	for i := range ce.Requests {
		req := cloneRequest(ce.Requests[i])
		e.Steps = append(e.Steps, Step{Op: req.Operation, Raw: &req})
	}
	return e, err
}

func validSteps(steps []Step) bool {
	if len(steps) == 0 {
		return false
	}
	for _, s := range steps {
		if s.Op == "" && s.Raw == nil {
			return false
		}
	}
	return true
}

// EntriesFromCorpus converts stored entries in order; the warnings name
// entries whose steps could not be read (their requests are used instead).
func EntriesFromCorpus(ces []corpus.Entry) ([]Entry, []string) {
	out := make([]Entry, 0, len(ces))
	var warns []string
	for _, ce := range ces {
		e, err := entryFromCorpus(ce)
		if err != nil {
			warns = append(warns, err.Error())
		}
		if len(e.Steps) > 0 {
			out = append(out, e)
		}
	}
	return out, warns
}

// persistEntry writes e to the store with the answers its requests got
// (none for seeds) and the signal of the last, and returns its id there (""
// without a store or on error, which is kept as a warning).
func (l *loop) persistEntry(e Entry, resps []corpus.Response, sig Signal) string {
	st := l.cfg.store
	if st == nil {
		return ""
	}
	steps, err := json.Marshal(e.Steps)
	if err != nil {
		l.warn("encoding a corpus entry: %v", err)
		return ""
	}
	ce := corpus.Entry{Steps: steps, Requests: e.Requests, Responses: resps, Reasons: e.Reasons, AddedAt: e.AddedAt,
		Coverage: corpus.Coverage{Functions: sig.Functions, Files: sig.Files, Syscalls: sig.Syscalls, NewFiles: sig.NewFiles}}
	if len(ce.Requests) == 0 {
		return ""
	}
	switch n, size := st.Added(); {
	case n >= limits.CorpusEntries.Int():
		l.cfg.limits.Hit(limits.CorpusEntries, st.Dir())
		return ""
	case size >= limits.CorpusBytes.Value:
		l.cfg.limits.Hit(limits.CorpusBytes, st.Dir())
		return ""
	}
	stored, _, err := st.Put(ce)
	if err != nil {
		l.warn("%v", err)
		return ""
	}
	return stored.ID
}

// persistFinding writes f to the store, if any.
func (l *loop) persistFinding(f Finding) {
	st := l.cfg.store
	if st == nil {
		return
	}
	data, err := json.Marshal(f)
	if err != nil {
		l.warn("encoding finding %s: %v", f.ID, err)
		return
	}
	rec := corpus.FindingRecord{ID: f.ID, Operation: f.Operation, Check: string(f.Check), Signature: f.Signature, Data: data}
	if err := st.PutFinding(rec); err != nil {
		l.warn("%v", err)
	}
}

// unpersistFinding removes a finding a better one replaced from the store.
func (l *loop) unpersistFinding(id string) {
	if st := l.cfg.store; st != nil {
		if err := st.RemoveFinding(id); err != nil {
			l.warn("%v", err)
		}
	}
}

// maxWarnings bounds the warnings a run keeps (a full disk fails every write).
const maxWarnings = 20

func (l *loop) warn(format string, args ...any) {
	if len(l.warnings) < maxWarnings {
		l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
	}
}

// FindingsFromCorpus reads the findings a store holds; the warnings name
// records that could not be read.
func FindingsFromCorpus(recs []corpus.FindingRecord) ([]Finding, []string) {
	var out []Finding
	var warns []string
	for _, rec := range recs {
		var f Finding
		if err := json.Unmarshal(rec.Data, &f); err != nil {
			warns = append(warns, fmt.Sprintf("finding %s: %v", rec.ID, err))
			continue
		}
		out = append(out, f)
	}
	return out, warns
}
