package spec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// maxSpecSize caps what is read from a file or URL.
const maxSpecSize = 64 << 20

// SpecOption configures LoadSpec and DiscoverSpec.
type SpecOption func(*loadConfig)

type loadConfig struct {
	basePath    *string
	headers     http.Header
	schemes     map[string]string
	client      *http.Client
	headerErr   error
	noExtraRefs bool
}

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

// WithHTTPClient sets the client used to fetch specs from URLs.
func WithHTTPClient(client *http.Client) SpecOption {
	return func(c *loadConfig) { c.client = client }
}

// WithoutExternalRefs refuses $refs to other files or URLs.
func WithoutExternalRefs() SpecOption {
	return func(c *loadConfig) { c.noExtraRefs = true }
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
	if c.client == nil {
		c.client = &http.Client{Timeout: 30 * time.Second}
	}
	return c
}

// LoadSpec loads the document at source, a file path or an http(s) URL.
// Errors are *LoadError: one line naming the problem, its location and the fix.
func LoadSpec(ctx context.Context, source string, opts ...SpecOption) (*Spec, error) {
	c := newConfig(opts)
	if c.headerErr != nil {
		return nil, c.headerErr
	}
	data, loc, err := read(ctx, c.client, source)
	if err != nil {
		return nil, err
	}
	return load(ctx, c, source, data, loc)
}

// LoadSpecData loads a document from memory; source names it in messages and
// relative $refs are resolved against it when it is a path or URL.
func LoadSpecData(ctx context.Context, source string, data []byte, opts ...SpecOption) (*Spec, error) {
	c := newConfig(opts)
	if c.headerErr != nil {
		return nil, c.headerErr
	}
	loc, err := sourceURL(source)
	if err != nil {
		loc = &url.URL{Path: source}
	}
	return load(ctx, c, source, data, loc)
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

func read(ctx context.Context, client *http.Client, source string) ([]byte, *url.URL, error) {
	loc, err := sourceURL(source)
	if err != nil {
		return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: "bad location: " + err.Error(), Fix: "pass a file path or an http(s) URL"}
	}
	if !isURL(source) {
		f, err := os.Open(source)
		if err != nil {
			problem, fix := err.Error(), "check the path given with --spec, or pass a URL"
			switch {
			case errors.Is(err, os.ErrNotExist):
				problem = "no such file"
			case errors.Is(err, os.ErrPermission):
				problem, fix = "permission denied", "make the file readable by the user running whittle"
			}
			return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: problem, Fix: fix}
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxSpecSize+1))
		if err != nil {
			fix := "check the file is readable"
			if errors.Is(err, syscall.EISDIR) {
				fix = "pass the spec file, not a directory"
			}
			return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: err.Error(), Fix: fix}
		}
		if len(data) > maxSpecSize {
			return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: "larger than 64 MiB", Fix: "pass a smaller document"}
		}
		return data, loc, nil
	}
	data, status, err := fetch(ctx, client, source)
	if err != nil {
		return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: err.Error(), Fix: "check the URL and that the service is up"}
	}
	if status != http.StatusOK {
		return nil, nil, &LoadError{Source: source, Kind: ErrFetch, Problem: fmt.Sprintf("HTTP status %d", status), Fix: "check the URL serves the spec"}
	}
	return data, loc, nil
}

