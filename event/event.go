// Package event defines what whittle's core tells its user interfaces: discrete
// events pushed through a Bus that never blocks the publisher, and a Progress
// snapshot of counters that interfaces pull on their own tick.
package event

import "time"

// Phase is a step of a whittle run, in the order they happen.
type Phase string

const (
	PhaseInspect Phase = "inspect"
	PhaseStart   Phase = "start"
	PhaseTrace   Phase = "trace"
	PhaseFuzz    Phase = "fuzz"
	PhaseBuild   Phase = "build"
	PhaseVerify  Phase = "verify"
	PhaseDone    Phase = "done"
)

// Phases lists the phases in order.
var Phases = []Phase{PhaseInspect, PhaseStart, PhaseTrace, PhaseFuzz, PhaseBuild, PhaseVerify, PhaseDone}

// Event is implemented by every event type.
type Event interface{ When() time.Time }

// Stamp carries the time an event happened.
type Stamp struct{ At time.Time }

// When reports the event's time.
func (s Stamp) When() time.Time { return s.At }

// Now returns a Stamp for the current time.
func Now() Stamp { return Stamp{At: time.Now()} }

// PhaseStarted: a phase began. Detail says what it works on.
type PhaseStarted struct {
	Stamp
	Phase  Phase
	Detail string
}

// PhaseFinished: a phase ended, successfully when Err is nil.
type PhaseFinished struct {
	Stamp
	Phase  Phase
	Detail string
	Err    error
}

// Level grades log messages.
type Level int

const (
	LevelInfo Level = iota
	LevelWarn
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	default:
		return "info"
	}
}

// Log is a free-form message for the log pane or progress lines.
type Log struct {
	Stamp
	Level Level
	Msg   string
}

// Finding: an oracle fired (5xx, schema violation, crash, ...).
type Finding struct {
	Stamp
	ID        string
	Operation string
	Check     string
	Summary   string
	Curl      string
	Severity  string // "critical", "high", "medium" or "low"; may be empty
	Request   string // the request that triggered it (method, path, body excerpt); may be empty
	Response  string // the answer (status, body excerpt); may be empty
}

// NewCoverage: an input added a coverage signal.
type NewCoverage struct {
	Stamp
	Operation string
	What      string // e.g. "3 functions, 1 file"
}

// Step reports progress inside a long phase (image export, layer writing, ...).
// Total is 0 when unknown.
type Step struct {
	Stamp
	Phase Phase
	Name  string
	Done  int64
	Total int64
}

// Divergence: the minimal image answered a request differently.
type Divergence struct {
	Stamp
	Operation string
	Request   string
	Original  string
	Minimal   string
}
