package oracle

// Check names an oracle.
type Check string

// The oracles.
const (
	// CheckServerError: the target answered 5xx.
	CheckServerError Check = "server-error"
	// CheckStatus: the status code is not documented for the operation.
	CheckStatus Check = "undocumented-status"
	// CheckSchema: the body or a header does not match the documented schema.
	CheckSchema Check = "response-schema"
	// CheckContentType: the answer's media type is not documented.
	CheckContentType Check = "content-type"
	// CheckTimeout: no answer within the request timeout.
	CheckTimeout Check = "timeout"
	// CheckTransport: the connection failed (refused, reset, closed early).
	CheckTransport Check = "transport-error"
	// CheckAcceptedInvalid: a knowingly invalid request got a 2xx (off by default).
	CheckAcceptedInvalid Check = "accepted-invalid"
	// CheckCrash: the target died (its container exited) during or after a
	// request. The fuzzer finds it through fuzz.WithTarget, whatever the
	// checks; the finding holds the sequence that led there, minimised on
	// fresh targets.
	CheckCrash Check = "crash"
)

// DefaultChecks are the oracles on unless chosen otherwise.
var DefaultChecks = []Check{CheckServerError, CheckStatus, CheckSchema, CheckContentType, CheckTimeout, CheckTransport}

// Violation is what one oracle says about one answer.
type Violation struct {
	Check     Check
	Signature string
	Message   string
}
