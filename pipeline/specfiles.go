package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/loopback"
	"github.com/whittle-dev/whittle/internal/remedy"
)

// A corpus records its spec's documents as the run read them, so that a
// replay or a build from the corpus needs no spec of its own (and a merge
// of shards run in other jobs carries it). The spec package keeps the
// parsed document, not its bytes: they are read again here, and kept only
// when they hash to the spec's own hash, i.e. are exactly what was loaded.

const (
	maxSpecDocument  = 64 << 20
	maxSpecDocuments = 1000
	specFetchTimeout = 30 * time.Second
)

// errSpecChanged is a spec whose documents read back are not those loaded.
var errSpecChanged = errors.New("its documents read again are not the ones the run loaded")

// specFiles reads back the documents sp was loaded from: the root (a file
// or a loopback URL) and, when the user gave the spec (followRefs), the
// documents its $refs reach within the root's directory, with the same
// containment as the spec's loader (an os.Root for files, the same origin
// through the loopback client for URLs). A discovered spec may refer only
// within itself: its root alone is read.
func specFiles(ctx context.Context, sp *spec.Spec, basePath *string, followRefs bool) (*corpus.SpecFiles, error) {
	r := &docReader{client: loopback.NewClient(specFetchTimeout)}
	root, err := r.locate(sp.Source)
	if err != nil {
		return nil, err
	}
	data, err := r.read(ctx, root)
	if err != nil {
		return nil, err
	}
	name := rootName(root)
	files := map[string][]byte{name: data}
	if specHash(data, nil) != sp.Hash {
		if !followRefs {
			return nil, errSpecChanged
		}
		sums, err := r.gather(ctx, root, data, files)
		if err != nil {
			return nil, err
		}
		if specHash(data, sums) != sp.Hash {
			return nil, errSpecChanged
		}
	}
	return &corpus.SpecFiles{Source: sp.Source, Root: name, BasePath: basePath, Files: files}, nil
}

