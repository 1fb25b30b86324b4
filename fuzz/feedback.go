package fuzz

import (
	"context"
	"fmt"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
)

// Feedback tells the fuzzer what the request it just got an answer to newly
// exercised in the target. The tracer implements it; After is called once
// after each answer, from the fuzz loop's goroutine.
type Feedback interface {
	After(ctx context.Context) (Signal, error)
}

// Flights is a Feedback that can tell which of several requests in flight
// newly covered what: the tracer, by the thread that ran the code, where
// the target's runtime serves a request on one thread. The workers of a
// concurrent run (workers.go) say when each request leaves and when its
// answer came; its methods are safe for concurrent use.
type Flights interface {
	Feedback
	// Sending says request id is about to go on the wire.
	Sending(id int, req corpus.Request)
	// Answered says request id's answer came, or that none will.
	Answered(id int)
	// Owners returns, of the functions the last After reported, how many
	// each request made, by id; those it cannot tell are in no count.
	Owners() map[int]int
}

// Signal is what is new in the target since the previous call.
type Signal struct {
	// Functions, Files and Syscalls count newly covered functions, files
	// (opened, executed or looked up, failed lookups included) and syscalls.
	Functions int `json:"functions,omitempty"`
	Files     int `json:"files,omitempty"`
	Syscalls  int `json:"syscalls,omitempty"`
	// NewFiles are the paths the target used for the first time (failed
	// lookups included), correlated with the values sent to find
	// input-selected files. They can be more than Files counts: a feedback
	// may decide that some of them (another failed lookup in a directory
	// where lookups failed before) are not coverage.
	NewFiles []string `json:"new_files,omitempty"`
	// Dirs are directories the target listed or used files in (those of
	// start-up in the first signal); their entries, read from the image
	// (inputsel.DirLister), become values for free-form strings.
	Dirs []inputsel.DirListing `json:"dirs,omitempty"`
	// Observed says a costly coverage probe (Python's lines, V8's) was on
	// while the target ran the request: it ran slower than unobserved,
	// which the worker count's pace control must not take for the
	// target's speed.
	Observed bool `json:"-"`
}

// New reports whether the signal holds anything new.
func (s Signal) New() bool {
	return s.Functions > 0 || s.Files > 0 || s.Syscalls > 0
}

func (s Signal) String() string {
	var parts []string
	if s.Functions > 0 {
		parts = append(parts, fmt.Sprintf("+%d functions", s.Functions))
	}
	if n := s.Files; n > 0 {
		parts = append(parts, fmt.Sprintf("+%d files", n))
	}
	if s.Syscalls > 0 {
		parts = append(parts, fmt.Sprintf("+%d syscalls", s.Syscalls))
	}
	return strings.Join(parts, ", ")
}
