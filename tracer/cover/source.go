package cover

import (
	"context"
	"errors"
	"time"

	"github.com/whittle-dev/whittle/tracer"
)

// Source is the code coverage of a target's application, whatever its
// runtime measures: native functions and Python lines (Coverage, through
// the tracer's uprobes), V8 functions and blocks (Node.js), JVM methods.
// The fuzzer's feedback and the report use only this. Implementations are
// safe for concurrent use.
type Source interface {
	// Kind says what the units are.
	Kind() Kind
	// Stats are the counters and the mechanism, for the log, the report and
	// the dashboard.
	Stats() Stats
	// Scope returns the functions that can be hit, as far as they are known
	// (with File and Line where known): the probed functions of a binary,
	// the functions of the in-scope source files of an interpreter. It may
	// grow while the target runs (a script loaded later). Runtimes that
	// measure blocks list the blocks they know after the functions
	// (Level: LevelBlock), hit or not, so that lines never run show.
	Scope() []Function
	// Hits returns every unit hit (Python: lines; V8: functions and
	// blocks), in first-hit order, each with the time of its first hit.
	Hits() []FirstHit
	// Sync makes the hits of the work done so far visible to NewSince. Call
	// it after the tracer's Sync: sources fed by the tracer's ring buffer
	// are up to date then and return at once; the others ask their runtime.
	Sync(ctx context.Context) error
	// NewSince returns the units (Function.Unit) first hit at or after
	// cursor, background ones excluded, and the next cursor.
	NewSince(cursor int) (units []string, next int)
	// NewHitsSince is NewSince with each unit's first hit: its thread and
	// time tell which of several requests in flight made it.
	NewHitsSince(cursor int) (hits []FirstHit, next int)
	// Baseline waits idle for d, syncs, and marks everything hit so far
	// (start-up, timers) as background, at start-up: never reported by
	// NewSince. It returns the cursor to start from and those units.
	Baseline(ctx context.Context, d time.Duration) (cursor int, background []string, err error)
	// MarkBackground marks the units first hit at or after cursor as
	// background and returns them with the next cursor (for callers that
	// know no request was in flight meanwhile).
	MarkBackground(cursor int) (units []string, next int)
	// Enable switches measuring on or off. Sources whose Stats say Costly
	// are switched on for part of the time; others may ignore it.
	Enable(on bool) error
	// Close stops measuring; what was hit stays readable.
	Close() error
}

var _ Source = (*Coverage)(nil)

// Level says what a unit is. The zero value is a whole function.
type Level uint8

const (
	// LevelFunction: a function or method; Line is its first line.
	LevelFunction Level = iota
	// LevelLine: one line of a function (Python line coverage).
	LevelLine
	// LevelBlock: a range of a function's code (V8 block coverage), from
	// Line to EndLine.
	LevelBlock
)

func (l Level) String() string {
	switch l {
	case LevelLine:
		return "line"
	case LevelBlock:
		return "block"
	default:
		return "function"
	}
}

// FirstHit is a unit and when it was first hit.
type FirstHit struct {
	Function
	// At is when whittle saw the hit: the record was read, or the runtime's
	// counters were taken (Sync), at most one request after the execution.
	At time.Time
	// Startup: hit before the first request (marked by Baseline).
	Startup bool
	// Background: marked by Baseline or MarkBackground: start-up, timers,
	// nobody's request.
	Background bool
	// Thread and Mono are the host thread that made the first hit and the
	// kernel's CLOCK_MONOTONIC time of it, where the mechanism tells (the
	// uprobes, Python's line probe, the JVM agent's breakpoints); zero
	// where it does not (V8's counters, a hit found in the hit array).
	Thread uint32
	Mono   uint64
}

// Runtime begins the coverage of a process of one runtime that the
// tracer's uprobes do not measure on their own (Node.js's V8, the JVM).
// The Starter tries the runtimes it was given (WithRuntime) in order on the
// first process that got ready, then native and Python coverage (Attach).
type Runtime interface {
	// Name is the runtime's name for logs ("node", "jvm").
	Name() string
	// Attach begins coverage of the target whose container's first process
	// is p.Pid. It returns an error wrapping ErrOtherRuntime when the target
	// does not run this runtime, so that the next one is tried.
	Attach(ctx context.Context, p Process) (Source, error)
}

// Process is a started target as a Runtime sees it.
type Process struct {
	Tracer *tracer.Tracer
	// Pid is the host pid of the container's first process, ready to
	// answer. Other processes of the target are those of the tracer's bound
	// mount namespaces (Tracer.Bound).
	Pid int
	// Binary is the file the user asked to cover ("" for the default).
	Binary string
	// Patterns are the user's scope patterns, if any (packages, symbols or
	// file globs; each runtime uses those its units can match).
	Patterns []string
}

// ErrOtherRuntime: the process does not run the runtime asked to cover it.
var ErrOtherRuntime = errors.New("cover: the target does not run this runtime")

// Instrumenter is a Runtime whose mechanism needs the traced run started
// with more environment (Node.js's inspector, a JVM's options). Only the
// traced run gets it, never the minimal image or the verification runs.
type Instrumenter interface {
	// Env returns KEY=VALUE variables to set on top of the image's own
	// (imageEnv), which they may extend (NODE_OPTIONS keeps the image's).
	Env(imageEnv []string) []string
}
