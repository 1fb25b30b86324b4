package gen

import (
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// ignoredHeaders are header parameters OpenAPI says to ignore (Accept is
// sent from Input.Headers instead, see negotiate.go).
var ignoredHeaders = map[string]bool{"Accept": true, "Content-Type": true, "Authorization": true}

// Request generates a request for op in the given phase.
func (g *Generator) Request(op *spec.Operation, phase Phase) *Request {
	in, intent := g.Input(op, phase)
	return g.Encode(op, in, intent)
}

// Input generates the values of a request for op in the given phase: valid
// values everywhere, then, for Boundary and Invalid, one target changed.
func (g *Generator) Input(op *spec.Operation, phase Phase) (Input, Intent) {
	in := g.validInput(op)
	switch phase {
	case Boundary:
		if intent, ok := g.applyBoundary(op, &in); ok {
			return in, intent
		}
	case Invalid:
		if intent, ok := g.applyInvalid(op, &in); ok {
			return in, intent
		}
	}
	return in, Intent{Phase: Valid, Kind: "random"}
}

func (g *Generator) validInput(op *spec.Operation) Input {
	g.at = op.ID
	in := Input{Op: op.ID}
	for _, p := range op.Params {
		pv := ParamValue{In: p.In, Name: p.Name}
		if p.Required || g.rng.Float64() < 0.5 {
			pv.Value, pv.Set = g.paramValue(p), true
			if g.lastOver {
				// Sent without: a value over budget is not generated.
				pv.Value, pv.Set = nil, false
				g.overOps[op.ID] = g.overOps[op.ID] || p.Required
			}
		}
		in.Params = append(in.Params, pv)
	}
	if op.Body != nil && len(op.Body.Media) > 0 {
		m := g.pickMedia(op.Body)
		if op.Body.Required || g.rng.Float64() < 0.85 {
			in.Media = m.Type
			in.Body = g.bodyValue(m)
			if g.lastOver {
				in.Media, in.Body = "", nil
				g.overOps[op.ID] = g.overOps[op.ID] || op.Body.Required
			}
		}
	}
	return in
}

// paramValue is a valid value for p; path parameters avoid empty strings,
// which would change the route. After it, lastOver tells whether the
// value went over budget.
func (g *Generator) paramValue(p *spec.Parameter) any {
	g.lastOver = false
	if len(p.Examples) > 0 && g.rng.Float64() < g.exampleBias {
		v := normalize(p.Examples[g.rng.IntN(len(p.Examples))])
		if g.Validate(p.Schema, v) == nil {
			return v
		}
	}
	s := p.Schema
	if p.In == openapi3.ParameterInPath && s.MinLength == 0 && len(s.Enum) == 0 && schemaTypes(s)[0] == openapi3.TypeString {
		c := *s
		c.MinLength = 1
		s = &c
	}
	v, intent, _ := g.value(s, p.Name, Valid, true)
	for i := 0; v == nil && intent.Kind != "over-budget" && p.In == openapi3.ParameterInPath && i < 4; i++ {
		v, intent, _ = g.value(s, p.Name, Valid, true) // null would empty the segment
	}
	g.lastOver = intent.Kind == "over-budget"
	return v
}

func (g *Generator) pickMedia(b *spec.RequestBody) *spec.Media {
	var ok []*spec.Media
	for _, m := range b.Media {
		if Encodable(m.Type) {
			ok = append(ok, m)
		}
	}
	if len(ok) == 0 {
		return b.Media[0]
	}
	if len(ok) == 1 || g.rng.Float64() < 0.8 {
		return ok[0]
	}
	return ok[g.rng.IntN(len(ok))]
}

func (g *Generator) bodyValue(m *spec.Media) any {
	g.lastOver = false
	if len(m.Examples) > 0 && g.rng.Float64() < g.exampleBias {
		v := normalize(m.Examples[g.rng.IntN(len(m.Examples))])
		if g.Validate(m.Schema, v) == nil {
			return v
		}
	}
	v, intent, _ := g.value(m.Schema, "", Valid, false)
	g.lastOver = intent.Kind == "over-budget"
	return v
}

func media(op *spec.Operation, ct string) *spec.Media {
	if op.Body == nil {
		return nil
	}
	for _, m := range op.Body.Media {
		if m.Type == ct {
			return m
		}
	}
	return nil
}

func paramByKey(op *spec.Operation, key string) *spec.Parameter {
	for _, p := range op.Params {
		if p.Key() == key {
			return p
		}
	}
	return nil
}

// Encode renders an input as an HTTP request.
func (g *Generator) Encode(op *spec.Operation, in Input, intent Intent) *Request {
	path := op.Path
	var query, cookies []string
	header := map[string][]string{}
	var values []SentValue
	for _, pv := range in.Params {
		p := paramByKey(op, pv.Key())
		if p == nil {
			continue
		}
		if !pv.Set {
			if p.In == openapi3.ParameterInPath {
				path = strings.ReplaceAll(path, "{"+p.Name+"}", "")
			}
			continue
		}
		pairs := serialize(p, pv.Value)
		values = appendSent(values, pv.Key(), pv.Value)
		switch p.In {
		case openapi3.ParameterInPath:
			path = strings.ReplaceAll(path, "{"+p.Name+"}", escapePath(p, pairs[0].value))
		case openapi3.ParameterInQuery:
			for _, pr := range pairs {
				query = append(query, escapeQuery(p, pr.name)+"="+escapeQuery(p, pr.value))
			}
		case openapi3.ParameterInHeader:
			name := http.CanonicalHeaderKey(p.Name)
			if validHeaderName(p.Name) && !ignoredHeaders[name] {
				header[name] = append(header[name], headerSafe(pairs[0].value))
			}
		case openapi3.ParameterInCookie:
			for _, pr := range pairs {
				cookies = append(cookies, pr.name+"="+cookieSafe(pr.value))
			}
		}
	}
	values = appendNegotiated(header, values, in)
	creds := g.credentials(op)
	for k, vs := range creds.Header {
		header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	qk := make([]string, 0, len(creds.Query))
	for k := range creds.Query {
		qk = append(qk, k)
	}
	sort.Strings(qk)
	for _, k := range qk {
		query = append(query, escapeQuery(nil, k)+"="+escapeQuery(nil, creds.Query.Get(k)))
	}
	ck := make([]string, 0, len(creds.Cookies))
	for k := range creds.Cookies {
		ck = append(ck, k)
	}
	sort.Strings(ck)
	for _, k := range ck {
		cookies = append(cookies, k+"="+cookieSafe(creds.Cookies[k]))
	}
	if len(cookies) > 0 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	var body []byte
	switch {
	case in.RawBody != nil:
		body = in.RawBody
		ct := in.Media
		if ct == "" {
			ct = "application/json"
		}
		header["Content-Type"] = []string{ct}
	case in.Media != "":
		m := media(op, in.Media)
		if m == nil {
			m = &spec.Media{Type: in.Media}
		}
		ct, b := encodeBody(m, in.Body)
		body = b
		header["Content-Type"] = []string{ct}
		values = appendSent(values, "body", in.Body)
	}
	full := path
	if g.spec != nil {
		full = g.spec.BasePath + path
	}
	if len(query) > 0 {
		full += "?" + strings.Join(query, "&")
	}
	if len(header) == 0 {
		header = nil
	}
	return &Request{
		Request: corpus.Request{Operation: op.ID, Method: op.Method, Path: full, Header: header, Body: body},
		Input:   in,
		Intent:  intent,
		Values:  values,
	}
}

func (g *Generator) credentials(op *spec.Operation) spec.Credentials {
	if g.spec == nil {
		return spec.Credentials{}
	}
	return g.spec.Credentials(op)
}

const maxSentValues = 64

// appendSent records the scalars of v under target.
func appendSent(out []SentValue, target string, v any) []SentValue {
	if len(out) >= maxSentValues {
		return out
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			out = appendSent(out, target+"/"+k, x[k])
		}
	case []any:
		for _, e := range x {
			out = appendSent(out, target, e)
		}
	case nil:
	default:
		out = append(out, SentValue{Target: target, Value: Scalar(x)})
	}
	return out
}
