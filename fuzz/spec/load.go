package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"

	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/internal/loopback"
)

// SpecOption configures LoadSpec and DiscoverSpec.
type SpecOption func(*loadConfig)

type loadConfig struct {
	basePath    *string
	headers     http.Header
	schemes     map[string]string
	client      *http.Client
	headerErr   error
	noExtraRefs bool
	rec         *limits.Recorder
}

// specTimeout bounds each fetch of a spec or a document it refers to.
const specTimeout = 30 * time.Second

// WithBasePath overrides the prefix taken from servers (OpenAPI 3) or
// basePath (Swagger 2.0). "" or "/" means no prefix.
func WithBasePath(p string) SpecOption {
	return func(c *loadConfig) { c.basePath = &p }
}

// WithHeader adds a header sent with every request, e.g. an Authorization
// header. Repeatable.
func WithHeader(name, value string) SpecOption {
	return func(c *loadConfig) {
		if c.headers == nil {
			c.headers = http.Header{}
		}
		c.headers.Add(name, value)
	}
}

// WithHeaderLine is WithHeader for a "Name: value" line as given on a command line.
func WithHeaderLine(line string) SpecOption {
	return func(c *loadConfig) {
		name, value, err := ParseHeader(line)
		if err != nil {
			c.headerErr = err
			return
		}
		WithHeader(name, value)(c)
	}
}

// WithSchemeValue sets the value for a named security scheme: a bearer token,
// an API key, or "user:password" for HTTP basic.
func WithSchemeValue(scheme, value string) SpecOption {
	return func(c *loadConfig) {
		if c.schemes == nil {
			c.schemes = map[string]string{}
		}
		c.schemes[scheme] = value
	}
}

// WithoutExternalRefs refuses $refs to other files or URLs, as for a
// discovered spec.
func WithoutExternalRefs() SpecOption {
	return func(c *loadConfig) { c.noExtraRefs = true }
}

// WithLimits records the limits a load reaches (limits.SpecOperations
// when the spec is cut; any other when it is refused) in rec.
func WithLimits(rec *limits.Recorder) SpecOption {
	return func(c *loadConfig) { c.rec = rec }
}

// ParseHeader splits "Name: value".
func ParseHeader(line string) (string, string, error) {
	name, value, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return "", "", fmt.Errorf("header %q: want \"Name: value\", e.g. \"Authorization: Bearer TOKEN\"", line)
	}
	return name, strings.TrimSpace(value), nil
}

func newConfig(opts []SpecOption) *loadConfig {
	c := &loadConfig{}
	for _, o := range opts {
		o(c)
	}
	// Every fetch goes through the loopback-only client that never follows
	// a redirect: no spec, wherever it came from, takes whittle elsewhere.
	c.client = loopback.NewClient(specTimeout)
	return c
}

// LoadSpec loads the document the user named: a file path or an http(s) URL
// on a loopback address (whittle fetches nothing from other hosts). Its
// $refs may reach files in the spec file's directory and below, or
// documents on the URL's own origin; nothing else.
// Errors are *LoadError: one line naming the problem, its location and the fix.
func LoadSpec(ctx context.Context, source string, opts ...SpecOption) (*Spec, error) {
	c := newConfig(opts)
	if c.headerErr != nil {
		return nil, c.headerErr
	}
	b := newBudget(capsFor(false), c.rec)
	data, loc, err := read(ctx, c.client, source, b)
	if err != nil {
		return nil, err
	}
	scope := sameTree
	if isURL(source) {
		scope = sameOrigin
	}
	if c.noExtraRefs {
		scope = sameDocument
	}
	return load(ctx, c, source, data, loc, scope, b)
}

