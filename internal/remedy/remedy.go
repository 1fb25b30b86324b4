// Package remedy carries what a user can do about an error as data, so
// that the library that found the problem says it in its own terms and the
// command layer can say it again in its own (naming its flags), without
// parsing messages.
package remedy

// Error is a problem and its remedy. Its message is the problem, the remedy
// in parentheses, then Detail (e.g. the target's last log lines), so that
// the first line says what went wrong and what to do.
type Error struct {
	Err    error
	Fix    string
	Detail string
}

// New is err with the remedy fix.
func New(err error, fix string) *Error { return &Error{Err: err, Fix: fix} }

func (e *Error) Error() string {
	s := e.Err.Error()
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Remedy is the fix as the library says it.
func (e *Error) Remedy() string { return e.Fix }

// WithRemedy is a copy of the error saying another fix.
func (e *Error) WithRemedy(fix string) error {
	c := *e
	c.Fix = fix
	return &c
}
