// Package oracle judges a target's answers against its spec (LibAFL's
// objectives): server errors, undocumented statuses and media types,
// schema violations, timeouts and transport failures. A violation carries
// a signature, stable across values, that tells findings apart; Curl
// renders the requests that reproduce one.
package oracle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/internal/loopback"
)

// Oracle judges answers against the spec.
type Oracle struct {
	spec   *spec.Spec
	checks map[Check]bool
	opts   *openapi3filter.Options
	limits *limits.Recorder
}

// WithLimits makes o record the validation budgets it reaches (see
// limits.ValidationDepth, limits.ValidationSteps) in r, and returns o.
func (o *Oracle) WithLimits(r *limits.Recorder) *Oracle {
	o.limits = r
	return o
}

// New returns an oracle running checks (DefaultChecks when none given).
func New(s *spec.Spec, checks ...Check) *Oracle {
	if len(checks) == 0 {
		checks = DefaultChecks
	}
	o := &Oracle{spec: s, checks: map[Check]bool{}}
	for _, c := range checks {
		o.checks[c] = true
	}
	sopts := []openapi3.SchemaValidationOption{openapi3.SetSchemaRegexCompiler(spec.CompileRegex)}
	o.opts = &openapi3filter.Options{
		IncludeResponseStatus:   true,
		RegexCompiler:           spec.CompileRegex,
		SchemaValidationOptions: sopts,
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
	}
	return o
}

// Check judges resp, the answer to req (made with intent).
func (o *Oracle) Check(ctx context.Context, req corpus.Request, intent gen.Intent, resp corpus.Response) []Violation {
	if resp.NoAnswer() {
		if IsTimeout(resp.Err) {
			if o.checks[CheckTimeout] {
				return []Violation{{CheckTimeout, "timeout", "no answer in time: " + oneLine(resp.Err)}}
			}
			return nil
		}
		if o.checks[CheckTransport] {
			return []Violation{{CheckTransport, transportClass(resp.Err), "connection failed: " + oneLine(resp.Err)}}
		}
		return nil
	}
	where := fmt.Sprintf("%s %s, answer %d", req.Method, req.Path, resp.Status)
	if req.Operation != "" {
		where = fmt.Sprintf("%s, answer %d", req.Operation, resp.Status)
	}
	if resp.Truncated {
		o.limits.Hit(limits.AnswerBodyBytes, where)
	}
	headersCut := http.Header(resp.Header).Get(loopback.LimitHeader) == limits.AnswerHeaderBytes.Name
	if headersCut {
		o.limits.Hit(limits.AnswerHeaderBytes, where)
	}
	var out []Violation
	if resp.Status >= 500 {
		if o.checks[CheckServerError] {
			out = append(out, Violation{CheckServerError, fmt.Sprintf("%d %s", resp.Status, bodyDigest(resp.Body)),
				fmt.Sprintf("server error %d: %s", resp.Status, snippet(resp.Body))})
		}
		return out
	}
	if o.checks[CheckAcceptedInvalid] && intent.SchemaInvalid && resp.Status >= 200 && resp.Status < 300 {
		out = append(out, Violation{CheckAcceptedInvalid, intent.Kind + " " + intent.Target,
			fmt.Sprintf("invalid input (%s) accepted with %d", intent, resp.Status)})
	}
	op := o.spec.Operation(req.Operation)
	if op == nil {
		var ok bool
		if op, _, ok = o.spec.Match(req.Method, req.Path); !ok {
			return out
		}
	}
	if headersCut {
		// Neither its media type nor its body is known: only its status.
		if o.checks[CheckStatus] && !documentedStatus(op, resp.Status) {
			out = append(out, Violation{CheckStatus, fmt.Sprint(resp.Status), fmt.Sprintf("status %d is not documented for %s", resp.Status, op.ID)})
		}
		return out
	}
	if resp.Status == http.StatusNotAcceptable && refusedNegotiation(op, req) {
		return out // asked for what the spec does not promise
	}
	if v, ok := o.validate(ctx, op, req, resp); ok {
		out = append(out, v)
	}
	return out
}