// LoadSpecData loads a document from memory; source names it in messages.
// Its $refs may point only into the document itself.
func LoadSpecData(ctx context.Context, source string, data []byte, opts ...SpecOption) (*Spec, error) {
	c := newConfig(opts)
	if c.headerErr != nil {
		return nil, c.headerErr
	}
	loc, err := sourceURL(source)
	if err != nil {
		loc = &url.URL{Path: source}
	}
	b := newBudget(capsFor(false), c.rec)
	if err := b.read(len(data)); err != nil {
		return nil, limitError(source, err)
	}
	return load(ctx, c, source, data, loc, sameDocument, b)
}

func isURL(source string) bool {
	return strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://")
}

func sourceURL(source string) (*url.URL, error) {
	if isURL(source) {
		return url.Parse(source)
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, err
	}
	return &url.URL{Path: filepath.ToSlash(abs)}, nil
}

func read(ctx context.Context, client *http.Client, source string, b *budget) ([]byte, *url.URL, error) {
	loc, err := sourceURL(source)
	if err != nil {
		return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: "bad location: " + err.Error(), Fix: "pass a file path or an http(s) URL"}
	}
	if !isURL(source) {
		f, err := os.Open(source)
		if err != nil {
			problem, fix := err.Error(), FixCheckPath
			switch {
			case errors.Is(err, os.ErrNotExist):
				problem = "no such file"
			case errors.Is(err, os.ErrPermission):
				problem, fix = "permission denied", "make the file readable by the user running whittle"
			}
			return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: problem, Fix: fix}
		}
		defer f.Close()
		data, err := b.readCapped(f)
		if err != nil {
			var ol *overLimit
			if errors.As(err, &ol) {
				return nil, nil, limitError(source, err)
			}
			fix := "check the file is readable"
			if errors.Is(err, syscall.EISDIR) {
				fix = "pass the spec file, not a directory"
			}
			return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: err.Error(), Fix: fix}
		}
		return data, loc, nil
	}
	if err := loopback.CheckURL(loc); err != nil {
		return nil, nil, &LoadError{Source: source, Kind: ErrFetch,
			Problem: "whittle fetches specs only from loopback addresses (127.0.0.1, ::1, localhost)", Fix: FixDownload}
	}
	data, status, location, err := fetch(ctx, client, source, b)
	if err != nil {
		var ol *overLimit
		if errors.As(err, &ol) {
			return nil, nil, limitError(source, err)
		}
		return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: err.Error(), Fix: "check the URL and that the service is up"}
	}
	if status != http.StatusOK {
		fix := "check the URL serves the spec"
		if location != "" {
			fix = "give the URL it redirects to, if that is on this machine, or " + FixDownload
		}
		return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: statusProblem(status, location), Fix: fix}
	}
	return data, loc, nil
}

// readCapped reads a document, no more than what is left of the budget's
// bytes.
func (b *budget) readCapped(r io.Reader) ([]byte, error) {
	b.mu.Lock()
	left := b.caps.bytes.Value - b.bytes
	b.mu.Unlock()
	data, err := io.ReadAll(io.LimitReader(r, max(left, 0)+1))
	if err != nil {
		return nil, err
	}
	if err := b.read(len(data)); err != nil {
		return nil, err
	}
	return data, nil
}

// fetch GETs u with client and returns the body, the status and, for a
// redirect, where it pointed (never followed).
func fetch(ctx context.Context, client *http.Client, u string, b *budget) (data []byte, status int, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, "", err
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, text/yaml;q=0.8, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, "", err
	}
	defer resp.Body.Close()
	if l := resp.Header.Get(loopback.LimitHeader); l != "" {
		return nil, 0, "", fmt.Errorf("the answer was cut: over the limit %s", l)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		location = resp.Header.Get("Location")
	}
	data, err = b.readCapped(resp.Body)
	return data, resp.StatusCode, location, err
}

// statusProblem says what a status other than 200 means for a spec fetch.
func statusProblem(status int, location string) string {
	if location != "" {
		return fmt.Sprintf("HTTP status %d, a redirect to %q (redirects are not followed)", status, oneLine(location))
	}
	return fmt.Sprintf("HTTP status %d", status)
}

