package spec

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/internal/limits"
)

// methodOrder sorts the operations of one path.
var methodOrder = []string{"POST", "GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "QUERY"}

func methodRank(m string) int {
	if i := slices.Index(methodOrder, m); i >= 0 {
		return i
	}
	return len(methodOrder)
}

// collectionFormats maps "METHOD path in.name" (METHOD "*" for path-level
// parameters) to a Swagger 2.0 collectionFormat.
type collectionFormats map[string]string

func swaggerCollectionFormats(doc *openapi2.T) collectionFormats {
	cf := collectionFormats{}
	resolve := func(p *openapi2.Parameter) *openapi2.Parameter {
		if p != nil && p.Ref != "" && doc.Parameters != nil {
			return doc.Parameters[strings.TrimPrefix(p.Ref, "#/parameters/")]
		}
		return p
	}
	add := func(method, path string, params openapi2.Parameters) {
		for _, p := range params {
			p = resolve(p)
			if p != nil && p.CollectionFormat != "" {
				cf[method+" "+path+" "+p.In+"."+p.Name] = p.CollectionFormat
			}
		}
	}
	for path, item := range doc.Paths {
		if item == nil {
			continue
		}
		add("*", path, item.Parameters)
		for method, op := range item.Operations() {
			if op != nil {
				add(strings.ToUpper(method), path, op.Parameters)
			}
		}
	}
	return cf
}

func (cf collectionFormats) lookup(method, path string, p *Parameter) string {
	if cf == nil {
		return ""
	}
	if v, ok := cf[method+" "+path+" "+p.Key()]; ok {
		return v
	}
	return cf["* "+path+" "+p.Key()]
}

// validationOptions keep operations whose only fault is an example, a default
// or a regex Go cannot compile: the fuzzer can still exercise them.
func validationOptions(doc *openapi3.T) []openapi3.ValidationOption {
	opts := []openapi3.ValidationOption{
		openapi3.SetRegexCompiler(CompileRegex),
		openapi3.DisableExamplesValidation(),
		openapi3.DisableSchemaDefaultsValidation(),
	}
	if doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.IsOpenAPI31OrLater())
	}
	return opts
}

// extract fills Operations and Warnings from Doc. keep, when not nil, are
// the operations to fuzz of a document cut before loading (it also holds
// the path items $refs point into, loaded to resolve, not fuzzed).
func (s *Spec) extract(ctx context.Context, cf collectionFormats, keep map[opKey]bool) {
	s.byID = map[string]*Operation{}
	if s.Doc.Paths == nil {
		return
	}
	paths := s.Doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vopts := validationOptions(s.Doc)
	var all []opKey
	for _, path := range keys {
		item := paths[path]
		if item == nil {
			continue
		}
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			if ops[m] != nil {
				methods = append(methods, m)
			}
		}
		sort.Slice(methods, func(i, j int) bool {
			ri, rj := methodRank(methods[i]), methodRank(methods[j])
			if ri != rj {
				return ri < rj
			}
			return methods[i] < methods[j]
		})
		for _, m := range methods {
			all = append(all, opKey{path, m})
		}
	}
	if keep != nil {
		all = slices.DeleteFunc(all, func(k opKey) bool { return !keep[opKey{k.path, strings.ToLower(k.method)}] })
	}
	if max := limits.SpecOperations.Int(); len(all) > max {
		// The document was not cut before loading (its $refs point into
		// every path item): only an even spread is validated and fuzzed.
		p := &pruned{total: len(all), kept: max}
		s.Warnings = append(s.Warnings, p.warning())
		keep := spread(slices.Clone(all), max)
		all = slices.DeleteFunc(all, func(k opKey) bool { return !keep[k] })
	}
	for _, k := range all {
		path, method := k.path, k.method
		item := paths[path]
		op := item.GetOperation(method)
		id := strings.ToUpper(method) + " " + path
		o, err := s.operation(ctx, id, strings.ToUpper(method), path, item, op, cf, vopts)
		if err != nil {
			s.Warnings = append(s.Warnings, oneLine(fmt.Sprintf("skipping %s%s: %v", id, s.where(op.Origin), err)))
			continue
		}
		s.Operations = append(s.Operations, o)
		s.byID[id] = o
	}
	s.resolveLinks()
}

