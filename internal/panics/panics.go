// Package panics keeps a panic in one of whittle's goroutines from ending the
// process before cleanup: the panic is recovered where it happens and handed,
// as an error, to whoever can end the run cleanly (remove containers, close
// BPF programs, flush the corpus) and report it.
//
// A goroutine defers Catch with its name and a report function; goroutines of
// library packages that know no run pass nil, and the panic goes to the
// process-wide handler the CLI installs (SetHandler), which cancels the run.
package panics

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
)

// ErrPanic is what every *Panic is (errors.Is): a bug in whittle, not in the
// input or the target.
var ErrPanic = errors.New("internal error")

// Panic is a recovered panic: where it happened, its value and the stack of
// the goroutine that panicked.
type Panic struct {
	Where string
	Value any
	Stack []byte
}

// New records a panic value recovered in where, with the current stack (call
// it from the deferred function that recovered, so the stack shows the panic).
func New(where string, value any) *Panic {
	return &Panic{Where: where, Value: value, Stack: debug.Stack()}
}

// Error is one line: what panicked where.
func (p *Panic) Error() string {
	return fmt.Sprintf("%v: panic in %s: %v", ErrPanic, p.Where, p.Value)
}

// Is makes errors.Is(p, ErrPanic) true.
func (p *Panic) Is(target error) bool { return target == ErrPanic }

var handler atomic.Pointer[func(*Panic)]

// SetHandler installs the process-wide handler of panics caught with a nil
// report function, and returns a function restoring the previous one.
func SetHandler(h func(*Panic)) (restore func()) {
	prev := handler.Swap(&h)
	return func() { handler.Store(prev) }
}

// Catch, deferred at the top of a goroutine, recovers a panic of that
// goroutine and hands it to report, or to the process handler when report is
// nil. With neither it panics again: nothing else would end the run.
//
//	go func() {
//		defer panics.Catch("pipeline: timeline sampler", r.fail)
//		...
//	}()
func Catch(where string, report func(*Panic)) {
	v := recover()
	if v == nil {
		return
	}
	p := New(where, v)
	if report != nil {
		report(p)
		return
	}
	Report(p)
}

// Report hands p to the process handler (SetHandler); without one it panics
// again, with p's message and stack.
func Report(p *Panic) {
	if h := handler.Load(); h != nil && *h != nil {
		(*h)(p)
		return
	}
	panic(fmt.Sprintf("%v\n\n%s", p, p.Stack))
}
