package spec

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Sentinel kinds of LoadError, for errors.Is.
var (
	ErrFetch         = errors.New("cannot read spec")
	ErrSyntax        = errors.New("spec syntax error")
	ErrNotOpenAPI    = errors.New("not an OpenAPI or Swagger document")
	ErrInvalid       = errors.New("invalid spec")
	ErrUnresolvedRef = errors.New("unresolved $ref in spec")
	ErrNoOperations  = errors.New("spec has no usable operations")
	ErrNotFound      = errors.New("no spec found on target")
	ErrRefRefused    = errors.New("$ref outside what the spec may reach")
	ErrTooLarge      = errors.New("spec over a size limit")
)

// Fixes a LoadError names in the library's words. They name no command-line
// option: a command that has options for them may say them its own way.
const (
	FixPassSpec    = "pass a spec file or URL"
	FixCheckPath   = "check the spec's path, or pass a URL"
	FixPointAtSpec = "point to an OpenAPI 3 or Swagger 2.0 document"
	FixDownload    = "download the spec and pass the file"
	FixInlineRef   = "inline the referenced document into the spec"
)

// LoadError is a spec that could not be loaded. Its message is one line:
// "spec LOCATION: PROBLEM (fix: FIX)".
type LoadError struct {
	Source       string
	Line, Column int
	// Ref is the $ref that could not be resolved, for ErrUnresolvedRef.
	Ref     string
	Kind    error
	Problem string
	Fix     string
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("spec ")
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(e.Fix)
		b.WriteString(")")
	}
	return oneLine(b.String())
}

// Is reports whether target is the error's kind.
func (e *LoadError) Is(target error) bool { return target == e.Kind }

// Remedy is the error's fix in the library's words (one of the Fix
// constants, or a fix of its own).
func (e *LoadError) Remedy() string { return e.Fix }

// WithRemedy is a copy of the error naming another fix, e.g. the same fix
// phrased with a command's own options.
func (e *LoadError) WithRemedy(fix string) error {
	c := *e
	c.Fix = fix
	return &c
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "\t", " ")
	return s
}

var (
	quotedRef  = regexp.MustCompile(`"([^"]*#[^"]*)"`)
	quotedAny  = regexp.MustCompile(`"([^"]+)"`)
	yamlLineRe = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)
)

// kinError turns what kin-openapi said into a LoadError. data is the
// document as read; loaded is what kin-openapi read, nil when that was the
// document cut to fewer operations (its positions are not the file's).
func kinError(source string, data, loaded []byte, scope refScope, err error) error {
	var ol *overLimit
	if errors.As(err, &ol) {
		return limitError(source, ol)
	}
	msg := err.Error()
	var dis *openapi3.DisallowedExternalRefError
	var refused *RefRefusedError
	fix := FixInlineRef
	if scope == sameDocument {
		fix = FixPassSpec
	}
	switch {
	case errors.As(err, &refused):
		le := &LoadError{Source: source, Kind: ErrRefRefused, Ref: refused.Ref, Problem: refused.Error(), Fix: fix}
		le.Line, le.Column = findRef(data, refused.Ref)
		return le
	case errors.As(err, &dis):
		le := &LoadError{Source: source, Kind: ErrRefRefused, Ref: dis.Ref, Problem: fmt.Sprintf("external $ref %q refused", dis.Ref), Fix: fix}
		le.Line, le.Column = findRef(data, dis.Ref)
		return le
	case strings.Contains(msg, "failed to resolve") || strings.Contains(msg, "unresolved ref") ||
		strings.Contains(msg, "bad data in") || strings.Contains(msg, "no such file") ||
		strings.Contains(msg, "error resolving reference"):
		ref := ""
		if m := quotedRef.FindStringSubmatch(msg); m != nil {
			ref = m[1]
		} else if m := quotedAny.FindStringSubmatch(msg); m != nil {
			ref = m[1]
		}
		le := &LoadError{Source: source, Kind: ErrUnresolvedRef, Ref: ref, Problem: fmt.Sprintf("unresolved $ref %q", ref), Fix: "define the referenced component or correct the $ref"}
		if ref == "" {
			le.Problem = "unresolved $ref: " + msg
		}
		le.Line, le.Column = findRef(data, ref)
		return le
	}
	le := &LoadError{Source: source, Kind: ErrInvalid, Problem: strings.TrimPrefix(msg, "failed to unmarshal data: "), Fix: "correct the document's structure (check it with an OpenAPI validator)"}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil && loaded != nil {
		le.Line, _ = strconv.Atoi(m[1])
		le.Column, _ = strconv.Atoi(m[2])
	}
	return le
}

// findRef locates the first occurrence of ref in data.
func findRef(data []byte, ref string) (int, int) {
	if ref == "" {
		return 0, 0
	}
	i := bytes.Index(data, []byte(ref))
	if i < 0 {
		// A relative ref may have been made absolute; look for its fragment.
		if j := strings.IndexByte(ref, '#'); j >= 0 {
			i = bytes.Index(data, []byte(ref[j:]))
		}
	}
	if i < 0 {
		// Or it was resolved against the document's location: look for its name.
		if j := strings.LastIndexByte(ref, '/'); j >= 0 && j+1 < len(ref) {
			i = bytes.Index(data, []byte(ref[j+1:]))
		}
	}
	if i < 0 {
		return 0, 0
	}
	return lineCol(data, i)
}