func load(ctx context.Context, c *loadConfig, source string, data []byte, loc *url.URL, scope refScope, b *budget) (s *Spec, err error) {
	defer func() {
		// kin-openapi must not bring the process down on hostile input.
		if r := recover(); r != nil {
			s, err = nil, &LoadError{Source: source, Kind: ErrInvalid, Problem: fmt.Sprintf("document cannot be processed (%v)", r), Fix: "check the document with an OpenAPI validator"}
		}
	}()
	doc0, err := parse(source, data)
	if err != nil {
		return nil, err
	}
	version, swagger := doc0.version, doc0.swagger
	sh, err := b.measure(doc0.tree())
	if err != nil {
		return nil, limitError(source, err)
	}
	cut, err := doc0.prune(sh)
	if err != nil {
		return nil, &LoadError{Source: source, Kind: ErrInvalid, Problem: "cutting the operations: " + err.Error(), Fix: "pass a spec of the operations to fuzz"}
	}
	doc0 = nil // the parsed tree is large: let it go before kin-openapi parses
	original, kinErrData := data, data
	if cut != nil {
		b.rec.Hit(limits.SpecOperations, fmt.Sprintf("%s: %d operations", source, cut.total))
		data, kinErrData = cut.data, nil
	}
	loader := openapi3.NewLoader()
	// The reader below decides what a $ref may read (kin-openapi leaves the
	// policy to a custom reader); for a spec that may refer only within
	// itself, kin-openapi refuses external refs before asking the reader.
	loader.IsExternalRefsAllowed = scope != sameDocument
	loader.IncludeOrigin = true
	loader.Context = ctx
	refs := newRefReader(scope, loc, data, c.client)
	refs.original, refs.budget = original, b
	loader.ReadFromURIFunc = refs.read

	var doc *openapi3.T
	var collection collectionFormats
	var basePath string
	if swagger {
		var doc2 openapi2.T
		if err := openapi2.UnmarshalFromData(data, &doc2); err != nil {
			return nil, kinError(source, original, kinErrData, scope, err)
		}
		collection = swaggerCollectionFormats(&doc2)
		basePath = doc2.BasePath
		if doc, err = openapi2conv.ToV3WithLoader(&doc2, loader, loc); err != nil {
			return nil, kinError(source, original, kinErrData, scope, err)
		}
	} else {
		if doc, err = loader.LoadFromDataWithPath(data, loc); err != nil {
			return nil, kinError(source, original, kinErrData, scope, err)
		}
		basePath = serverBasePath(doc)
	}
	if c.basePath != nil {
		basePath = *c.basePath
	}
	s = &Spec{
		Doc:      doc,
		Source:   source,
		Version:  version,
		Hash:     refs.hash(),
		BasePath: cleanBasePath(basePath),
		Auth:     Auth{Headers: c.headers, Schemes: c.schemes},
	}
	var keep map[opKey]bool
	if cut != nil {
		s.Warnings = append(s.Warnings, cut.warning())
		keep = cut.keep
	}
	s.extract(ctx, collection, keep)
	for name := range c.schemes {
		if doc.Components == nil || doc.Components.SecuritySchemes[name] == nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("security scheme %q given a value but not defined in the spec; ignored", name))
		}
	}
	if w := s.credentialWarning(); w != "" {
		s.Warnings = append(s.Warnings, w)
	}
	if len(s.Operations) == 0 {
		fix := "add paths with operations"
		if len(s.Warnings) > 0 {
			fix = "fix the operations: " + s.Warnings[0]
		}
		return nil, &LoadError{Source: source, Kind: ErrNoOperations, Problem: "no usable operations", Fix: fix}
	}
	return s, nil
}

// document is a spec parsed to check its syntax, find its kind, measure
// it and cut its operations, before kin-openapi loads it.
type document struct {
	version string
	swagger bool
	json    map[string]any // a JSON document (numbers as json.Number)
	yaml    *yaml.Node     // or a YAML one
}

