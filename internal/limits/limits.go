// Package limits names every budget whittle holds a target to. whittle runs
// as root and reads what the target controls (a discovered spec is served by
// the target itself, and every answer is the target's), so each of these is
// bounded, here, in one place: the README's containment section lists the
// same table (a test keeps them in step).
//
// A limit that is reached does not end the run where the run can go on: the
// spec is refused, or the value, the operation or the answer is skipped or
// cut, and the limit is recorded once per run in a Recorder (logged once,
// reported as limits_hit).
package limits

import (
	"fmt"
	"sync"
	"time"
)

// Unit says how a limit's value reads.
type Unit string

const (
	Bytes    Unit = "bytes"
	Count    Unit = "count"
	Duration Unit = "duration" // nanoseconds
)

// Limit is one budget: its name, its value, what it bounds and what whittle
// does when it is reached.
type Limit struct {
	// Name is stable: it is what reports and logs say, e.g. "spec.bytes".
	Name  string
	Value int64
	Unit  Unit
	// Bounds says what is counted, OnHit what happens when it is reached.
	Bounds, OnHit string
}

// Int is the value as an int.
func (l Limit) Int() int { return int(l.Value) }

// Duration is the value as a duration (Unit Duration).
func (l Limit) Duration() time.Duration { return time.Duration(l.Value) }

