package spec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// A spec can come from the target under test, and whittle runs as root: no
// spec, discovered or given, may take whittle to another host or make it
// read a host file. These tests serve hostile specs from httptest servers
// on 127.0.0.1 and count every connection made to the places they point at.

// watched is an HTTP server that counts the connections made to it.
type watched struct {
	*httptest.Server
	conns atomic.Int64
}

func serve(t *testing.T, addr string, h http.Handler) *watched {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	w := &watched{Server: &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}}
	w.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			w.conns.Add(1)
		}
	}
	w.Start()
	t.Cleanup(w.Close)
	return w
}

// elsewhere serves a valid spec on an address of this machine that is not
// loopback (or, without one, on another loopback port): whatever reaches it
// followed a redirect or a $ref whittle must refuse.
func elsewhere(t *testing.T) *watched {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, refSpec(`{type: string, enum: [ELSEWHERE]}`))
	})
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return serve(t, net.JoinHostPort(n.IP.String(), "0"), h)
		}
	}
	t.Log("no non-loopback address on this machine: the redirect target listens on another loopback port")
	return serve(t, "127.0.0.1:0", h)
}

// refSpec is a one-operation document whose query parameter has schema.
func refSpec(schema string) string {
	return "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /pets:\n    get:\n      parameters:\n" +
		"        - {name: kind, in: query, schema: " + schema + "}\n" +
		"      responses:\n        '200': {description: ok}\n" +
		"components:\n  schemas:\n    Kind: {type: string, enum: [cat, dog]}\n"
}

// secretFile is a host file the target must never get to see.
func secretFile(t *testing.T) (path, content string) {
	t.Helper()
	content = "HOST-SECRET-4f1c"
	path = filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(path, []byte("Secret: {type: string, enum: ["+content+"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, content
}

func enumOf(t *testing.T, s *Spec) []any {
	t.Helper()
	op := s.Operation("GET /pets")
	if op == nil || len(op.Params) == 0 || op.Params[0].Schema == nil {
		t.Fatalf("no parameter schema in %+v", s.Operations)
	}
	return op.Params[0].Schema.Enum
}

func TestDiscoveryFollowsNoRedirect(t *testing.T) {
	far := elsewhere(t)
	var specServed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, far.URL+"/openapi.yaml", http.StatusFound)
	})
	target := serve(t, "127.0.0.1:0", mux)
	_, _, err := DiscoverSpec(context.Background(), target.URL)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("discovery through a redirect: %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), `redirects not followed: /openapi.json to "`+far.URL) {
		t.Errorf("the error does not say which redirect was refused: %v", err)
	}
	// A spec at a later path is still found.
	mux.HandleFunc("/swagger.json", func(w http.ResponseWriter, r *http.Request) {
		specServed.Store(true)
		fmt.Fprint(w, refSpec(`{$ref: '#/components/schemas/Kind'}`))
	})
	s, where, err := DiscoverSpec(context.Background(), target.URL)
	if err != nil || where != target.URL+"/swagger.json" || !specServed.Load() {
		t.Fatalf("discovery after a redirect: %v at %s", err, where)
	}
	if got := fmt.Sprint(enumOf(t, s)); got != "[cat dog]" {
		t.Errorf("enum %s, want the target's own [cat dog]", got)
	}
	if n := far.conns.Load(); n > 0 {
		t.Errorf("%d connection(s) to %s: the redirect was followed", n, far.URL)
	}
}

func TestDiscoveredSpecRefersOnlyToItself(t *testing.T) {
	secret, content := secretFile(t)
	far := elsewhere(t)
	var sameOriginReads atomic.Int64
	cases := []struct {
		name, schema string
		refused      bool
	}{
		{"file URL", `{$ref: 'file://` + secret + `#/Secret'}`, true},
		{"absolute path", `{$ref: '` + secret + `#/Secret'}`, true},
		{"another origin", `{$ref: '` + far.URL + `/openapi.yaml#/components/schemas/Kind'}`, true},
		{"same origin, another document", `{$ref: '/schemas.yaml#/Kind'}`, true},
		{"same document", `{$ref: '#/components/schemas/Kind'}`, false},
		{"same document by its own URL", `{$ref: '/openapi.json#/components/schemas/Kind'}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, refSpec(c.schema)) })
			mux.HandleFunc("/schemas.yaml", func(w http.ResponseWriter, r *http.Request) {
				sameOriginReads.Add(1)
				fmt.Fprint(w, "Kind: {type: string, enum: [SAME-ORIGIN]}\n")
			})
			target := serve(t, "127.0.0.1:0", mux)
			s, _, err := DiscoverSpec(context.Background(), target.URL)
			if !c.refused {
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(enumOf(t, s)); got != "[cat dog]" {
					t.Errorf("enum %s, want [cat dog]", got)
				}
				return
			}
			if !errors.Is(err, ErrRefRefused) {
				t.Fatalf("got %v (spec %v), want ErrRefRefused", err, s != nil)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "may refer only to places within itself") || !strings.Contains(msg, "fix: "+FixPassSpec) {
				t.Errorf("error %q: want one line saying why and the fix", msg)
			}
			if strings.Contains(msg, content) {
				t.Errorf("the host file's content reached the error: %q", msg)
			}
		})
	}
	if n := far.conns.Load(); n > 0 {
		t.Errorf("%d connection(s) to %s", n, far.URL)
	}
	if n := sameOriginReads.Load(); n > 0 {
		t.Errorf("%d read(s) of another document on the target", n)
	}
}