// where formats an element's origin as " (file:line)".
func (s *Spec) where(o *openapi3.Origin) string {
	if o == nil || o.Key == nil || o.Key.Line == 0 {
		return ""
	}
	file := o.Key.File
	if file == "" || strings.HasSuffix(file, filepath.ToSlash(s.Source)) || !strings.Contains(file, "/") {
		file = s.Source
	}
	return fmt.Sprintf(" (%s:%d)", file, o.Key.Line)
}

func (s *Spec) operation(ctx context.Context, id, method, path string, item *openapi3.PathItem, op *openapi3.Operation, cf collectionFormats, vopts []openapi3.ValidationOption) (*Operation, error) {
	if err := op.Validate(ctx, vopts...); err != nil {
		return nil, err
	}
	o := &Operation{
		ID:          id,
		OperationID: op.OperationID,
		Method:      method,
		Path:        path,
		Deprecated:  op.Deprecated,
		Op:          op,
		PathItem:    item,
		segments:    splitPath(path),
	}
	merged := map[string]*openapi3.Parameter{}
	var order []string
	for _, list := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				r := ""
				if ref != nil {
					r = ref.Ref
				}
				return nil, fmt.Errorf("parameter $ref %q is unresolved", r)
			}
			p := ref.Value
			k := p.In + "." + p.Name
			if _, ok := merged[k]; !ok {
				order = append(order, k)
			}
			merged[k] = p
		}
	}
	vars := templateVars(path)
	for _, k := range order {
		p := merged[k]
		if p.In == openapi3.ParameterInPath && !slices.Contains(vars, p.Name) {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: path parameter %q is not in the path; ignored", id, p.Name))
			continue
		}
		param, err := newParameter(p)
		if err != nil {
			return nil, err
		}
		param.CollectionFormat = cf.lookup(method, path, param)
		o.Params = append(o.Params, param)
	}
	for _, v := range vars {
		if _, ok := merged["path."+v]; !ok {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s: path variable {%s} is not declared; sending strings", id, v))
			o.Params = append(o.Params, &Parameter{Name: v, In: openapi3.ParameterInPath, Required: true, Schema: openapi3.NewStringSchema(), Style: "simple"})
		}
	}
	if rb := op.RequestBody; rb != nil {
		if rb.Value == nil {
			return nil, fmt.Errorf("request body $ref %q is unresolved", rb.Ref)
		}
		o.Body = newBody(rb.Value)
	}
	o.ResponseMedia = responseMedia(op)
	sec := s.Doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	for _, req := range sec {
		names := make([]string, 0, len(req))
		for n := range req {
			names = append(names, n)
		}
		sort.Strings(names)
		o.Security = append(o.Security, names)
	}
	return o, nil
}

// responseMedia is the sorted union of the media types op's responses declare.
func responseMedia(op *openapi3.Operation) []string {
	if op.Responses == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range op.Responses.Map() {
		if r == nil || r.Value == nil {
			continue
		}
		for ct := range r.Value.Content {
			ct = strings.ToLower(strings.TrimSpace(ct))
			if ct != "" && !seen[ct] {
				seen[ct] = true
				out = append(out, ct)
			}
		}
	}
	sort.Strings(out)
	return out
}

func templateVars(path string) []string {
	var vars []string
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			return vars
		}
		j := strings.IndexByte(path[i:], '}')
		if j < 0 {
			return vars
		}
		vars = append(vars, path[i+1:i+j])
		path = path[i+j+1:]
	}
}

func newParameter(p *openapi3.Parameter) (*Parameter, error) {
	param := &Parameter{
		Name:            p.Name,
		In:              p.In,
		Required:        p.Required || p.In == openapi3.ParameterInPath,
		AllowReserved:   p.AllowReserved,
		AllowEmptyValue: p.AllowEmptyValue,
	}
	if sm, err := p.SerializationMethod(); err == nil {
		param.Style, param.Explode = sm.Style, sm.Explode
	} else {
		return nil, err
	}
	if p.Schema != nil && p.Schema.Value != nil {
		param.Schema = p.Schema.Value
	}
	if p.Example != nil {
		param.Examples = append(param.Examples, p.Example)
	}
	param.Examples = append(param.Examples, exampleValues(p.Examples)...)
	if param.Schema == nil && len(p.Content) > 0 {
		for _, ct := range sortedMedia(p.Content) {
			mt := p.Content[ct]
			param.ContentType = ct
			if mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
				param.Schema = mt.Schema.Value
			}
			break
		}
	}
	if param.Schema == nil {
		param.Schema = &openapi3.Schema{}
	}
	return param, nil
}