// Format is the value for people: "64 MiB", "2000", "200ms".
func (l Limit) Format() string {
	switch l.Unit {
	case Bytes:
		return formatBytes(l.Value)
	case Duration:
		return time.Duration(l.Value).String()
	}
	return fmt.Sprint(l.Value)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// The limits. Specs: the user's own file or URL is trusted more than a spec
// the target serves, which is held to lower caps.
var (
	SpecBytes = Limit{Name: "spec.bytes", Value: 64 << 20, Unit: Bytes,
		Bounds: "a spec file or URL given by the user, with every document its $refs read",
		OnHit:  "the spec is refused"}
	DiscoveredSpecBytes = Limit{Name: "spec.discovered_bytes", Value: 8 << 20, Unit: Bytes,
		Bounds: "a spec discovered on the target",
		OnHit:  "the spec is refused"}
	SpecNodes = Limit{Name: "spec.nodes", Value: 1_000_000, Unit: Count,
		Bounds: "values in a spec given by the user and the documents its $refs read (YAML aliases counted expanded)",
		OnHit:  "the spec is refused"}
	DiscoveredSpecNodes = Limit{Name: "spec.discovered_nodes", Value: 250_000, Unit: Count,
		Bounds: "values in a spec discovered on the target",
		OnHit:  "the spec is refused"}
	SpecKeys = Limit{Name: "spec.object_keys", Value: 10_000, Unit: Count,
		Bounds: "keys of one object in a spec given by the user (but paths: see spec.operations)",
		OnHit:  "the spec is refused"}
	DiscoveredSpecKeys = Limit{Name: "spec.discovered_object_keys", Value: 2_000, Unit: Count,
		Bounds: "keys of one object in a spec discovered on the target (but paths)",
		OnHit:  "the spec is refused"}
	SpecNesting = Limit{Name: "spec.nesting", Value: 256, Unit: Count,
		Bounds: "how deep objects and arrays nest in a spec",
		OnHit:  "the spec is refused"}
	RefChain = Limit{Name: "spec.ref_chain", Value: 32, Unit: Count,
		Bounds: "a $ref naming a $ref naming a $ref ..., hops in one chain",
		OnHit:  "the spec is refused"}
	SpecDocuments = Limit{Name: "spec.documents", Value: 256, Unit: Count,
		Bounds: "documents a spec's $refs read (a discovered spec reads none)",
		OnHit:  "the spec is refused"}
	SpecOperations = Limit{Name: "spec.operations", Value: 5000, Unit: Count,
		Bounds: "operations of one spec that a run fuzzes",
		OnHit:  "an even spread of that many operations is fuzzed, the others are left out (logged)"}

	// Generation: per generated value (a parameter or a body).
	GenLength = Limit{Name: "gen.length", Value: 64 << 10, Unit: Count,
		Bounds: "characters of a generated string (minLength above it cannot be met)",
		OnHit:  "the value is not generated: its request goes without it"}
	GenItems = Limit{Name: "gen.items", Value: 256, Unit: Count,
		Bounds: "items of a generated array, properties of a generated object (minItems, minProperties above it cannot be met)",
		OnHit:  "the value is not generated: its request goes without it"}
	GenSteps = Limit{Name: "gen.steps", Value: 20_000, Unit: Count,
		Bounds: "work to generate one value: schema nodes visited (oneOf tries, recursion, validations) and 64 bytes of string per step; the same on every machine",
		OnHit:  "the value is not generated: its request goes without it"}
	GenTime = Limit{Name: "gen.time", Value: int64(250 * time.Millisecond), Unit: Duration,
		Bounds: "time to generate one value, a safety net behind gen.steps",
		OnHit:  "the value is not generated: its request goes without it"}

	// Answers.
	AnswerHeaderBytes = Limit{Name: "answer.header_bytes", Value: 1 << 20, Unit: Bytes,
		Bounds: "the status line and headers of one answer",
		OnHit:  "the answer keeps its status, not its headers nor its body (marked Whittle-Limit: answer.header_bytes)"}
	AnswerBodyBytes = Limit{Name: "answer.body_bytes", Value: 1 << 20, Unit: Bytes,
		Bounds: "the body of one answer",
		OnHit:  "the body is cut there and marked truncated"}

	// Judging answers: the oracle's schema validation, per answer. A
	// recursive oneOf answered with deep data costs the validator every
	// branch at every level; the work is counted before validating.
	ValidationDepth = Limit{Name: "oracle.validation_depth", Value: 64, Unit: Count,
		Bounds: "how deep arrays and objects nest in an answer's JSON body",
		OnHit:  "the body is not checked against its schema (status and media type still are)"}
	ValidationSteps = Limit{Name: "oracle.validation_steps", Value: 1_000_000, Unit: Count,
		Bounds: "work to check one answer's body against its schema: schema nodes times values, every oneOf, anyOf and allOf branch counted; the same on every machine",
		OnHit:  "the body is not checked against its schema (status and media type still are)"}

	// The corpus on disk: an entry holds the answers its requests got.
	CorpusEntries = Limit{Name: "corpus.entries", Value: 20_000, Unit: Count,
		Bounds: "entries one run adds to a corpus directory",
		OnHit:  "later entries stay in memory only (the in-memory corpus keeps its own bound)"}
	CorpusBytes = Limit{Name: "corpus.bytes", Value: 1 << 30, Unit: Bytes,
		Bounds: "bytes of entries one run adds to a corpus directory",
		OnHit:  "later entries stay in memory only (the in-memory corpus keeps its own bound)"}

	// Findings: signatures come from text the target chooses.
	FindingsPerCheck = Limit{Name: "findings.per_check", Value: 16, Unit: Count,
		Bounds: "distinct findings of one check on one operation, counted before minimising",
		OnHit:  "further ones are neither minimised nor stored (this limit counts them)"}
)

// All lists every limit, in the order the README documents them.
func All() []Limit {
	return []Limit{
		SpecBytes, DiscoveredSpecBytes, SpecNodes, DiscoveredSpecNodes, SpecKeys, DiscoveredSpecKeys,
		SpecNesting, RefChain, SpecDocuments, SpecOperations,
		GenLength, GenItems, GenSteps, GenTime,
		AnswerHeaderBytes, AnswerBodyBytes,
		ValidationDepth, ValidationSteps, CorpusEntries, CorpusBytes, FindingsPerCheck,
	}
}

// Hit is a limit reached during a run: which, how often, and where first.
type Hit struct {
	Limit string `json:"limit"`
	Value int64  `json:"value"`
	Count int64  `json:"count"`
	// First says where it was first reached, e.g. "GET /search query.q".
	First string `json:"first"`
	// OnHit is what whittle did.
	OnHit string `json:"on_hit"`
}

// String is the line logged when the limit is first reached.
func (h Hit) String() string {
	l := Limit{Name: h.Limit, Value: h.Value, Unit: unitOf(h.Limit)}
	s := fmt.Sprintf("limit %s (%s) reached", h.Limit, l.Format())
	if h.First != "" {
		s += " at " + h.First
	}
	return s + ": " + h.OnHit
}

func unitOf(name string) Unit {
	for _, l := range All() {
		if l.Name == name {
			return l.Unit
		}
	}
	return Count
}

// Recorder collects the limits reached in one run. It is safe for
// concurrent use; a nil *Recorder records nothing.
type Recorder struct {
	mu      sync.Mutex
	hits    map[string]*Hit
	order   []string
	onFirst func(Hit)
}

// NewRecorder returns a recorder that calls onFirst (if not nil) the first
// time each limit is reached, outside its lock: the run logs it there.
func NewRecorder(onFirst func(Hit)) *Recorder {
	return &Recorder{hits: map[string]*Hit{}, onFirst: onFirst}
}

// Hit records that l was reached at where.
func (r *Recorder) Hit(l Limit, where string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	h, ok := r.hits[l.Name]
	if ok {
		h.Count++
		r.mu.Unlock()
		return
	}
	h = &Hit{Limit: l.Name, Value: l.Value, Count: 1, First: where, OnHit: l.OnHit}
	r.hits[l.Name] = h
	r.order = append(r.order, l.Name)
	first := *h
	r.mu.Unlock()
	if r.onFirst != nil {
		r.onFirst(first)
	}
}

// Hits returns the limits reached, in the order they were first reached.
func (r *Recorder) Hits() []Hit {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Hit, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, *r.hits[n])
	}
	return out
}

// Reached reports whether l was reached.
func (r *Recorder) Reached(l Limit) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.hits[l.Name]
	return ok
}
