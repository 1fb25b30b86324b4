package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/internal/testimage"
)

// discoveryServer is a target whose spec discovery is hostile: the first
// discovery path redirects elsewhere (REDIRECT), the second serves a spec
// whose parameter schema is a $ref to a host file (SPEC_REF); with SPEC_REF
// empty the spec refers only within itself.
const discoveryServer = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, os.Getenv("REDIRECT"), http.StatusFound)
	})
	http.HandleFunc("/swagger.json", func(w http.ResponseWriter, r *http.Request) {
		ref := os.Getenv("SPEC_REF")
		if ref == "" {
			ref = "#/components/schemas/Kind"
		}
		fmt.Fprintf(w, ` + "`" + `{"openapi": "3.0.3", "info": {"title": "discovered", "version": "1"},
  "paths": {"/pets": {"get": {
    "parameters": [{"name": "kind", "in": "query", "schema": {"$ref": %q}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}}},
  "components": {"schemas": {"Kind": {"type": "string", "enum": ["cat", "dog"]}}}}` + "`" + `, ref)
	})
	http.HandleFunc("/pets", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"kind\": %q}\n", r.URL.Query().Get("kind"))
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	http.ListenAndServe(":8080", nil)
}
`

// elsewhereListener counts connections on an address of this machine that
// is not loopback (or another loopback port when there is none): reaching
// it means a redirect was followed off 127.0.0.1.
func elsewhereListener(t *testing.T) *countingListener {
	t.Helper()
	if h := hostAddress(); h != "" {
		return listen(t, net.JoinHostPort(h, "0"))
	}
	t.Log("no non-loopback address on this machine: the redirect points at another loopback port")
	return listen(t, "127.0.0.1:0")
}

// treeContains reports the files under dir whose content holds s.
func treeContains(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), s) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	return hits
}

// Without --spec, whittle discovers the spec on the target, which is
// hostile input: a redirect must not take it off 127.0.0.1, and a $ref must
// not make it (root) read a host file and send its content to the target.
func TestDiscoveryStaysContained(t *testing.T) {
	cli := testimage.RequireDocker(t)
	far := elsewhereListener(t)
	const secret = "HOST-SECRET-9b2e"
	secretPath := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(secretPath, []byte(`{"Secret": {"type": "string", "enum": ["`+secret+`"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	redirect := "ENV REDIRECT=http://" + far.ln.Addr().String() + "/openapi.json"

	t.Run("file ref refused", func(t *testing.T) {
		img := testimage.GoProgram(t, cli, "whittle-test/discovery-fileref:1", discoveryServer, nil,
			`ENTRYPOINT ["/app"]`, `EXPOSE 8080`, redirect, "ENV SPEC_REF=file://"+secretPath+"#/Secret")
		out := t.TempDir()
		code, stdout, stderr := whittle(t, "run", img, "--auto", "--seed", "1", "--duration", "3s", "--request-timeout", "2s",
			"--tag", testTag(t, cli, "discovery-fileref"), "--corpus", filepath.Join(out, "corpus"), "-o", "json="+filepath.Join(out, "report.json"))
		assertNoOwnContainers(t, cli)
		if code != exitError {
			t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
		}
		line := errorLine(t, stderr)
		t.Logf("error line: %s", line)
		for _, want := range []string{"no spec given and the target's own cannot be used", `/swagger.json:`, `$ref "file://` + secretPath + `" refused`,
			"may refer only to places within itself", "(fix: pass --spec FILE|URL)"} {
			if !strings.Contains(line, want) {
				t.Errorf("error line lacks %q", want)
			}
		}
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("the host file's content reached whittle's output")
		}
		if hits := treeContains(t, out, secret); len(hits) > 0 {
			t.Errorf("the host file's content reached %v", hits)
		}
		if n := far.conns.Load(); n > 0 {
			t.Errorf("%d connection(s) to %s: discovery followed the redirect off loopback", n, far.ln.Addr())
		}
	})

	t.Run("spec behind a redirect", func(t *testing.T) {
		img := testimage.GoProgram(t, cli, "whittle-test/discovery-redirect:1", discoveryServer, nil,
			`ENTRYPOINT ["/app"]`, `EXPOSE 8080`, redirect)
		reportPath := filepath.Join(t.TempDir(), "report.json")
		code, _, stderr := whittle(t, "run", img, "--auto", "--seed", "1", "--duration", "3s", "--request-timeout", "2s",
			"--tag", testTag(t, cli, "discovery-redirect"), "-o", "json="+reportPath)
		assertNoOwnContainers(t, cli)
		if code != exitOK {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		rep := readReport(t, reportPath)
		if !strings.HasSuffix(rep.Spec.Source, "/swagger.json") || rep.Spec.Title != "discovered" {
			t.Errorf("spec %s (%q): want the target's own /swagger.json", rep.Spec.Source, rep.Spec.Title)
		}
		if op := operation(t, rep, "GET /pets"); op.Status2xx == 0 {
			t.Errorf("GET /pets never answered 2xx: %+v", op)
		}
		if n := far.conns.Load(); n > 0 {
			t.Errorf("%d connection(s) to %s: discovery followed the redirect off loopback", n, far.ln.Addr())
		}
	})
}
