package report

import "github.com/whittle-dev/whittle/report/covdata"

// CodeCoverage says what measured the application's code during the run,
// which files form the scope and how they were found, and what start-up
// covered compared with the requests.
type CodeCoverage struct {
	// Kind is the units' kind: "native-functions", "python-lines",
	// "v8-blocks", ...; "" when nothing measured the code (Why says why).
	Kind string `json:"kind,omitempty"`
	// Mechanism names how, e.g. "python:line USDT probe", "V8 precise
	// coverage through the inspector (functions and blocks)".
	Mechanism string `json:"mechanism,omitempty"`
	// Why says why no mechanism measured the code (files only then).
	Why string `json:"why,omitempty"`
	// Processes is how many processes were measured at the end, where the
	// mechanism works per process (V8 isolates: cluster primary and workers).
	Processes int `json:"processes,omitempty"`
	// ScopeFrom says how the scope was found; ScopeFiles are its source
	// files (interpreted runtimes).
	ScopeFrom  string   `json:"scope_from,omitempty"`
	ScopeFiles []string `json:"scope_files,omitempty"`
	// Functions in scope, hit by the end, hit at start-up (before the first
	// request) and first hit by requests.
	FunctionsTotal      int `json:"functions_total"`
	Functions           int `json:"functions"`
	FunctionsAtStartup  int `json:"functions_at_startup"`
	FunctionsByRequests int `json:"functions_by_requests"`
	// Units are what the mechanism counts (functions; Python lines; V8
	// functions and blocks): hit by the end, at start-up, by requests.
	Units           int `json:"units"`
	UnitsAtStartup  int `json:"units_at_startup"`
	UnitsByRequests int `json:"units_by_requests"`
	// ByFunction is the coverage function by function (a compact table:
	// see covdata.Columns), with the summaries per package or directory.
	ByFunction *covdata.Coverage `json:"by_function,omitempty"`
	// Operations says what each operation's requests reached first.
	Operations []covdata.OperationSummary `json:"operations,omitempty"`
}
