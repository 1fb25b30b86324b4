// Package pipeline wires whittle's steps — inspect, start, trace, fuzz, build,
// verify — into one run. It publishes events and a progress snapshot for the
// user interfaces and returns a report; it prints nothing itself.
package pipeline

import "errors"

// Outcomes the CLI maps to exit codes.
var (
	ErrInterrupted = errors.New("interrupted")
	ErrDiverged    = errors.New("minimal image diverged from the original")
	ErrFindings    = errors.New("findings at or above the failing severity")
)
