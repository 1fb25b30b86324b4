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
