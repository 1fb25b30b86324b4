// Package report defines whittle's run report and writes it as JSON (the
// versioned schema in schema/report.schema.json), JUnit XML and SARIF.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/whittle-dev/whittle/internal/limits"
)

// SchemaVersion identifies the JSON report format; bump it on breaking changes.
const SchemaVersion = "whittle.report/v1"

// Report is everything a run found out.
type Report struct {
	Schema     string    `json:"schema"`
	Tool       Tool      `json:"tool"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`

	Original ImageInfo  `json:"original"`
	Minimal  *ImageInfo `json:"minimal,omitempty"`
	Ratio    float64    `json:"ratio,omitempty"` // original size / minimal size
	Spec     SpecInfo   `json:"spec"`
	Trace    TraceInfo  `json:"trace"`
	Fuzz     FuzzInfo   `json:"fuzz"`
	Files    []File     `json:"files,omitempty"`
	// Reasons totals the bytes of regular files by the kind of their first reason.
	Reasons      map[string]int64 `json:"reasons,omitempty"`
	Verification *Verification    `json:"verification,omitempty"`
	Outputs      []string         `json:"outputs,omitempty"`
	// Timings are the seconds each phase took.
	Timings map[string]float64 `json:"timings,omitempty"`
	// RunConfig, Dependencies and Drivers describe a real service's run:
	// the user's settings, the companion services, the user's drivers.
	RunConfig    *RunConfig   `json:"run_config,omitempty"`
	Dependencies []Dependency `json:"dependencies,omitempty"`
	Drivers      []Driver     `json:"drivers,omitempty"`
	// LimitsHit are the budgets the target made the run reach.
	LimitsHit []limits.Hit `json:"limits_hit,omitempty"`
	Error     string       `json:"error,omitempty"`
}

// Tool names the producer.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ImageInfo describes an image.
type ImageInfo struct {
	Ref   string `json:"ref"`
	ID    string `json:"id"`
	Size  int64  `json:"size"`
	Files int    `json:"files,omitempty"` // entries other than directories
}

// SpecInfo describes the API specification used.
type SpecInfo struct {
	Source     string   `json:"source"`
	Title      string   `json:"title,omitempty"`
	Version    string   `json:"version,omitempty"`
	Hash       string   `json:"hash,omitempty"`
	Operations int      `json:"operations"`
	Warnings   []string `json:"warnings,omitempty"`
}

// TraceInfo summarises what the tracer saw.
type TraceInfo struct {
	Tier           string   `json:"tier"`
	Files          int      `json:"files"`
	FailedLookups  int      `json:"failed_lookups"`
	Syscalls       []string `json:"syscalls,omitempty"`
	Events         uint64   `json:"events"`
	Lost           uint64   `json:"lost"`
	Functions      int      `json:"functions,omitempty"`
	FunctionsTotal int      `json:"functions_total,omitempty"`
	Coverage       string   `json:"coverage,omitempty"` // e.g. "uprobe functions", "python lines", "files only"
	// CoverageScope says which functions of a Go binary were probed by
	// default and how that scope was derived.
	CoverageScope *CoverageScope `json:"coverage_scope,omitempty"`
	// CodeCoverage: the mechanism, the scope's files, start-up and requests.
	CodeCoverage *CodeCoverage `json:"code_coverage,omitempty"`
}