func exampleValues(ex openapi3.Examples) []any {
	names := make([]string, 0, len(ex))
	for n := range ex {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []any
	for _, n := range names {
		if r := ex[n]; r != nil && r.Value != nil && r.Value.Value != nil {
			out = append(out, r.Value.Value)
		}
	}
	return out
}

// mediaRank prefers what the generator encodes best.
func mediaRank(ct string) int {
	ct = strings.ToLower(ct)
	switch {
	case ct == "application/json":
		return 0
	case strings.HasSuffix(ct, "+json") || strings.Contains(ct, "json"):
		return 1
	case ct == "application/x-www-form-urlencoded":
		return 2
	case ct == "multipart/form-data":
		return 3
	case strings.HasPrefix(ct, "text/"):
		return 4
	case ct == "application/octet-stream":
		return 5
	case strings.Contains(ct, "*"):
		return 7
	}
	return 6
}

func sortedMedia(c openapi3.Content) []string {
	cts := make([]string, 0, len(c))
	for ct := range c {
		cts = append(cts, ct)
	}
	sort.Slice(cts, func(i, j int) bool {
		ri, rj := mediaRank(cts[i]), mediaRank(cts[j])
		if ri != rj {
			return ri < rj
		}
		return cts[i] < cts[j]
	})
	return cts
}

func newBody(rb *openapi3.RequestBody) *RequestBody {
	b := &RequestBody{Required: rb.Required}
	for _, ct := range sortedMedia(rb.Content) {
		mt := rb.Content[ct]
		m := &Media{Type: ct, Schema: &openapi3.Schema{}}
		if mt != nil {
			if mt.Schema != nil && mt.Schema.Value != nil {
				m.Schema = mt.Schema.Value
			}
			m.Encoding = mt.Encoding
			if mt.Example != nil {
				m.Examples = append(m.Examples, mt.Example)
			}
			m.Examples = append(m.Examples, exampleValues(mt.Examples)...)
		}
		b.Media = append(b.Media, m)
	}
	return b
}

// resolveLinks collects OpenAPI links once every operation is known.
func (s *Spec) resolveLinks() {
	for _, o := range s.Operations {
		if o.Op.Responses == nil {
			continue
		}
		resps := o.Op.Responses.Map()
		codes := make([]string, 0, len(resps))
		for c := range resps {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, code := range codes {
			r := resps[code]
			if r == nil || r.Value == nil {
				continue
			}
			names := make([]string, 0, len(r.Value.Links))
			for n := range r.Value.Links {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				l := r.Value.Links[n]
				if l == nil || l.Value == nil {
					continue
				}
				target := s.linkTarget(l.Value)
				if target == nil {
					s.Warnings = append(s.Warnings, fmt.Sprintf("%s: link %q points to no known operation; ignored", o.ID, n))
					continue
				}
				o.Links = append(o.Links, Link{Status: code, Name: n, Target: target.ID, Parameters: l.Value.Parameters})
			}
		}
	}
}

func (s *Spec) linkTarget(l *openapi3.Link) *Operation {
	if l.OperationID != "" {
		for _, o := range s.Operations {
			if o.OperationID == l.OperationID {
				return o
			}
		}
		return nil
	}
	ref := l.OperationRef
	i := strings.Index(ref, "#/paths/")
	if i < 0 {
		return nil
	}
	parts := strings.Split(ref[i+len("#/paths/"):], "/")
	if len(parts) != 2 {
		return nil
	}
	path := strings.ReplaceAll(strings.ReplaceAll(parts[0], "~1", "/"), "~0", "~")
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	return s.byID[strings.ToUpper(parts[1])+" "+path]
}