// specHash is spec.Spec.Hash of a root document and the digests of the
// documents its $refs reached.
func specHash(root []byte, sums map[string]bool) string {
	if len(sums) == 0 {
		sum := sha256.Sum256(root)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write(root)
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// docReader reads a spec's documents: files below the root's directory,
// or URLs on its origin below its path's directory.
type docReader struct {
	client *http.Client
	dir    *url.URL // the root's directory, with a trailing slash
}

func (r *docReader) locate(source string) (*url.URL, error) {
	var u *url.URL
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		var err error
		if u, err = url.Parse(source); err != nil {
			return nil, err
		}
		if err := loopback.CheckURL(u); err != nil {
			return nil, err
		}
	} else {
		abs, err := filepath.Abs(source)
		if err != nil {
			return nil, err
		}
		u = &url.URL{Path: filepath.ToSlash(abs)}
	}
	u.Fragment, u.RawFragment, u.RawQuery = "", "", ""
	dir := *u
	dir.Path = path.Dir(u.Path)
	if !strings.HasSuffix(dir.Path, "/") {
		dir.Path += "/"
	}
	r.dir = &dir
	return u, nil
}

// rel is u's name below the root's directory, or false when it is not
// below it (or elsewhere than its origin).
func (r *docReader) rel(u *url.URL) (string, bool) {
	if u.Scheme != r.dir.Scheme || u.Host != r.dir.Host || !strings.HasPrefix(u.Path, r.dir.Path) {
		return "", false
	}
	name := strings.TrimPrefix(u.Path, r.dir.Path)
	return name, name != "" && path.Clean(name) == name && !strings.HasPrefix(name, "../")
}

func (r *docReader) read(ctx context.Context, u *url.URL) ([]byte, error) {
	if u.Scheme == "" {
		name, ok := r.rel(u)
		if !ok {
			return nil, fmt.Errorf("%s is outside the spec's directory", u.Path)
		}
		root, err := os.OpenRoot(filepath.FromSlash(r.dir.Path))
		if err != nil {
			return nil, err
		}
		defer root.Close()
		f, err := root.Open(filepath.FromSlash(name))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return capped(f, u.Path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, text/yaml;q=0.8, */*;q=0.5")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading %s: HTTP status %d", u, resp.StatusCode)
	}
	return capped(resp.Body, u.String())
}

func capped(rd io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(rd, maxSpecDocument+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSpecDocument {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, maxSpecDocument)
	}
	return data, nil
}

// gather reads the documents the $refs of data (the document at u) reach,
// recursively, into files by name, and returns their digests.
func (r *docReader) gather(ctx context.Context, root *url.URL, data []byte, files map[string][]byte) (map[string]bool, error) {
	sums := map[string]bool{}
	type doc struct {
		at   *url.URL
		data []byte
	}
	queue := []doc{{root, data}}
	seen := map[string]bool{root.String(): true}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, ref := range externalRefs(d.data) {
			ru, err := url.Parse(ref)
			if err != nil {
				continue
			}
			u := d.at.ResolveReference(ru)
			u.Fragment, u.RawFragment = "", ""
			if seen[u.String()] {
				continue
			}
			seen[u.String()] = true
			name, ok := r.rel(u)
			if !ok {
				return nil, fmt.Errorf("$ref %q leads out of the spec's directory", ref)
			}
			if len(files) >= maxSpecDocuments {
				return nil, fmt.Errorf("more than %d documents", maxSpecDocuments)
			}
			body, err := r.read(ctx, u)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256(body)
			sums[hex.EncodeToString(sum[:])] = true
			files[name] = body
			queue = append(queue, doc{u, body})
		}
	}
	return sums, nil
}

// externalRefs are the $ref values of a YAML or JSON document that name
// another document (not only a fragment of this one).
func externalRefs(data []byte) []string {
	var n yaml.Node
	if yaml.Unmarshal(data, &n) != nil {
		return nil
	}
	var out []string
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "$ref" && v.Kind == yaml.ScalarNode && v.Value != "" && !strings.HasPrefix(v.Value, "#") {
					out = append(out, v.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&n)
	return out
}

// rootName names the root document in DIR/spec: its file name, or the last
// segment of its URL path ("openapi.json" for a spec discovered at
// /openapi.json).
func rootName(u *url.URL) string {
	name := path.Base(u.Path)
	if name == "" || name == "/" || name == "." || strings.HasPrefix(name, ".") {
		return "openapi"
	}
	return name
}

// LoadCorpusSpec loads the spec a corpus records (its documents in
// DIR/spec) with the base path the recording run was given, unless opts
// give another; it must hash as the corpus's key says.
func LoadCorpusSpec(ctx context.Context, st *corpus.Store, opts ...spec.SpecOption) (*spec.Spec, error) {
	file, err := st.SpecFile()
	if err != nil {
		return nil, err
	}
	if rec := st.SpecRecord(); rec != nil && rec.BasePath != nil {
		opts = append([]spec.SpecOption{spec.WithBasePath(*rec.BasePath)}, opts...)
	}
	sp, err := spec.LoadSpec(ctx, file, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the spec recorded in corpus %s: %w", st.Dir(), err)
	}
	if want := st.Meta().SpecHash; sp.Hash != want {
		return nil, remedy.New(fmt.Errorf("the spec recorded in corpus %s hashes to %s, not to the corpus's %s", st.Dir(), sp.Hash, want), corpus.FixGiveSpec)
	}
	return sp, nil
}

// DescribeSpecDifference says how the spec whose root document is b
// differs from a's, by operations (for merges of corpora of two specs);
// "" when either cannot be loaded.
func DescribeSpecDifference(a, b string) string {
	ctx, cancel := context.WithTimeout(context.Background(), specFetchTimeout)
	defer cancel()
	sa, err := spec.LoadSpec(ctx, a)
	if err != nil {
		return ""
	}
	sb, err := spec.LoadSpec(ctx, b)
	if err != nil {
		return ""
	}
	only := func(x, y *spec.Spec) []string {
		var out []string
		for _, op := range x.Operations {
			if y.Operation(op.ID) == nil {
				out = append(out, op.ID)
			}
		}
		return out
	}
	added, removed := only(sb, sa), only(sa, sb)
	var parts []string
	if len(added) > 0 {
		parts = append(parts, fmt.Sprintf("%d operation(s) added (%s)", len(added), listSome(added, 4)))
	}
	if len(removed) > 0 {
		parts = append(parts, fmt.Sprintf("%d removed (%s)", len(removed), listSome(removed, 4)))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("the same %d operations, with other parameters, schemas or text", len(sa.Operations))
	}
	return strings.Join(parts, ", ")
}

func listSome(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}
