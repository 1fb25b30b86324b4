package spec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// refScope is how far a document's $refs may reach. A spec can come from
// the target under test, which is hostile input: whittle runs as root, so a
// $ref must never make it read a host file or fetch from another host.
type refScope int

const (
	// sameDocument: only refs into the document itself ("#/components/...",
	// or its own location followed by a fragment). Discovered specs and
	// documents loaded from memory.
	sameDocument refScope = iota
	// sameOrigin: also documents fetched from the same scheme://host:port as
	// the spec, a URL the user gave.
	sameOrigin
	// sameTree: also files in the directory holding the spec, a file the
	// user gave, and below it (symbolic links may not lead out of it).
	sameTree
)

// RefRefusedError is a $ref the document's scope does not allow.
type RefRefusedError struct {
	Ref    string // the location the $ref resolved to
	Reason string
}

func (e *RefRefusedError) Error() string {
	return fmt.Sprintf("$ref %q refused: %s", e.Ref, e.Reason)
}

// refReader is the loader's ReadFromURIFunc. It alone decides what a $ref
// may read (kin-openapi does not apply IsExternalRefsAllowed to a custom
// reader), and records digests of what it read for the spec's hash.
type refReader struct {
	scope refScope
	self  string // the document's own location, without fragment
	data  []byte // the document's bytes, as loaded (cut to the operations fuzzed)
	// original is the document as read, for the hash; budget counts the
	// documents read through $refs.
	original []byte
	budget   *budget
	client   *http.Client
	origin   string // scheme://host[:port], for sameOrigin
	dir      string // absolute directory of the spec file, for sameTree

	mu    sync.Mutex
	sums  map[string]bool
	cache map[string][]byte
}

func newRefReader(scope refScope, self *url.URL, data []byte, client *http.Client) *refReader {
	r := &refReader{scope: scope, data: data, client: client}
	if self != nil {
		u := *self
		u.Fragment, u.RawFragment = "", ""
		r.self = u.String()
		switch {
		case u.Scheme == "http" || u.Scheme == "https":
			r.origin = u.Scheme + "://" + u.Host
		case u.Path != "":
			r.dir = filepath.Dir(filepath.FromSlash(u.Path))
		}
	}
	return r
}

func (r *refReader) read(l *openapi3.Loader, u *url.URL) ([]byte, error) {
	loc := *u
	loc.Fragment, loc.RawFragment = "", ""
	if r.origin != "" && loc.Scheme == "" && loc.Host == "" {
		// kin-openapi leaves a path-only $ref ("/schemas.yaml") of a
		// document fetched over HTTP as it is; on the web it names a
		// document on the same origin, never a file of this machine.
		self, _ := url.Parse(r.self)
		loc = *self.ResolveReference(&loc)
	}
	key := loc.String()
	if key == r.self || (r.self != "" && isFile(&loc) && filepath.Clean(filepath.FromSlash(loc.Path)) == filepath.Clean(filepath.FromSlash(r.selfPath()))) {
		return r.data, nil
	}
	r.mu.Lock()
	cached, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return cached, nil
	}
	ctx := l.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if err := r.budget.document(); err != nil {
		return nil, err
	}
	data, err := r.fetch(ctx, &loc)
	if err != nil {
		return nil, err
	}
	if err := r.measure(key, data); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	r.mu.Lock()
	if r.sums == nil {
		r.sums, r.cache = map[string]bool{}, map[string][]byte{}
	}
	r.sums[hex.EncodeToString(sum[:])] = true
	r.cache[key] = data
	r.mu.Unlock()
	return data, nil
}

func (r *refReader) selfPath() string {
	if u, err := url.Parse(r.self); err == nil && isFile(u) {
		return u.Path
	}
	return ""
}

func isFile(u *url.URL) bool { return u.Host == "" && (u.Scheme == "" || u.Scheme == "file") }

// fetch reads a location other than the document itself, if the scope allows it.
func (r *refReader) fetch(ctx context.Context, u *url.URL) ([]byte, error) {
	switch r.scope {
	case sameOrigin:
		if (u.Scheme == "http" || u.Scheme == "https") && u.Scheme+"://"+u.Host == r.origin {
			return r.fetchURL(ctx, u)
		}
		return nil, &RefRefusedError{Ref: u.String(), Reason: "a spec given by URL may refer only to documents on its own origin " + r.origin}
	case sameTree:
		if isFile(u) && r.dir != "" {
			return r.readFile(u)
		}
		return nil, &RefRefusedError{Ref: u.String(), Reason: "a spec file may refer only to files in its own directory " + r.dir + " and below"}
	default:
		return nil, &RefRefusedError{Ref: u.String(), Reason: "this spec may refer only to places within itself"}
	}
}

func (r *refReader) fetchURL(ctx context.Context, u *url.URL) ([]byte, error) {
	data, status, location, err := fetch(ctx, r.client, u.String(), r.budget)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("reading %s: %s", u, statusProblem(status, location))
	}
	return data, nil
}

// readFile reads a file inside r.dir through an os.Root, which refuses ".."
// and symbolic links that lead out of it.
func (r *refReader) readFile(u *url.URL) ([]byte, error) {
	p := filepath.Clean(filepath.FromSlash(u.Path))
	rel, err := filepath.Rel(r.dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return nil, &RefRefusedError{Ref: u.String(), Reason: "a spec file may refer only to files in its own directory " + r.dir + " and below"}
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		// rel was checked to stay inside lexically: what else os.Root
		// refuses (other than a missing or unreadable file) is a symlink
		// leading out (its error for that is not exported).
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			return nil, &RefRefusedError{Ref: u.String(), Reason: "a symbolic link leads out of the spec's directory " + r.dir}
		}
		return nil, err
	}
	defer f.Close()
	return r.budget.readCapped(f)
}

// measure counts a document read through a $ref against the load's
// budget (values, keys per object, nesting, $ref chains within it).
func (r *refReader) measure(source string, data []byte) error {
	d, err := parse(source, data)
	if err != nil {
		// Not a whole OpenAPI document (a fragment file of schemas):
		// measured as plain JSON or YAML.
		var tree any
		if tree, err = plainTree(data); err != nil {
			return nil // kin-openapi will say what is wrong with it
		}
		_, err = r.budget.measure(tree)
		return err
	}
	_, err = r.budget.measure(d.tree())
	return err
}

// hash is "sha256:<hex>" of the root document's bytes when it has no
// external refs; otherwise of those bytes followed by the sorted digests of
// every referenced document (contents, not locations: the same spec checked
// out elsewhere hashes the same).
func (r *refReader) hash() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	own := r.original
	if own == nil {
		own = r.data
	}
	if len(r.sums) == 0 {
		sum := sha256.Sum256(own)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	h := sha256.New()
	h.Write(own)
	keys := make([]string, 0, len(r.sums))
	for k := range r.sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
