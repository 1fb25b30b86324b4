package fuzz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/internal/limits"
)

// Finding is a distinct problem: one operation, one check, one signature.
type Finding struct {
	// ID is a short stable hash of Operation, Check and Signature.
	ID        string       `json:"id"`
	Operation string       `json:"operation"`
	Check     oracle.Check `json:"check"`
	// Signature tells findings of one check apart, e.g. "500 a1b2c3" or
	// "/items/0/age: value must be an integer".
	Signature string `json:"signature"`
	Message   string `json:"message"`
	// Requests is the sequence that led to it; the last one got Response.
	Requests []corpus.Request `json:"requests"`
	Response corpus.Response  `json:"response"`
	Intent   gen.Intent       `json:"intent"`
	// Curl reproduces Requests against the base URL given to the fuzzer.
	Curl string `json:"curl"`
	// Count is how many requests hit it; FirstRequest the request number of the first.
	Count        int   `json:"count"`
	FirstRequest int64 `json:"first_request"`
	// Steps is the sequence as the fuzzer replays it (Replay, corpus).
	Steps []Step `json:"steps,omitempty"`
	// Minimized is set when Steps were shrunk to a minimal sequence that
	// still triggers the finding; Requests and Curl are then that sequence's.
	Minimized bool `json:"minimized,omitempty"`
}

// judge turns the objectives' violations of one answer into findings
// (LibAFL's solutions). With a target to watch, transport errors and
// timeouts wait for the next answer (a target that died explains them);
// a finding known already only counts; a new one is minimised first, on
// the running target or on fresh ones (which restarts it), then recorded.
func (l *loop) judge(ctx context.Context, rec *record) {
	for _, v := range rec.violations {
		f := Finding{
			Operation: rec.op.ID, Check: v.Check, Signature: v.Signature, Message: v.Message,
			Requests: slices.Clone(rec.seq), Response: rec.resp, Intent: rec.req.Intent, FirstRequest: rec.n,
		}
		if l.cfg.target != nil && (v.Check == oracle.CheckTransport || v.Check == oracle.CheckTimeout) {
			l.instance.held = append(l.instance.held, f)
			continue
		}
		if l.findings.has(rec.op.ID, v.Check, v.Signature) {
			l.findings.add(f)
			continue
		}
		if l.overFindingBudget(f) {
			continue // counted before minimising, which costs requests and restarts
		}
		if rec.batch != nil {
			rec.batch.deferFinding(f, rec) // minimised after the batch (workers.go)
			continue
		}
		f.Steps = l.instance.history.tail(1)
		l.minimizeFinding(ctx, &f, f.Steps)
		l.recordFinding(f)
	}
}

// releaseHeld records the held transport findings: the target answered
// since, so it did not die of them.
func (l *loop) releaseHeld() {
	for _, f := range l.instance.held {
		f.Steps = nil
		l.recordFinding(f)
	}
	l.instance.held = nil
}

// recordFinding adds f (deduplicated), persists it and announces it when new.
func (l *loop) recordFinding(f Finding) (Finding, bool) {
	if l.overFindingBudget(f) {
		return f, false
	}
	if f.Curl == "" {
		f.Curl = oracle.CurlSequence(l.baseURL(), f.Requests)
	}
	got, isNew, updated := l.findings.add(f)
	if isNew || updated {
		l.persistFinding(got)
	}
	if isNew {
		l.mon.emit(Event{Kind: EventFinding, Request: got.FirstRequest, Operation: got.Operation, Finding: &got})
	}
	return got, isNew
}

// overFindingBudget reports whether f would be one finding too many of its
// check on its operation (limits.FindingsPerCheck), recording the limit:
// signatures come from text the target chooses, and a target that answers
// a new 500 body every time would otherwise make every request a finding,
// minimised with restarts.
func (l *loop) overFindingBudget(f Finding) bool {
	if l.findings.has(f.Operation, f.Check, f.Signature) || !l.findings.full(f.Operation, f.Check) {
		return false
	}
	l.cfg.limits.Hit(limits.FindingsPerCheck, f.Operation+" "+string(f.Check))
	return true
}

// findingAnswerBytes bounds what a finding keeps of its answer's headers,
// and of its body: it is shown, not replayed, and a run keeps up to
// limits.FindingsPerCheck findings of each check on each operation.
const findingAnswerBytes = 64 << 10

