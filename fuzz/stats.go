package fuzz

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
)

// OpStats counts one operation's requests by answer class.
type OpStats struct {
	Requests int64 `json:"requests"`
	// Status counts answers by class: index 0 no answer, 1..5 1xx..5xx.
	Status [6]int64 `json:"status"`
	// New counts requests that earned something new (coverage, a status
	// or response shape not seen before for the operation).
	New int64 `json:"new"`
	// MeanLatency is the mean time to an answer; RecentLatency a moving
	// mean that weighs the last answers most (see recentLatencies).
	MeanLatency   time.Duration `json:"mean_latency_ns,omitempty"`
	RecentLatency time.Duration `json:"recent_latency_ns,omitempty"`
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
	// Crashes counts target crashes; Restarts fresh targets (crashes,
	// minimisation attempts, latency); MinimizeRequests requests sent to minimise
	// findings (not counted in Requests).
	Crashes          int   `json:"crashes,omitempty"`
	Restarts         int   `json:"restarts,omitempty"`
	MinimizeRequests int64 `json:"minimize_requests,omitempty"`
	// LatencyRestarts counts the restarts (among Restarts) of a target
	// whose answers kept slowing down; CleanupDeletes the DELETE requests
	// sent to remove what the run created (not counted in Requests), and
	// CleanupFailures those that did not remove it.
	LatencyRestarts int   `json:"latency_restarts,omitempty"`
	CleanupDeletes  int64 `json:"cleanup_deletes,omitempty"`
	CleanupFailures int64 `json:"cleanup_failures,omitempty"`
	// Paused is set while the loop is paused; Skipped lists skipped operations.
	Paused  bool     `json:"paused,omitempty"`
	Skipped []string `json:"skipped,omitempty"`
}

// statsCollector is written by the fuzz loop and read by anyone.
type statsCollector struct {
	start    atomic.Pointer[time.Time]
	paused   func() time.Duration
	requests atomic.Int64
	dropped  atomic.Int64
	minReqs  atomic.Int64
	cleanups atomic.Int64
	cleanErr atomic.Int64

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
	crashes   int
	restarts  int
	slowRest  int
	latency   map[string]*opLatency
}

// opLatency is the time an operation's answers took: their total, and an
// exponentially weighted moving mean. Restart decisions keep their own
// windows (upkeep.Latency): the report needs no more than these.
type opLatency struct {
	total  time.Duration
	n      int64
	recent float64 // ns
}

// recentLatencies is about how many of an operation's last answers
// RecentLatency stands for: each answer weighs 2/(recentLatencies+1), so
// the last recentLatencies carry most (~87%) of the weight.
const recentLatencies = 32

// newStats starts the clock; paused says how long the run was paused, which
// the elapsed time leaves out (nil: never paused).
func newStats(paused func() time.Duration) *statsCollector {
	if paused == nil {
		paused = func() time.Duration { return 0 }
	}
	s := &statsCollector{paused: paused, ops: map[string]OpStats{}, latency: map[string]*opLatency{}}
	s.restartClock()
	return s
}

// elapsed is the running time, pauses left out.
func (s *statsCollector) elapsed() time.Duration {
	return max(0, time.Since(*s.start.Load())-s.paused())
}

// restartClock starts counting from now (Run's start).
func (s *statsCollector) restartClock() {
	now := time.Now()
	s.start.Store(&now)
}

func (s *statsCollector) crash() {
	s.mu.Lock()
	s.crashes++
	s.mu.Unlock()
}

func (s *statsCollector) restart() {
	s.mu.Lock()
	s.restarts++
	s.mu.Unlock()
}

func (s *statsCollector) minimizeRequest() { s.minReqs.Add(1) }

func (s *statsCollector) latencyRestart() {
	s.mu.Lock()
	s.slowRest++
	s.mu.Unlock()
}

func (s *statsCollector) cleanupDelete(ok bool) {
	s.cleanups.Add(1)
	if !ok {
		s.cleanErr.Add(1)
	}
}

