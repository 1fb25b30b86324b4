package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/corpus"
)

// execCommand runs a command built by one of this package's constructors.
func execCommand(t *testing.T, cmd *cobra.Command, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return stdout.String(), stderr.String(), err
}

func makeCorpus(t *testing.T, dir, specHash, imageID string, paths ...string) {
	t.Helper()
	st, err := corpus.Open(dir, corpus.Key{SpecHash: specHash, ImageID: imageID})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range paths {
		e := corpus.Entry{
			Steps:    json.RawMessage(`[{"op":"GET /x"}]`),
			Requests: []corpus.Request{{Operation: "GET /x", Method: "GET", Path: p}},
		}
		if _, _, err := st.Put(e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCorpusMergeAndInfo(t *testing.T) {
	tmp := t.TempDir()
	a, b, c, out := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "c"), filepath.Join(tmp, "out")
	makeCorpus(t, a, "sha256:s1", "sha256:img1", "/x/1", "/x/2")
	makeCorpus(t, b, "sha256:s1", "sha256:img1", "/x/2", "/x/3")
	makeCorpus(t, c, "sha256:s2", "sha256:img2", "/x/9")

	stdout, _, err := execCommand(t, newCorpusCommand(), "merge", out, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "4 entries read, 3 added, 1 duplicates") {
		t.Errorf("merge output: %s", stdout)
	}

	_, _, err = execCommand(t, newCorpusCommand(), "merge", out, c)
	if !errors.Is(err, corpus.ErrSpecMismatch) || exitCode(err) != exitError || !strings.Contains(withFlags(err), "pass --force to merge anyway") {
		t.Fatalf("merge of another spec: %v", err)
	}
	if _, _, err := execCommand(t, newCorpusCommand(), "merge", "--force", out, c); err != nil {
		t.Fatal(err)
	}

	// A damaged entry shows as a warning, not an error.
	entries, _ := filepath.Glob(filepath.Join(out, "entries", "*.json"))
	if err := os.WriteFile(entries[0], []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = execCommand(t, newCorpusCommand(), "info", "--json", out)
	if err != nil {
		t.Fatal(err)
	}
	var info corpusInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Entries != 3 || info.Operations["GET /x"] != 3 || len(info.Warnings) != 1 || info.Meta.SpecHash != "sha256:s1" || len(info.Meta.Images) != 2 {
		t.Errorf("info %+v", info)
	}
	stdout, _, err = execCommand(t, newCorpusCommand(), "info", out)
	if err != nil || !strings.Contains(stdout, "entries:   3") || !strings.Contains(stdout, "warning:") {
		t.Errorf("info: %v\n%s", err, stdout)
	}
	if _, _, err := execCommand(t, newCorpusCommand(), "info", tmp); !errors.Is(err, corpus.ErrNotCorpus) {
		t.Errorf("info of a non-corpus: %v", err)
	}
}

// Corpora that cannot replay as one are refused with one line saying how
// they differ and what to do: other specs (by operations, from the specs
// they record), other images (the same name built in each job).
func TestCorpusMergeRefusesWhatCannotReplayAsOne(t *testing.T) {
	tmp := t.TempDir()
	specA := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses: {'200': {description: ok}}\n"
	specB := specA + "  /orders:\n    post:\n      responses: {'201': {description: ok}}\n"
	mk := func(name, spec, imageID, ref string) string {
		dir := filepath.Join(tmp, name)
		sum := sha256.Sum256([]byte(spec))
		st, err := corpus.Open(dir, corpus.Key{SpecHash: "sha256:" + hex.EncodeToString(sum[:]), ImageID: imageID}, corpus.WithImageRef(ref))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.PutSpec(corpus.SpecFiles{Source: "openapi.yaml", Root: "openapi.yaml", Files: map[string][]byte{"openapi.yaml": []byte(spec)}}); err != nil {
			t.Fatal(err)
		}
		e := corpus.Entry{Requests: []corpus.Request{{Operation: "GET /x", Method: "GET", Path: "/x/" + name}}}
		if _, _, err := st.Put(e); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a := mk("job-1", specA, "sha256:1111111111111111", "shop:ci")
	b := mk("job-2", specB, "sha256:1111111111111111", "shop:ci")
	c := mk("job-3", specA, "sha256:2222222222222222", "shop:ci")
	cases := []struct {
		name    string
		sources []string
		want    []string
	}{
		{"other spec", []string{a, b}, []string{"recorded for different specs", b + " against " + a + ": 1 operation(s) added (POST /orders)", "(pass --force to merge anyway)"}},
		{"other image", []string{a, c}, []string{a + " was made on shop:ci sha256:111111111111, " + c + " on shop:ci sha256:222222222222 (the same name built twice?)",
			"(build the image once and docker load that image in every job, or pass --force"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "merged")
			code, _, stderr := whittle(t, append([]string{"corpus", "merge", out}, tc.sources...)...)
			line := errorLine(t, stderr)
			if code != exitError || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "entries")); err == nil {
				t.Error("a refused merge wrote its output")
			}
		})
	}
}
