package main

import (
	"bytes"
	"context"
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

func makeCorpus(t *testing.T, dir, specHash string, paths ...string) {
	t.Helper()
	st, err := corpus.Open(dir, corpus.Key{SpecHash: specHash, ImageID: "sha256:" + filepath.Base(dir)})
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
	makeCorpus(t, a, "sha256:s1", "/x/1", "/x/2")
	makeCorpus(t, b, "sha256:s1", "/x/2", "/x/3")
	makeCorpus(t, c, "sha256:s2", "/x/9")

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
	if info.Entries != 3 || info.Operations["GET /x"] != 3 || len(info.Warnings) != 1 || info.Meta.SpecHash != "sha256:s1" || len(info.Meta.Images) != 3 {
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