// findingAnswer is resp as a finding keeps it: headers in sorted order
// while they fit findingAnswerBytes, the body cut there (marked truncated).
func findingAnswer(resp corpus.Response) corpus.Response {
	if len(resp.Body) > findingAnswerBytes {
		resp.Body, resp.Truncated = resp.Body[:findingAnswerBytes:findingAnswerBytes], true
	}
	size := 0
	for k, vs := range resp.Header {
		size += len(k)
		for _, v := range vs {
			size += len(v)
		}
	}
	if size <= findingAnswerBytes {
		return resp
	}
	kept, left := map[string][]string{}, findingAnswerBytes
	for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
		n := len(k)
		for _, v := range resp.Header[k] {
			n += len(v)
		}
		if n > left {
			continue
		}
		kept[k], left = slices.Clone(resp.Header[k]), left-n
	}
	resp.Header = kept
	return resp
}

func findingID(op string, check oracle.Check, sig string) string {
	sum := sha256.Sum256([]byte(op + "\x00" + string(check) + "\x00" + sig))
	return hex.EncodeToString(sum[:6])
}

// findingSet deduplicates findings, and counts the distinct ones of each
// check on each operation; safe for concurrent use.
type findingSet struct {
	mu       sync.Mutex
	byID     map[string]*Finding
	order    []string
	perCheck map[string]int
}

func newFindingSet() *findingSet {
	return &findingSet{byID: map[string]*Finding{}, perCheck: map[string]int{}}
}

func checkKey(op string, check oracle.Check) string { return op + "\x00" + string(check) }

// full reports whether op has as many distinct findings of check as a run
// keeps.
func (s *findingSet) full(op string, check oracle.Check) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perCheck[checkKey(op, check)] >= limits.FindingsPerCheck.Int()
}

// add records f and reports whether it is new, and whether an existing
// finding got a better reproducer (minimised, or shorter); repeated ones
// only count.
func (s *findingSet) add(f Finding) (got Finding, isNew, updated bool) {
	f.ID = findingID(f.Operation, f.Check, f.Signature)
	f.Response = findingAnswer(f.Response)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.byID[f.ID]; ok {
		cur.Count += max(1, f.Count)
		better := f.Minimized && !cur.Minimized ||
			f.Minimized == cur.Minimized && len(f.Requests) < len(cur.Requests)
		if better {
			cur.Requests, cur.Response, cur.Curl, cur.Intent = f.Requests, f.Response, f.Curl, f.Intent
			cur.Steps, cur.Minimized = f.Steps, f.Minimized
		}
		return *cur, false, better
	}
	f.Count = max(1, f.Count)
	s.perCheck[checkKey(f.Operation, f.Check)]++
	s.byID[f.ID] = &f
	s.order = append(s.order, f.ID)
	return f, true, false
}

// dropGuesses removes the crash findings of f's signature that were never
// reproduced from a fresh start and name another operation than f: the
// request that noticed such a crash, while several were in flight, need
// not have caused it. It returns their ids and how many crashes they
// counted; f, reproduced, takes their place.
func (s *findingSet) dropGuesses(f Finding) (ids []string, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.order = slices.DeleteFunc(s.order, func(id string) bool {
		g := s.byID[id]
		if g.Check != oracle.CheckCrash || g.Signature != f.Signature || g.Minimized || g.Operation == f.Operation {
			return false
		}
		ids, count = append(ids, id), count+g.Count
		s.perCheck[checkKey(g.Operation, g.Check)]--
		delete(s.byID, id)
		return true
	})
	return ids, count
}

// has reports whether a finding with this identity is known.
func (s *findingSet) has(op string, check oracle.Check, sig string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[findingID(op, check, sig)]
	return ok
}

func (s *findingSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// list returns findings in order of discovery.
func (s *findingSet) list() []Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Finding, len(s.order))
	for i, id := range s.order {
		out[i] = *s.byID[id]
	}
	return out
}

// SortFindings orders findings by operation, check and signature.
func SortFindings(fs []Finding) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.Check != b.Check {
			return a.Check < b.Check
		}
		return a.Signature < b.Signature
	})
}
