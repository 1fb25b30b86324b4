// Package spec loads OpenAPI 3.0/3.1 and Swagger 2.0 documents into the flat,
// resolved view of a service that the fuzzer works from: its operations, their
// parameters and bodies, the base path requests go under and the credentials
// each operation needs.
package spec

import (
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Spec is a loaded API description.
type Spec struct {
	// Doc is the document as kin-openapi resolved it (Swagger 2.0 converted to 3.0).
	Doc *openapi3.T
	// Source is the file path or URL the document came from.
	Source string
	// Version is the document's own version string: "2.0", "3.0.3", "3.1.0", ...
	Version string
	// Hash is "sha256:<hex>" of the source bytes and of the documents its
	// external $refs point to, for keying corpora.
	Hash string
	// BasePath prefixes every operation's path ("" or e.g. "/v1", no trailing slash).
	BasePath string
	// Operations that are valid, ordered by path then method.
	Operations []*Operation
	// Warnings name what was skipped or ignored, one line each.
	Warnings []string
	// Auth holds the credentials given with WithHeader and WithSchemeValue.
	Auth Auth

	byID map[string]*Operation
}

// Operation is one method on one path, with everything resolved.
type Operation struct {
	// ID is "METHOD /path/{template}", unique within a spec; requests carry it
	// in corpus.Request.Operation.
	ID string
	// OperationID is the spec's operationId, when it has one.
	OperationID string
	Method      string
	// Path is the template relative to Spec.BasePath, e.g. "/pets/{petId}".
	Path string
	// Params are the path item's and the operation's parameters merged.
	Params []*Parameter
	// Body is nil when the operation takes none.
	Body *RequestBody
	// Security lists alternatives, each the names of schemes used together.
	// Nil or empty: no credentials needed.
	Security [][]string
	// Links are the OpenAPI links declared on this operation's responses.
	Links []Link
	// ResponseMedia are the media types its responses declare (the union
	// over every status), sorted: what an Accept header may ask for.
	ResponseMedia []string
	Deprecated    bool

	Op       *openapi3.Operation
	PathItem *openapi3.PathItem

	segments []string
}

// Parameter is a resolved path, query, header or cookie parameter.
type Parameter struct {
	Name     string
	In       string
	Required bool
	// Schema is never nil: a parameter without one gets an empty schema.
	Schema  *openapi3.Schema
	Style   string
	Explode bool
	// CollectionFormat is Swagger 2.0's array serialisation (csv, ssv, tsv,
	// pipes, multi); empty for OpenAPI 3 documents.
	CollectionFormat string
	// ContentType is set when the parameter is described by content (e.g.
	// application/json) instead of a schema.
	ContentType     string
	AllowReserved   bool
	AllowEmptyValue bool
	// Examples holds the parameter's example and examples values.
	Examples []any
}

// Key is "in.name", e.g. "query.limit".
func (p *Parameter) Key() string { return p.In + "." + p.Name }

// RequestBody describes what an operation accepts as body.
type RequestBody struct {
	Required bool
	// Media lists the accepted media types, most useful first (JSON, form,
	// multipart, then the rest).
	Media []*Media
}

// Media is one accepted media type of a request body.
type Media struct {
	Type     string
	Schema   *openapi3.Schema
	Encoding map[string]*openapi3.Encoding
	Examples []any
}

// Link is an OpenAPI link from a response of one operation to another operation.
type Link struct {
	Status string
	Name   string
	// Target is the linked operation's ID.
	Target string
	// Parameters maps the target's parameter names (optionally "in.name") to
	// runtime expressions such as "$response.body#/id" or constants.
	Parameters map[string]any
}

// Auth holds the credentials configured for the target.
type Auth struct {
	// Headers are added to every request.
	Headers http.Header
	// Schemes maps a security scheme's name to its value (a token, an API key,
	// or "user:password" for HTTP basic).
	Schemes map[string]string
}

// Operation returns the operation with the given ID, operationId or nil.
func (s *Spec) Operation(id string) *Operation {
	if op, ok := s.byID[id]; ok {
		return op
	}
	for _, op := range s.Operations {
		if op.OperationID != "" && op.OperationID == id {
			return op
		}
	}
	return nil
}

// Match finds the operation that serves method on path (which includes the
// base path; a query string is ignored) and the path parameters' raw values.
// Literal segments win over templated ones.
func (s *Spec) Match(method, path string) (*Operation, map[string]string, bool) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if s.BasePath != "" {
		if !strings.HasPrefix(path, s.BasePath) {
			return nil, nil, false
		}
		path = path[len(s.BasePath):]
	}
	segs := splitPath(path)
	var best *Operation
	var bestVars map[string]string
	bestScore := -1
	for _, op := range s.Operations {
		if !strings.EqualFold(op.Method, method) || len(op.segments) != len(segs) {
			continue
		}
		vars, score, ok := matchSegments(op.segments, segs)
		if ok && score > bestScore {
			best, bestVars, bestScore = op, vars, score
		}
	}
	return best, bestVars, best != nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchSegments matches concrete segments against a template; score counts
// literal matches so that /pets/mine beats /pets/{id}.
func matchSegments(tmpl, segs []string) (map[string]string, int, bool) {
	vars := map[string]string{}
	score := 0
	for i, t := range tmpl {
		open := strings.IndexByte(t, '{')
		if open < 0 {
			if t != segs[i] {
				return nil, 0, false
			}
			score++
			continue
		}
		close := strings.LastIndexByte(t, '}')
		if close < open {
			return nil, 0, false
		}
		prefix, suffix := t[:open], t[close+1:]
		s := segs[i]
		if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) || len(s) < len(prefix)+len(suffix) {
			return nil, 0, false
		}
		vars[t[open+1:close]] = s[len(prefix) : len(s)-len(suffix)]
	}
	return vars, score, true
}
