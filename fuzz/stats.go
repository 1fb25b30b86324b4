package fuzz

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"
)

// OpStats counts one operation's requests by answer class.
type OpStats struct {
	Requests int64 `json:"requests"`
	// Status counts answers by class: index 0 no answer, 1..5 1xx..5xx.
	Status [6]int64 `json:"status"`
}

// Successes counts 2xx answers.
func (o OpStats) Successes() int64 { return o.Status[2] }

// Stats is a snapshot of a run's progress.
type Stats struct {
	Requests          int64         `json:"requests"`
	Elapsed           time.Duration `json:"elapsed_ns"`
	RequestsPerSecond float64       `json:"requests_per_second"`
	Findings          int           `json:"findings"`
	CorpusSize        int           `json:"corpus_size"`
	DictionarySize    int           `json:"dictionary_size"`
	// Functions, Files and Syscalls total what feedback reported new.
	Functions int `json:"functions"`
	Files     int `json:"files"`
	Syscalls  int `json:"syscalls"`
	// LastNew is the time since start of the last new signal (coverage or
	// response novelty); zero when none yet.
	LastNew time.Duration `json:"last_new_ns"`
	// Phases counts requests by generation phase (valid, boundary, invalid).
	Phases        [3]int64           `json:"phases"`
	DroppedEvents int64              `json:"dropped_events"`
	Operations    map[string]OpStats `json:"operations"`
}

// statsCollector is written by the fuzz loop and read by anyone.
type statsCollector struct {
	start    time.Time
	requests atomic.Int64
	dropped  atomic.Int64

	mu        sync.Mutex
	ops       map[string]OpStats
	phases    [3]int64
	findings  int
	corpus    int
	dict      int
	functions int
	files     int
	syscalls  int
	lastNew   time.Duration
}

func newStats() *statsCollector {
	return &statsCollector{start: time.Now(), ops: map[string]OpStats{}}
}

func (s *statsCollector) request(op string, status int, phase int) int64 {
	n := s.requests.Add(1)
	class := 0
	if status >= 100 && status < 600 {
		class = status / 100
	}
	s.mu.Lock()
	o := s.ops[op]
	o.Requests++
	o.Status[class]++
	s.ops[op] = o
	if phase >= 0 && phase < 3 {
		s.phases[phase]++
	}
	s.mu.Unlock()
	return n
}

func (s *statsCollector) signal(sig Signal, isNew bool) {
	s.mu.Lock()
	s.functions += sig.Functions
	s.files += max(sig.Files, len(sig.NewFiles))
	s.syscalls += sig.Syscalls
	if isNew {
		s.lastNew = time.Since(s.start)
	}
	s.mu.Unlock()
}

func (s *statsCollector) set(findings, corpus, dict int) {
	s.mu.Lock()
	s.findings, s.corpus, s.dict = findings, corpus, dict
	s.mu.Unlock()
}

func (s *statsCollector) opRequests(op string) (int64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ops[op]
	return o.Requests, o.Status[2]
}

func (s *statsCollector) snapshot() Stats {
	el := time.Since(s.start)
	st := Stats{Requests: s.requests.Load(), Elapsed: el, DroppedEvents: s.dropped.Load()}
	if sec := el.Seconds(); sec > 0 {
		st.RequestsPerSecond = float64(st.Requests) / sec
	}
	s.mu.Lock()
	st.Operations = maps.Clone(s.ops)
	st.Phases = s.phases
	st.Findings, st.CorpusSize, st.DictionarySize = s.findings, s.corpus, s.dict
	st.Functions, st.Files, st.Syscalls = s.functions, s.files, s.syscalls
	st.LastNew = s.lastNew
	s.mu.Unlock()
	return st
}

// EventKind names a discrete event.
type EventKind string

// The events the fuzzer publishes.
const (
	EventFinding   EventKind = "finding"
	EventCoverage  EventKind = "coverage"
	EventSelection EventKind = "input-selected-files"
	EventDone      EventKind = "done"
)

// Event is a discrete happening in a run.
type Event struct {
	Kind EventKind `json:"kind"`
	// At is the time since the run started; Request the request number.
	At        time.Duration `json:"at_ns"`
	Request   int64         `json:"request"`
	Operation string        `json:"operation,omitempty"`
	Finding   *Finding      `json:"finding,omitempty"`
	Selection *Selection    `json:"selection,omitempty"`
	// Reasons says what was new ("new status 404", "+3 functions").
	Reasons []string `json:"reasons,omitempty"`
}