func fetch(ctx context.Context, client *http.Client, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, text/yaml;q=0.8, */*;q=0.5")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSpecSize+1))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if len(data) > maxSpecSize {
		return nil, resp.StatusCode, errors.New("larger than 64 MiB")
	}
	return data, resp.StatusCode, nil
}

func load(ctx context.Context, c *loadConfig, source string, data []byte, loc *url.URL) (s *Spec, err error) {
	defer func() {
		// kin-openapi must not bring the process down on hostile input.
		if r := recover(); r != nil {
			s, err = nil, &LoadError{Source: source, Kind: ErrInvalid, Problem: fmt.Sprintf("document cannot be processed (%v)", r), Fix: "check the document with an OpenAPI validator"}
		}
	}()
	version, swagger, err := sniff(source, data)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = !c.noExtraRefs
	loader.IncludeOrigin = true
	loader.Context = ctx
	refs := &refDigests{}
	loader.ReadFromURIFunc = refs.read(!c.noExtraRefs, c.client)

	var doc *openapi3.T
	var collection collectionFormats
	var basePath string
	if swagger {
		var doc2 openapi2.T
		if err := openapi2.UnmarshalFromData(data, &doc2); err != nil {
			return nil, kinError(source, data, err)
		}
		collection = swaggerCollectionFormats(&doc2)
		basePath = doc2.BasePath
		if doc, err = openapi2conv.ToV3WithLoader(&doc2, loader, loc); err != nil {
			return nil, kinError(source, data, err)
		}
	} else {
		if doc, err = loader.LoadFromDataWithPath(data, loc); err != nil {
			return nil, kinError(source, data, err)
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
		Hash:     refs.hash(data),
		BasePath: cleanBasePath(basePath),
		Auth:     Auth{Headers: c.headers, Schemes: c.schemes},
	}
	s.extract(ctx, collection)
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

// refDigests records what the documents a spec's external $refs point to
// hold, so that the spec's hash changes when any of them does.
type refDigests struct {
	mu   sync.Mutex
	sums map[string]bool
}

// read is the loader's ReadFromURIFunc: kin-openapi's file and HTTP
// readers with a cache of this load's own (the default one is process-wide
// and would hide a changed file), behind the external-refs policy (a custom
// reader bypasses IsExternalRefsAllowed).
func (d *refDigests) read(allowed bool, client *http.Client) openapi3.ReadFromURIFunc {
	reader := openapi3.URIMapCache(openapi3.ReadFromURIs(openapi3.ReadFromHTTP(client), openapi3.ReadFromFile))
	return func(l *openapi3.Loader, u *url.URL) ([]byte, error) {
		if !allowed {
			return nil, &openapi3.DisallowedExternalRefError{Ref: u.String()}
		}
		data, err := reader(l, u)
		if err == nil {
			sum := sha256.Sum256(data)
			d.mu.Lock()
			if d.sums == nil {
				d.sums = map[string]bool{}
			}
			d.sums[hex.EncodeToString(sum[:])] = true
			d.mu.Unlock()
		}
		return data, err
	}
}

// hash is "sha256:<hex>" of the root document's bytes when it has no
// external refs; otherwise of those bytes followed by the sorted digests of
// every referenced document (contents, not locations: the same spec checked
// out elsewhere hashes the same).
func (d *refDigests) hash(root []byte) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.sums) == 0 {
		sum := sha256.Sum256(root)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	h := sha256.New()
	h.Write(root)
	keys := make([]string, 0, len(d.sums))
	for k := range d.sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// sniff checks the syntax with positions and finds which kind of document it is.
func sniff(source string, data []byte) (version string, swagger bool, err error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return "", false, &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: "empty document", Fix: "point --spec at an OpenAPI 3 or Swagger 2.0 document"}
	}
	top := map[string]any{}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			le := &LoadError{Source: source, Kind: ErrSyntax, Problem: "JSON syntax error: " + err.Error(), Fix: "correct the JSON at that position"}
			var se *json.SyntaxError
			if errors.As(err, &se) {
				le.Line, le.Column = lineCol(data, int(se.Offset)-1)
			}
			return "", false, le
		}
		m, ok := v.(map[string]any)
		if !ok {
			return "", false, notOpenAPI(source)
		}
		top = m
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
			return "", false, le
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return "", false, notOpenAPI(source)
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i].Value; k == "openapi" || k == "swagger" {
				top[k] = root.Content[i+1].Value
			}
		}
	}
	if v, ok := top["openapi"]; ok {
		version = fmt.Sprint(v)
		if !strings.HasPrefix(version, "3.") {
			return "", false, &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: fmt.Sprintf("unsupported openapi version %q", version), Fix: "use OpenAPI 3.0/3.1 or Swagger 2.0"}
		}
		return version, false, nil
	}
	if v, ok := top["swagger"]; ok {
		version = fmt.Sprint(v)
		if version != "2.0" && version != "2" {
			return "", false, &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: fmt.Sprintf("unsupported swagger version %q", version), Fix: "convert it to Swagger 2.0 or OpenAPI 3"}
		}
		return "2.0", true, nil
	}
	return "", false, notOpenAPI(source)
}

func notOpenAPI(source string) error {
	return &LoadError{Source: source, Kind: ErrNotOpenAPI, Problem: "no top-level \"openapi\" or \"swagger\" key", Fix: "point --spec at an OpenAPI 3 or Swagger 2.0 document"}
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
