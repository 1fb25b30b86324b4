package pipeline

import (
	"context"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/report"
)

// The nego fixture chooses files by request headers: a template per media
// type (Accept), a message catalog per language (Accept-Language), a
// precompressed asset per coding (Accept-Encoding). Its spec declares the
// media types only.

const (
	negoImage   = "whittle-fixture/nego:latest"
	negoSpec    = "../testdata/targets/nego/openapi.yaml"
	negoLocales = "/usr/share/nego/locales"
)

// negoRequest is one GET with negotiation headers.
type negoRequest struct {
	path   string
	header map[string]string
}

func (r negoRequest) String() string {
	var hs []string
	for k, v := range r.header {
		hs = append(hs, k+": "+v)
	}
	slices.Sort(hs)
	return r.path + " [" + strings.Join(hs, "; ") + "]"
}

// negoAnswer is what the comparison looks at: status, body and the
// negotiated headers.
type negoAnswer struct {
	status                          int
	contentType, encoding, language string
	body                            string
}

// askAll starts one container of ref and sends it every request.
func askAll(t *testing.T, ref string, reqs []negoRequest) []negoAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tgt := startedTarget(t, ctx, ref)
	defer tgt.Remove(context.Background())
	// The client must not ask for or undo compression itself.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	out := make([]negoAnswer, len(reqs))
	for i, r := range reqs {
		hr, err := http.NewRequestWithContext(ctx, http.MethodGet, tgt.BaseURL+r.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.header {
			hr.Header.Set(k, v)
		}
		resp, err := client.Do(hr)
		if err != nil {
			t.Fatalf("%s on %s: %v", r, ref, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s on %s: %v", r, ref, err)
		}
		out[i] = negoAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Language"), string(b)}
	}
	return out
}

// negoVariants are the requests a minimal image of nego must answer like
// the original: every media type the spec declares for each read, each
// coding for each asset, and the given languages.
func negoVariants(t *testing.T, languages []string) []negoRequest {
	t.Helper()
	s, err := spec.LoadSpec(context.Background(), negoSpec)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []negoRequest
	for _, op := range s.Operations {
		p := strings.ReplaceAll(op.Path, "{id}", "1")
		if op.Method != http.MethodGet || strings.Contains(p, "{") {
			continue
		}
		for _, ct := range op.ResponseMedia {
			reqs = append(reqs, negoRequest{p, map[string]string{"Accept": ct}})
		}
		for _, lang := range languages {
			reqs = append(reqs, negoRequest{p, map[string]string{"Accept-Language": lang, "Accept": op.ResponseMedia[len(op.ResponseMedia)-1]}})
		}
	}
	for _, asset := range []string{"app.js", "style.css"} {
		for _, coding := range []string{"br", "zstd", "gzip", "identity", "gzip;q=0.5, br;q=0.4"} {
			reqs = append(reqs, negoRequest{"/assets/" + asset, map[string]string{"Accept-Encoding": coding}})
		}
	}
	return reqs
}

// untracedCatalogs are the languages whose catalog the minimal image keeps
// although the run never opened it: kept because the directory is
// input-selected.
func untracedCatalogs(rep *report.Report) []string {
	var out []string
	for p, f := range keptPaths(rep) {
		if path.Dir(p) == negoLocales && strings.HasSuffix(p, ".json") && !slices.ContainsFunc(f.Reasons, func(r string) bool { return strings.HasPrefix(r, "traced:") }) {
			out = append(out, strings.ReplaceAll(strings.TrimSuffix(path.Base(p), ".json"), "_", "-"))
		}
	}
	slices.Sort(out)
	return out
}

func assertSelected(t *testing.T, rep *report.Report, dir, param string) {
	t.Helper()
	for _, s := range rep.Fuzz.SelectedDirs {
		if s.Dir == dir && s.Parameter == param {
			return
		}
	}
	t.Errorf("%s not reported as selected by %s (selected: %+v)", dir, param, rep.Fuzz.SelectedDirs)
}

func TestNegoEndToEnd(t *testing.T) {
	requireFixture(t, negoImage)
	const tag = "whittle-test/nego:fuzz"
	t.Cleanup(func() { removeImage(tag) })
	rep := runPipeline(t, Config{Image: negoImage, Spec: negoSpec, Seed: 1, Duration: 20 * time.Second, Tag: tag})
	assertVerified(t, rep, 20)
	assertEveryOperationSucceeded(t, rep)
	assertSelected(t, rep, "/usr/share/nego/templates", "header.Accept")
	assertSelected(t, rep, negoLocales, "header.Accept-Language")
	assertSelected(t, rep, "/usr/share/nego/static", "header.Accept-Encoding")
	for _, f := range rep.Fuzz.Findings {
		// The fuzzer asks for undeclared media types; nego refuses them.
		if strings.HasPrefix(f.Response, "406") {
			t.Errorf("a 406 to an undeclared Accept became a finding: %+v", f)
		}
	}

	unsent := untracedCatalogs(rep)
	if len(unsent) == 0 {
		t.Fatalf("every catalog was opened during the run or none was kept: no never-sent language to check")
	}
	t.Logf("catalogs kept without being opened during the run: %v", unsent)
	reqs := negoVariants(t, append([]string{"fr-CH, fr;q=0.9, en;q=0.8", "pt-BR", unsent[0], "*"}, unsent[1:]...))
	want := askAll(t, negoImage, reqs)
	got := askAll(t, tag, reqs)
	for i, r := range reqs {
		if want[i].status != http.StatusOK {
			t.Errorf("%s: the original answered %d %q", r, want[i].status, want[i].body)
			continue
		}
		if got[i] != want[i] {
			t.Errorf("%s: minimal image answered %+v, original %+v", r, got[i], want[i])
		}
	}
	t.Logf("%d negotiated variants answered identically by %s", len(reqs), tag)
}

// TestNegoOnceLosesVariants shows the fixture reproduces the class: sending
// each operation once (no negotiation) keeps only the default variants,
// and the minimal image then fails where the original answers.
func TestNegoOnceLosesVariants(t *testing.T) {
	requireFixture(t, negoImage)
	const tag = "whittle-test/nego:once"
	t.Cleanup(func() { removeImage(tag) })
	rep := runPipeline(t, Config{Image: negoImage, Spec: negoSpec, Seed: 1, Once: true, Tag: tag})
	assertVerified(t, rep, 20)
	if len(rep.Fuzz.SelectedDirs) != 0 {
		t.Errorf("each operation once selected directories: %+v", rep.Fuzz.SelectedDirs)
	}
	reqs := negoVariants(t, []string{"de", "pt-BR"})
	want := askAll(t, negoImage, reqs)
	got := askAll(t, tag, reqs)
	failed, differ := 0, 0
	for i, r := range reqs {
		if want[i].status != http.StatusOK {
			t.Fatalf("%s: the original answered %d %q", r, want[i].status, want[i].body)
		}
		if got[i].status == http.StatusInternalServerError {
			failed++
		}
		if got[i] != want[i] {
			differ++
			t.Logf("%s: once image %d %s, original %d %s", r, got[i].status, firstLine(got[i].body), want[i].status, want[i].contentType)
		}
	}
	if failed == 0 || differ == 0 {
		t.Errorf("the each-operation-once image answered every variant like the original (%d of %d differ, %d with 500): the fixture shows nothing", differ, len(reqs), failed)
	}
}
