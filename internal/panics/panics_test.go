package panics

import (
	"errors"
	"strings"
	"testing"
)

func TestCatchReports(t *testing.T) {
	var got *Panic
	func() {
		defer Catch("worker", func(p *Panic) { got = p })
		panic("boom")
	}()
	if got == nil {
		t.Fatal("panic not reported")
	}
	if got.Where != "worker" || got.Value != "boom" {
		t.Errorf("got %+v", got)
	}
	if !errors.Is(got, ErrPanic) || got.Error() != "internal error: panic in worker: boom" {
		t.Errorf("error %q", got.Error())
	}
	if strings.Contains(got.Error(), "\n") {
		t.Errorf("message spans lines: %q", got.Error())
	}
	// The stack is the panicking goroutine's, taken before it unwound.
	if !strings.Contains(string(got.Stack), "TestCatchReports") {
		t.Errorf("stack does not show the panicking function:\n%s", got.Stack)
	}
}

func TestCatchWithoutPanicDoesNothing(t *testing.T) {
	called := false
	func() {
		defer Catch("worker", func(*Panic) { called = true })
	}()
	if called {
		t.Fatal("reported without a panic")
	}
}

func TestCatchUsesProcessHandler(t *testing.T) {
	var got *Panic
	restore := SetHandler(func(p *Panic) { got = p })
	func() {
		defer Catch("library goroutine", nil)
		var m map[string]int
		m["x"] = 1 // a runtime error, not a string
	}()
	restore()
	if got == nil || got.Where != "library goroutine" || !strings.Contains(got.Error(), "assignment to entry in nil map") {
		t.Fatalf("got %v", got)
	}
}

func TestCatchWithoutHandlerPanicsAgain(t *testing.T) {
	var again any
	func() {
		defer func() { again = recover() }()
		func() {
			defer Catch("orphan", nil)
			panic("boom")
		}()
	}()
	s, _ := again.(string)
	if !strings.Contains(s, "panic in orphan: boom") || !strings.Contains(s, "goroutine") {
		t.Fatalf("re-panic value %q should name the panic and carry the stack", s)
	}
}
