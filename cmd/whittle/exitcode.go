package main

import (
	"context"
	"errors"

	"github.com/whittle-dev/whittle/pipeline"
)

// Exit codes, in one place (documented in the README).
const (
	exitOK          = 0
	exitError       = 1
	exitFindings    = 2
	exitDiverged    = 3
	exitInterrupted = 130
)

// exitMeanings say each exit code in the commands' help.
var exitMeanings = map[int]string{
	exitOK:          "ok: the minimal image answers every request of the corpus as the original did",
	exitError:       "error: bad input, a failure or an internal error (one line names it and the fix)",
	exitFindings:    "findings at or above the --fail-on severity",
	exitDiverged:    "the minimal image answered differently from the original",
	exitInterrupted: "interrupted (Ctrl-C, SIGTERM); containers, networks and BPF programs are removed first",
}

// exitCode maps an error from a command to the process exit status.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled), errors.Is(err, pipeline.ErrInterrupted):
		return exitInterrupted
	case errors.Is(err, pipeline.ErrDiverged):
		return exitDiverged
	case errors.Is(err, pipeline.ErrFindings):
		return exitFindings
	default:
		return exitError
	}
}
