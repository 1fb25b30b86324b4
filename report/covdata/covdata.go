// Package covdata is a run's code coverage by unit, whatever the runtime
// measured: each function in scope (a Go or native function, a Python
// def, a JavaScript function, a JVM method) with its source file and line
// where known, whether it was hit, when, whether at start-up or by a
// request, and the operation whose request first reached it; the lines
// hit and missed inside it where the runtime measures lines or blocks.
//
// It is what the report keeps (in a compact table, see Table), what a
// corpus stores and merges across shards, what coverage exports (lcov,
// Cobertura) and the dashboard's coverage view read, and what
// Diff compares across runs.
package covdata

import (
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// State says whether and how a function was reached.
type State string

const (
	// Never: not hit during the run.
	Never State = "never"
	// Startup: hit before the first request (start-up, early timers).
	Startup State = "startup"
	// Requests: first hit while requests were answered.
	Requests State = "requests"
	// Background: first hit during the run by no request (a timer, a later
	// container's start-up).
	Background State = "background"
)

// Hit reports whether the function ran at all.
func (s State) Hit() bool { return s != Never && s != "" }

// rank orders states for merging: a function hit at start-up in one run is
// so in the merged view, whatever the others say.
func (s State) rank() int {
	switch s {
	case Startup:
		return 3
	case Requests:
		return 2
	case Background:
		return 1
	}
	return 0
}

// Function is one function (or method) in scope.
type Function struct {
	// File is the source file: as the binary records it (Go's pclntab: the
	// build's path, or module path and file with -trimpath), else the path
	// in the image. "" when unknown (a C function of a stripped binary).
	File string
	// Line is its first line, EndLine its last where known (0: unknown).
	Line, EndLine int
	Name          string
	// Package groups functions for summaries: the Go package, else the
	// directory of File, else the binary.
	Package string
	State   State
	// FirstHit is when it was first hit, counted from Coverage.Started
	// (meaningless for Never).
	FirstHit time.Duration
	// Operation is the spec operation of the request that first reached it
	// ("" when no single request did: start-up, background, or a request
	// outside the fuzzing loop).
	Operation string
	// LinesHit and LinesMissed are the lines measured inside it (Python
	// lines; V8 blocks' lines), sorted; both nil where only whole functions
	// are measured.
	LinesHit, LinesMissed []int
}

// Key identifies a function across runs and shards.
func (f *Function) Key() string {
	return f.File + "\x00" + f.Name + "\x00" + strconv.Itoa(f.Line)
}

// Coverage is a run's (or merged runs') coverage by function.
type Coverage struct {
	// Kind is the runtime's unit kind (native-functions, python-lines,
	// v8-blocks, ...); merged coverage of different kinds joins them with
	// "+".
	Kind string
	// Started is when FirstHit counts from: the run's start.
	Started time.Time
	// Functions, sorted by File, Line and Name.
	Functions []Function
	// Omitted counts never-hit functions left out to bound the size
	// (Bound); Summaries count them.
	Omitted int
	// Summary per package, computed before anything was omitted.
	Packages []PackageSummary
}

// PackageSummary is the coverage of one package or directory.
type PackageSummary struct {
	Package    string `json:"package"`
	Functions  int    `json:"functions"`
	Hit        int    `json:"hit"`
	AtStartup  int    `json:"at_startup"`
	ByRequests int    `json:"by_requests"`
}

// OperationSummary is what one operation's requests reached first.
type OperationSummary struct {
	Operation string `json:"operation"`
	// Functions first reached by a request of the operation.
	Functions int `json:"functions"`
	// Packages are those functions' packages.
	Packages []string `json:"packages,omitempty"`
}

// Sort orders the functions by file, line and name.
func (c *Coverage) Sort() {
	sort.SliceStable(c.Functions, func(i, j int) bool {
		a, b := &c.Functions[i], &c.Functions[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Name < b.Name
	})
}

// Summarize recomputes the package summaries from the functions (Omitted
// ones included as they were counted before).
func (c *Coverage) Summarize() {
	c.Packages = Summaries(c.Functions)
}

// Summaries counts functions per package, sorted by package.
func Summaries(fns []Function) []PackageSummary {
	by := map[string]*PackageSummary{}
	for i := range fns {
		f := &fns[i]
		s := by[f.Package]
		if s == nil {
			s = &PackageSummary{Package: f.Package}
			by[f.Package] = s
		}
		s.Functions++
		if f.State.Hit() {
			s.Hit++
		}
		switch f.State {
		case Startup:
			s.AtStartup++
		case Requests:
			s.ByRequests++
		}
	}
	out := make([]PackageSummary, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Package < out[j].Package })
	return out
}

// Operations counts the functions each operation's requests reached
// first, most first.
func (c *Coverage) Operations() []OperationSummary {
	by := map[string]*OperationSummary{}
	for i := range c.Functions {
		f := &c.Functions[i]
		if f.Operation == "" || f.State != Requests {
			continue
		}
		s := by[f.Operation]
		if s == nil {
			s = &OperationSummary{Operation: f.Operation}
			by[f.Operation] = s
		}
		s.Functions++
		if !slices.Contains(s.Packages, f.Package) {
			s.Packages = append(s.Packages, f.Package)
		}
	}
	out := make([]OperationSummary, 0, len(by))
	for _, s := range by {
		sort.Strings(s.Packages)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Functions != out[j].Functions {
			return out[i].Functions > out[j].Functions
		}
		return out[i].Operation < out[j].Operation
	})
	return out
}

// Totals counts the functions: in scope (omitted included), hit, at
// start-up and by requests.
func (c *Coverage) Totals() (total, hit, startup, requests int) {
	for _, p := range c.Packages {
		total += p.Functions
		hit += p.Hit
		startup += p.AtStartup
		requests += p.ByRequests
	}
	if len(c.Packages) == 0 {
		total = len(c.Functions) + c.Omitted
		for i := range c.Functions {
			switch s := c.Functions[i].State; {
			case s == Startup:
				hit++
				startup++
			case s == Requests:
				hit++
				requests++
			case s.Hit():
				hit++
			}
		}
	}
	return
}

// MaxFunctions bounds the functions a report or corpus keeps one by one:
// a large scope (a Python application with its libraries, thousands of
// files) would otherwise make reports of tens of megabytes. Hit functions
// are always kept; never-hit ones fill the rest in file order. The package
// summaries count everything.
const MaxFunctions = 50000

// Bound keeps at most max functions (MaxFunctions when max <= 0), every
// hit one first, and counts the never-hit ones left out in Omitted.
func (c *Coverage) Bound(max int) {
	if max <= 0 {
		max = MaxFunctions
	}
	if len(c.Functions) <= max {
		return
	}
	if c.Packages == nil {
		c.Summarize()
	}
	hit := 0
	for i := range c.Functions {
		if c.Functions[i].State.Hit() {
			hit++
		}
	}
	room := max - hit
	kept := c.Functions[:0]
	for _, f := range c.Functions {
		switch {
		case f.State.Hit():
		case room > 0:
			room--
		default:
			c.Omitted++
			continue
		}
		kept = append(kept, f)
	}
	c.Functions = kept
}

// PackageOf is the summary group of a function: its Go package when it
// has one, else the directory of its file, else fallback (the binary).
func PackageOf(goPackage, file, fallback string) string {
	switch {
	case goPackage != "" && !strings.HasPrefix(goPackage, "/"):
		return goPackage
	case file != "":
		return path.Dir(file)
	}
	return fallback
}
