package event

import "time"

// Progress is a snapshot of a run's counters. Interfaces copy it on a tick
// instead of receiving an event per request.
type Progress struct {
	Phase     Phase
	Image     string
	TargetURL string
	Seed      int64
	Started   time.Time

	Requests     int64
	RequestsPerS float64
	Findings     int
	CorpusSize   int
	Restarts     int // fresh targets started after crashes, to minimise them, and when latency kept growing
	Workers      int // sequences in flight at once (0: the plan, or one worker)

	Functions      int // application functions hit
	FunctionsTotal int // application functions probed
	// CoverageMechanism says what measures the application's code ("V8
	// precise coverage through the inspector"); CoverageWhy, when nothing
	// does, why (file-level coverage only then).
	CoverageMechanism string
	CoverageWhy       string
	Files             int
	Syscalls          int
	LastNewSignal     time.Time

	Operations []OperationProgress
	Paused     bool
	// LimitsHit names the budgets the target made the run reach, in the
	// order first reached (internal/limits).
	LimitsHit []string
}

// OperationProgress counts one operation's requests by answer class.
type OperationProgress struct {
	Operation   string
	Requests    int64
	Status2xx   int64
	Status4xx   int64
	Status5xx   int64
	Errors      int64
	NewCoverage int64
	Skipped     bool
}
