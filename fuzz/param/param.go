// Package param addresses the values of a request by key, as
// gen.Intent.Target names them ("query.codec", "path.petId", "body/name",
// "header.Accept-Language"), and tells the values the spec leaves free from
// those it enumerates.
package param

import (
	"maps"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Find returns op's parameter of that name or key ("petId" or "path.petId"), or nil.
func Find(op *spec.Operation, name string) *spec.Parameter {
	for _, p := range op.Params {
		if p.Name == name || p.Key() == name {
			return p
		}
	}
	return nil
}

// Set puts v at key: a parameter, a top-level property of a JSON object
// body, or a negotiation header the operation does not declare.
func Set(in *gen.Input, key string, v string) bool {
	if prop, ok := strings.CutPrefix(key, "body/"); ok {
		obj, isObj := in.Body.(map[string]any)
		if in.Media == "" || !isObj || in.RawBody != nil {
			return false
		}
		c := maps.Clone(obj)
		c[prop] = v
		in.Body = c
		return true
	}
	if p, ok := in.Param(key); ok {
		p.Value, p.Set = v, true
		return true
	}
	h, ok := gen.NegotiationHeader(key)
	if !ok {
		return false
	}
	if in.Headers == nil {
		in.Headers = map[string]string{}
	}
	in.Headers[h] = v
	return true
}

// FreeValued reports whether the value at key ("query.lang", "path.breed",
// "body/owner/name") can take values the spec does not list. Only such
// values can select files nobody enumerated: an enum's values are all sent
// anyway, and a value that merely matches a file's name through the
// application's own code (format=csv → import csv) must not make rebuild
// keep the whole directory of that file.
func FreeValued(op *spec.Operation, key string) bool {
	var s *openapi3.Schema
	if rest, ok := strings.CutPrefix(key, "body"); ok {
		if op.Body == nil || len(op.Body.Media) == 0 {
			return true
		}
		s = op.Body.Media[0].Schema
		for _, name := range strings.Split(strings.TrimPrefix(rest, "/"), "/") {
			if name == "" || s == nil {
				continue
			}
			if p := s.Properties[name]; p != nil {
				s = p.Value
			} else if s.Items != nil {
				s = s.Items.Value
			} else {
				s = nil
			}
		}
	} else {
		in, name, _ := strings.Cut(key, ".")
		for _, p := range op.Params {
			if p.In == in && p.Name == name {
				s = p.Schema
				break
			}
		}
	}
	if s == nil {
		return true
	}
	if s.Items != nil && s.Type.Is(openapi3.TypeArray) {
		s = s.Items.Value
	}
	if s == nil {
		return true
	}
	return !Enumerated(s)
}

// Enumerated reports whether every value s accepts is listed by the spec:
// an enum or const, a boolean, an allOf with such a member, or a oneOf/anyOf
// whose alternatives all are.
func Enumerated(s *openapi3.Schema) bool { return enumerated(s, 0) }

func enumerated(s *openapi3.Schema, depth int) bool {
	if s == nil || depth > 8 {
		return false
	}
	if len(s.Enum) > 0 || s.Type.Is(openapi3.TypeBoolean) {
		return true
	}
	for _, m := range s.AllOf {
		if m != nil && enumerated(m.Value, depth+1) {
			return true
		}
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(alts) == 0 {
			continue
		}
		all := true
		for _, m := range alts {
			all = all && m != nil && enumerated(m.Value, depth+1)
		}
		if all {
			return true
		}
	}
	return false
}