func (o *Oracle) validate(ctx context.Context, op *spec.Operation, req corpus.Request, resp corpus.Response) (Violation, bool) {
	if !o.checks[CheckStatus] && !o.checks[CheckSchema] && !o.checks[CheckContentType] {
		return Violation{}, false
	}
	hr, err := req.HTTPRequest("http://target")
	if err != nil {
		return Violation{}, false
	}
	// The route is built from the operation the request was made for, so no
	// router has to match servers or base paths.
	route := &routers.Route{Spec: o.spec.Doc, Path: op.Path, PathItem: op.PathItem, Method: op.Method, Operation: op.Op}
	opts := *o.opts
	if resp.Truncated || !decodable(op, resp) || contentEncoded(resp) {
		opts.ExcludeResponseBody = true
	}
	if !opts.ExcludeResponseBody {
		if l, over := overBudget(bodySchema(op, resp), resp.Body); over {
			opts.ExcludeResponseBody = true
			o.limits.Hit(l, fmt.Sprintf("%s %s, answer %d", op.Method, op.Path, resp.Status))
		}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hr, Route: route, Options: &opts},
		Status:                 resp.Status,
		Header:                 http.Header(resp.Header),
		Body:                   io.NopCloser(bytes.NewReader(resp.Body)),
		Options:                &opts,
	}
	if input.Header == nil {
		input.Header = http.Header{}
	}
	err = validateResponse(ctx, input)
	if err == nil {
		return Violation{}, false
	}
	var re *openapi3filter.ResponseError
	if !errors.As(err, &re) {
		return Violation{CheckSchema, "validation", "response could not be validated: " + oneLine(err.Error())}, o.checks[CheckSchema]
	}
	switch {
	case re.Reason == "status is not supported":
		return Violation{CheckStatus, fmt.Sprint(resp.Status), fmt.Sprintf("status %d is not documented for %s", resp.Status, op.ID)}, o.checks[CheckStatus]
	case strings.Contains(re.Reason, "Content-Type has unexpected value"):
		ct := resp.ContentType()
		return Violation{CheckContentType, fmt.Sprintf("%d %s", resp.Status, ct),
			fmt.Sprintf("content type %q is not documented for status %d (documented: %s)", ct, resp.Status, documentedTypes(op, resp.Status))}, o.checks[CheckContentType]
	}
	sig, msg := schemaSignature(re)
	return Violation{CheckSchema, fmt.Sprintf("%d %s", resp.Status, sig), msg}, o.checks[CheckSchema]
}

// decodable reports whether the validator can read the answer's body. A
// documented media type it has no decoder for (application/xml) would be
// reported as "unsupported content type": the body is then left
// unchecked, never turned into a finding. Undocumented media types are
// still checked (and reported as such).
func decodable(op *spec.Operation, resp corpus.Response) bool {
	ct := resp.ContentType()
	if ct == "" || op.Op.Responses == nil {
		return true
	}
	r := op.Op.Responses.Status(resp.Status)
	if r == nil {
		r = op.Op.Responses.Default()
	}
	if r == nil || r.Value == nil || r.Value.Content.Get(ct) == nil {
		return true // not documented: the content-type check speaks
	}
	mt := r.Value.Content.Get(ct)
	if mt.Schema != nil && mt.Schema.Value != nil && mt.Schema.Value.Type.Is("string") && mt.Schema.Value.Format == "binary" {
		return true
	}
	switch {
	case openapi3filter.RegisteredBodyDecoder(ct) != nil,
		strings.HasSuffix(ct, "+json"),
		openapi3filter.RegisteredBodyDecoder("*/*") != nil:
		return true
	}
	return false
}

// validateResponse shields the fuzz loop from panics in validation.
func validateResponse(ctx context.Context, in *openapi3filter.ResponseValidationInput) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("validator panicked: %v", r)
		}
	}()
	return openapi3filter.ValidateResponse(ctx, in)
}

func documentedStatus(op *spec.Operation, status int) bool {
	return op.Op.Responses != nil && (op.Op.Responses.Status(status) != nil || op.Op.Responses.Default() != nil)
}

func documentedTypes(op *spec.Operation, status int) string {
	if op.Op.Responses == nil {
		return "none"
	}
	r := op.Op.Responses.Status(status)
	if r == nil {
		r = op.Op.Responses.Default()
	}
	if r == nil || r.Value == nil {
		return "none"
	}
	var cts []string
	for ct := range r.Value.Content {
		cts = append(cts, ct)
	}
	slices.Sort(cts)
	return strings.Join(cts, ", ")
}