func TestSpecURLRefersToItsOriginOnly(t *testing.T) {
	secret, _ := secretFile(t)
	far := elsewhere(t)
	mux := http.NewServeMux()
	var root atomic.Value
	mux.HandleFunc("/api/openapi.yaml", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, refSpec(root.Load().(string))) })
	mux.HandleFunc("/api/schemas.yaml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Kind: {type: string, enum: [SAME-ORIGIN]}\n")
	})
	mux.HandleFunc("/moved.yaml", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, far.URL+"/openapi.yaml", http.StatusMovedPermanently)
	})
	srv := serve(t, "127.0.0.1:0", mux)
	source := srv.URL + "/api/openapi.yaml"

	root.Store(`{$ref: 'schemas.yaml#/Kind'}`)
	s, err := LoadSpec(context.Background(), source)
	if err != nil {
		t.Fatalf("same-origin ref: %v", err)
	}
	if got := fmt.Sprint(enumOf(t, s)); got != "[SAME-ORIGIN]" {
		t.Errorf("enum %s, want the same-origin document's", got)
	}
	root.Store(`{$ref: '/api/schemas.yaml#/Kind'}`)
	if s, err = LoadSpec(context.Background(), source); err != nil || fmt.Sprint(enumOf(t, s)) != "[SAME-ORIGIN]" {
		t.Errorf("a path-only $ref names a document on the same origin: %v", err)
	}
	for _, ref := range []string{"file://" + secret + "#/Secret", far.URL + "/openapi.yaml#/components/schemas/Kind"} {
		root.Store(`{$ref: '` + ref + `'}`)
		_, err := LoadSpec(context.Background(), source)
		if !errors.Is(err, ErrRefRefused) || !strings.Contains(err.Error(), "may refer only to documents on its own origin "+srv.URL) ||
			!strings.Contains(err.Error(), "fix: "+FixInlineRef) {
			t.Errorf("$ref %s: %v, want it refused", ref, err)
		}
	}
	_, err = LoadSpec(context.Background(), srv.URL+"/moved.yaml")
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "redirects are not followed") {
		t.Errorf("a spec URL that redirects: %v", err)
	}
	_, err = LoadSpec(context.Background(), far.URL+"/openapi.yaml")
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "only from loopback addresses") || !strings.Contains(err.Error(), "fix: "+FixDownload) {
		t.Errorf("a spec URL on another host: %v", err)
	}
	if n := far.conns.Load(); n > 0 && !strings.HasPrefix(far.URL, "http://127.") {
		t.Errorf("%d connection(s) to %s", n, far.URL)
	}
}

func TestSpecFileRefersToItsDirectoryTree(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "api")
	secret, content := secretFile(t)
	for name, data := range map[string]string{
		"api/schemas.yaml":        "Kind: {type: string, enum: [SIBLING]}\n",
		"api/common/schemas.yaml": "Kind: {type: string, enum: [BELOW]}\n",
		"outside.yaml":            "Kind: {type: string, enum: [OUTSIDE]}\n",
	} {
		p := filepath.Join(top, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(secret, filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	far := elsewhere(t)
	cases := []struct {
		name, ref, enum string
	}{
		{"sibling", "schemas.yaml#/Kind", "[SIBLING]"},
		{"below", "common/schemas.yaml#/Kind", "[BELOW]"},
		{"dot-dot back in", "common/../schemas.yaml#/Kind", "[SIBLING]"},
		{"parent directory", "../outside.yaml#/Kind", ""},
		{"absolute path", secret + "#/Secret", ""},
		{"file URL", "file://" + secret + "#/Secret", ""},
		{"symbolic link out", "link.yaml#/Secret", ""},
		{"http", far.URL + "/openapi.yaml#/components/schemas/Kind", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "openapi.yaml")
			if err := os.WriteFile(path, []byte(refSpec(`{$ref: '`+c.ref+`'}`)), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := LoadSpec(context.Background(), path)
			if c.enum != "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(enumOf(t, s)); got != c.enum {
					t.Errorf("enum %s, want %s", got, c.enum)
				}
				return
			}
			if !errors.Is(err, ErrRefRefused) {
				t.Fatalf("got %v, want ErrRefRefused", err)
			}
			msg := err.Error()
			if strings.Contains(msg, content) || strings.Contains(msg, "OUTSIDE") || strings.Contains(msg, "\n") {
				t.Errorf("error %q", msg)
			}
			if !strings.Contains(msg, dir) || !strings.Contains(msg, "fix: "+FixInlineRef) {
				t.Errorf("error %q does not name the directory and the fix", msg)
			}
			if !strings.HasPrefix(msg, "spec "+path+":") {
				t.Errorf("error %q does not start with the spec's location", msg)
			}
		})
	}
	if n := far.conns.Load(); n > 0 {
		t.Errorf("%d connection(s) to %s", n, far.URL)
	}
}