func (d *document) tree() any {
	if d.yaml != nil {
		return d.yaml
	}
	return d.json
}

// prune cuts the document to the operations a run fuzzes; nil when it has
// no more than that.
func (d *document) prune(sh *shape) (*pruned, error) {
	if d.yaml != nil {
		return pruneYAML(d.yaml, sh)
	}
	return pruneJSON(d.json, sh)
}

// parse checks the syntax with positions, finds which kind of document it
// is and keeps its tree.
func parse(source string, data []byte) (*document, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return nil, &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: "empty document", Fix: FixPointAtSpec}
	}
	d := &document{}
	top := map[string]any{}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		v, err := decodeJSON(data)
		if err != nil {
			le := &LoadError{Source: source, Kind: ErrSyntax, Problem: "JSON syntax error: " + err.Error(), Fix: "correct the JSON at that position"}
			var se *json.SyntaxError
			if errors.As(err, &se) {
				le.Line, le.Column = lineCol(data, int(se.Offset)-1)
			}
			return nil, le
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, notOpenAPI(source)
		}
		top, d.json = m, m
	} else {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			le := &LoadError{Source: source, Kind: ErrSyntax, Problem: "YAML syntax error", Fix: "correct the indentation or quoting at that position"}
			var ye *yaml.LoadError
			if errors.As(err, &ye) {
				le.Problem += ": " + ye.Message
				le.Line, le.Column = ye.Mark.Line, ye.Mark.Column
			} else {
				le.Problem += ": " + strings.TrimPrefix(err.Error(), "yaml: ")
			}
			return nil, le
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return nil, notOpenAPI(source)
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i].Value; k == "openapi" || k == "swagger" {
				top[k] = root.Content[i+1].Value
			}
		}
		d.yaml = &n
	}
	if v, ok := top["openapi"]; ok {
		d.version = fmt.Sprint(v)
		if !strings.HasPrefix(d.version, "3.") {
			return nil, &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: fmt.Sprintf("unsupported openapi version %q", d.version), Fix: "use OpenAPI 3.0/3.1 or Swagger 2.0"}
		}
		return d, nil
	}
	if v, ok := top["swagger"]; ok {
		d.version = fmt.Sprint(v)
		if d.version != "2.0" && d.version != "2" {
			return nil, &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: fmt.Sprintf("unsupported swagger version %q", d.version), Fix: "convert it to Swagger 2.0 or OpenAPI 3"}
		}
		d.version, d.swagger = "2.0", true
		return d, nil
	}
	return nil, notOpenAPI(source)
}

// plainTree parses JSON or YAML that is not a whole OpenAPI document.
func plainTree(data []byte) (any, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return decodeJSON(data)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// decodeJSON decodes one JSON value, numbers kept as written (they are
// written out again when the document is cut), nothing after it.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = &json.SyntaxError{Offset: dec.InputOffset() + 1}
			return nil, fmt.Errorf("invalid character after top-level value: %w", err)
		}
		return nil, err
	}
	return v, nil
}

func notOpenAPI(source string) error {
	return &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: "no top-level \"openapi\" or \"swagger\" key", Fix: FixPointAtSpec}
}

func lineCol(data []byte, offset int) (int, int) {
	if offset > len(data) {
		offset = len(data)
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := offset - bytes.LastIndexByte(before, '\n')
	return line, col
}

// serverBasePath is the path part of the first server URL, its variables
// replaced by their defaults.
func serverBasePath(doc *openapi3.T) string {
	if len(doc.Servers) == 0 || doc.Servers[0] == nil {
		return ""
	}
	srv := doc.Servers[0]
	raw := srv.URL
	for name, v := range srv.Variables {
		if v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		raw = rest[j:]
	}
	if u, err := url.Parse(raw); err == nil {
		raw = u.Path
	}
	return raw
}

func cleanBasePath(p string) string {
	p = strings.TrimSpace(p)
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}