// answerTime records how long an answer took (not for requests that got none).
func (s *statsCollector) answerTime(op string, resp corpus.Response) {
	if resp.Status == 0 || resp.Duration <= 0 {
		return
	}
	s.mu.Lock()
	l := s.latency[op]
	if l == nil {
		l = &opLatency{}
		s.latency[op] = l
	}
	if l.n == 0 {
		l.recent = float64(resp.Duration)
	} else {
		l.recent += (float64(resp.Duration) - l.recent) * 2 / (recentLatencies + 1)
	}
	l.n++
	l.total += resp.Duration
	s.mu.Unlock()
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

func (s *statsCollector) signal(op string, sig Signal, isNew bool) {
	el := s.elapsed()
	s.mu.Lock()
	s.functions += sig.Functions
	s.files += max(sig.Files, len(sig.NewFiles))
	s.syscalls += sig.Syscalls
	if isNew {
		s.lastNew = el
		o := s.ops[op]
		o.New++
		s.ops[op] = o
	}
	s.mu.Unlock()
}

func (s *statsCollector) lastNewAt() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastNew
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
	el := s.elapsed()
	st := Stats{Requests: s.requests.Load(), Elapsed: el, DroppedEvents: s.dropped.Load(), MinimizeRequests: s.minReqs.Load()}
	if sec := el.Seconds(); sec > 0 {
		st.RequestsPerSecond = float64(st.Requests) / sec
	}
	s.mu.Lock()
	st.Operations = maps.Clone(s.ops)
	st.Phases = s.phases
	st.Findings, st.CorpusSize, st.DictionarySize = s.findings, s.corpus, s.dict
	st.Functions, st.Files, st.Syscalls = s.functions, s.files, s.syscalls
	st.LastNew = s.lastNew
	st.Crashes, st.Restarts, st.LatencyRestarts = s.crashes, s.restarts, s.slowRest
	for op, l := range s.latency {
		o := st.Operations[op]
		o.MeanLatency = l.total / time.Duration(l.n)
		o.RecentLatency = time.Duration(l.recent)
		st.Operations[op] = o
	}
	s.mu.Unlock()
	st.CleanupDeletes, st.CleanupFailures = s.cleanups.Load(), s.cleanErr.Load()
	return st
}

// monitor is the run's statistics and events (LibAFL's Monitor): counters
// the UI pulls (Stats), discrete events pushed to it without ever blocking
// the loop. As an observer it counts what each answer brought.
// Reads: op, sig, new. Changes: the statistics; emits coverage events.
type monitor struct {
	stats  *statsCollector
	events chan<- Event
}

func newMonitor(paused func() time.Duration, events chan<- Event) *monitor {
	return &monitor{stats: newStats(paused), events: events}
}

func (m *monitor) observe(_ context.Context, rec *record) {
	m.stats.signal(rec.op.ID, rec.sig, len(rec.new) > 0)
	if len(rec.new) > 0 {
		m.emit(Event{Kind: EventCoverage, Request: rec.n, Operation: rec.op.ID, Reasons: rec.new})
	}
}

// emit sends an event without blocking the loop: one that does not fit is
// dropped and counted.
func (m *monitor) emit(e Event) {
	if m.events == nil {
		return
	}
	e.At = m.stats.elapsed()
	select {
	case m.events <- e:
	default:
		m.stats.dropped.Add(1)
	}
}

// EventKind names a discrete event.
type EventKind string

// The events the fuzzer publishes.
const (
	EventFinding   EventKind = "finding"
	EventCoverage  EventKind = "coverage"
	EventSelection EventKind = "input-selected-files"
	// EventRestart: the target was replaced by a fresh one (after a crash,
	// or to minimise a finding); Reasons says why.
	EventRestart EventKind = "restart"
	EventDone    EventKind = "done"
)

// Event is a discrete happening in a run.
type Event struct {
	Kind EventKind `json:"kind"`
	// At is the time since the run started; Request the request number.
	At        time.Duration       `json:"at_ns"`
	Request   int64               `json:"request"`
	Operation string              `json:"operation,omitempty"`
	Finding   *Finding            `json:"finding,omitempty"`
	Selection *inputsel.Selection `json:"selection,omitempty"`
	// Reasons says what was new ("new status 404", "+3 functions").
	Reasons []string `json:"reasons,omitempty"`
}