// CoverageScope is the default coverage scope of a Go binary: package main
// and the application's root.
type CoverageScope struct {
	// Root is the application's import path prefix ("" when only main).
	Root string `json:"root,omitempty"`
	// From is "module" (the build info's main module), "build-info path"
	// (a module-less GOPATH build: the main package's repository root),
	// "pclntab prefix" (the non-standard prefix holding most functions)
	// or "main only"; for a JVM (methods) "Main-Class" or "Start-Class"
	// (the jar's manifest), "main class" (java CLASS) or "options" (the
	// --cover patterns). Detail says how in a sentence.
	From   string `json:"derived_from"`
	Detail string `json:"detail"`
	// Patterns and Exclude are the package patterns applied; Packages the
	// binary's packages they select; Functions how many functions.
	Patterns  []string `json:"patterns,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	Packages  []string `json:"packages,omitempty"`
	Functions int      `json:"functions"`
}

// FuzzInfo summarises the exercise of the target.
type FuzzInfo struct {
	Seed       int64       `json:"seed"`
	Duration   float64     `json:"duration_seconds"`
	Requests   int64       `json:"requests"`
	CorpusSize int         `json:"corpus_size"`
	StopReason string      `json:"stop_reason,omitempty"`
	Operations []Operation `json:"operations"`
	Findings   []Finding   `json:"findings"`
	// SelectedDirs are directories whose files a request value selects; the
	// minimal image keeps them whole.
	SelectedDirs []Selection `json:"selected_dirs,omitempty"`
	// ValueNames counts the names tried because a value the target
	// accepted spelled a name of a directory it listed (a sample of an
	// interpreter's codecs, drivers, locales: never the whole directory).
	ValueNames int `json:"value_names,omitempty"`
	// Linked are files that requests of paths the target's pages link
	// (assets no spec lists) made it use; the minimal image keeps them.
	Linked []Linked `json:"linked,omitempty"`
	// Strategy is "fuzz" (coverage-guided) or "once" (each operation once).
	Strategy string `json:"strategy,omitempty"`
	// Timeline samples progress during fuzzing (coverage over time, and
	// whittle's own memory, goroutines and descriptors).
	Timeline []Sample `json:"timeline,omitempty"`
	// Restarts counts fresh targets started during fuzzing (after crashes,
	// to minimise findings, and for latency); LatencyRestarts those that
	// replaced a target whose answers kept slowing down.
	Restarts        int `json:"restarts,omitempty"`
	LatencyRestarts int `json:"latency_restarts,omitempty"`
	// GCDeletes counts the DELETE requests sent to remove what the run
	// created (not in Requests); GCDeleteFailures those that did not.
	GCDeletes        int64 `json:"gc_deletes,omitempty"`
	GCDeleteFailures int64 `json:"gc_delete_failures,omitempty"`
	// Shard is the part of a campaign split across jobs this run fuzzed;
	// Seed above is the campaign's.
	Shard *Shard `json:"shard,omitempty"`
	// Concurrency says how many workers ran, each change of their count
	// and why, and how coverage was attributed; Connections why every
	// request opened a connection of its own ("": kept-alive ones).
	Concurrency *Concurrency `json:"concurrency,omitempty"`
	Connections string       `json:"connections,omitempty"`
	// Capacity is what the traced target took from a closed loop of
	// keep-alive GETs right before fuzzing (asked for by the bench), to
	// set the fuzzer's executions/s against.
	Capacity *Capacity `json:"capacity,omitempty"`
}

// Capacity is a load of plain keep-alive GETs of one path, sent to the
// traced target right before fuzzing: what it takes with the tracer
// attached, in the same run as the fuzzing.
type Capacity struct {
	Path string `json:"path"`
	// CodeCoverage is "paused" when the code coverage was switched off
	// during the load (a costly one, Python's line probe or V8's, which
	// the fuzzer samples too), "on" when it was on, "" without any.
	CodeCoverage string                `json:"code_coverage,omitempty"`
	Measurements []CapacityMeasurement `json:"measurements"`
}

// CapacityMeasurement is one load: Connections clients each sending the
// next GET as soon as the last one is answered, for Seconds.
type CapacityMeasurement struct {
	Connections int `json:"connections"`
	// FreshConnections: each request opened a connection of its own
	// (otherwise they were kept alive).
	FreshConnections bool    `json:"fresh_connections,omitempty"`
	Seconds          float64 `json:"seconds"`
	// Requests are the answered ones, whatever their status.
	Requests          int64            `json:"requests"`
	RequestsPerSecond float64          `json:"requests_per_second"`
	Statuses          map[string]int64 `json:"statuses"`
	// Error says why the figure is not the target's capacity: most answers
	// were not 2xx, or a request failed (the load stopped there).
	Error string `json:"error,omitempty"`
}

// Shard is one part of a campaign: shard Index of Count, fuzzed with its
// own Seed (derived from the campaign's), its own Operations and the
// Support operations they need (producers of their ids, cleanup).
type Shard struct {
	Index      int      `json:"index"`
	Count      int      `json:"count"`
	Seed       int64    `json:"seed"`
	Operations []string `json:"operations"`
	Support    []string `json:"support,omitempty"`
}

// Concurrency is how a run used concurrent workers.
type Concurrency struct {
	Workers    int  `json:"workers"`
	MaxWorkers int  `json:"max_workers"`
	Adaptive   bool `json:"adaptive,omitempty"`
	// Changes are the last changes of the worker count, oldest first.
	Changes []WorkerChange `json:"changes,omitempty"`
	Batches int64          `json:"batches,omitempty"`
	// Calibrated counts sequences re-run alone because coverage came while
	// several requests were in flight; Confirmed those that joined the
	// corpus for what they earned alone; Unattributed the units (functions,
	// files, syscalls) first seen in such shared windows, credited to no
	// corpus entry (the image keeps them all the same).
	Calibrated   int64 `json:"calibrated,omitempty"`
	Confirmed    int64 `json:"confirmed,omitempty"`
	Unattributed int64 `json:"unattributed,omitempty"`
	// ThreadCredited counts the functions first seen in shared windows that
	// were credited to one request by the thread that ran them (the thread
	// was serving that request alone); ThreadCredit says whether the run
	// could credit by thread, or why not; Heads and HeadsMatched count the
	// request lines the target's threads were seen reading, and those
	// matched to one request.
	ThreadCredited int64  `json:"thread_credited,omitempty"`
	ThreadCredit   string `json:"thread_credit,omitempty"`
	Heads          int    `json:"heads,omitempty"`
	HeadsMatched   int    `json:"heads_matched,omitempty"`
}

// WorkerChange is one change of the worker count: at which request, from
// what to what, and why.
type WorkerChange struct {
	Request int64  `json:"request"`
	From    int    `json:"from"`
	To      int    `json:"to"`
	Reason  string `json:"reason"`
}

// Sample is the state of a run at one moment of fuzzing.
type Sample struct {
	Seconds    float64 `json:"t"`
	Requests   int64   `json:"requests"`
	Functions  int     `json:"functions"`
	Files      int     `json:"files"`
	CorpusSize int     `json:"corpus"`
	Findings   int     `json:"findings"`
	// HeapBytes is whittle's heap at the sample, garbage included;
	// LiveHeapBytes what the last garbage collection found reachable, the
	// figure that shows growth.
	HeapBytes     uint64 `json:"heap_bytes"`
	LiveHeapBytes uint64 `json:"live_heap_bytes,omitempty"`
	Goroutines    int    `json:"goroutines"`
	FDs           int    `json:"fds"`
}

// Selection is a directory whose entries a request parameter selects.
type Selection struct {
	Dir       string `json:"dir"`
	Operation string `json:"operation"`
	Parameter string `json:"parameter"`
	// Names is set when the target had listed the directory ("listed by the
	// target at start-up"): it resolves names from that listing, so only a
	// value naming an entry showed the selection.
	Names string `json:"names,omitempty"`
}

// Linked is a file kept because a linked path's request used it.
type Linked struct {
	Path string `json:"path"`
	// From is the request of the page that linked it ("GET /"); Request the
	// linked request ("GET /static/site.css").
	From    string `json:"from"`
	Request string `json:"request"`
}

// Operation counts one spec operation's requests.
type Operation struct {
	Operation string `json:"operation"`
	Requests  int64  `json:"requests"`
	Status2xx int64  `json:"status_2xx"`
	Status4xx int64  `json:"status_4xx"`
	Status5xx int64  `json:"status_5xx"`
	Errors    int64  `json:"errors"`
	// NewCoverage counts requests of the operation that added coverage.
	NewCoverage int64 `json:"new_coverage,omitempty"`
	// LatencyMean is the mean time to an answer, LatencyRecent a moving
	// mean weighing the last ~32 answers most, in milliseconds.
	LatencyMean   float64 `json:"latency_ms_mean,omitempty"`
	LatencyRecent float64 `json:"latency_ms_recent,omitempty"`
}

// Finding is a bug an oracle found.
type Finding struct {
	ID        string `json:"id"`
	Operation string `json:"operation"`
	Check     string `json:"check"`
	Severity  string `json:"severity"`
	Summary   string `json:"summary"`
	Curl      string `json:"curl,omitempty"`
	Request   string `json:"request,omitempty"`
	Response  string `json:"response,omitempty"`
	// Sequence is the length of the (minimised) request sequence that triggers it.
	Sequence int `json:"sequence,omitempty"`
}

// File is one path kept in the minimal image and why.
type File struct {
	Path     string   `json:"path"`
	Size     int64    `json:"size"`
	Mode     string   `json:"mode"`
	Linkname string   `json:"link,omitempty"`
	Reasons  []string `json:"reasons"`
}

// Verification is the outcome of replaying the corpus against the minimal image.
type Verification struct {
	Result      string       `json:"result"` // "identical", "diverged" or "error"
	Total       int          `json:"total"`
	Identical   int          `json:"identical"`
	Divergences []Divergence `json:"divergences,omitempty"`
	Volatile    int          `json:"volatile_fields"`
	// Seccomp says whether the minimal image started and answered under the
	// generated seccomp profile.
	Seccomp string `json:"seccomp,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Divergence is one request the minimal image answered differently.
type Divergence struct {
	Operation string `json:"operation"`
	Request   string `json:"request"`
	Reason    string `json:"reason"`
	Original  string `json:"original"`
	Minimal   string `json:"minimal"`
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encoding JSON report: %w", err)
	}
	return nil
}
