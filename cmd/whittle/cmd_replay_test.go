package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/testimage"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/verify"
)

// TestReplayCommand fuzzes gopets into a corpus, then replays the corpus
// against the same image: once to record a baseline, once compared with
// it, which must match; containers are removed.
func TestReplayCommand(t *testing.T) {
	cli := testimage.RequireDocker(t)
	ctx := context.Background()
	eng, err := probe.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	img, err := eng.Inspect(ctx, "whittle-fixture/gopets:latest")
	if err != nil {
		t.Skipf("SKIPPED: %v (scripts/fixtures.sh builds it)", err)
	}
	specPath := "../../testdata/targets/gopets/openapi.yaml"
	sp, err := spec.LoadSpec(ctx, specPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "corpus")
	st, err := corpus.Open(dir, corpus.Key{SpecHash: sp.Hash, ImageID: img.ID})
	if err != nil {
		t.Fatal(err)
	}
	f := &replayFlags{readyPath: "/health", readyTimeout: time.Minute, requestTimeout: 10 * time.Second, runs: 2}
	target := verify.NewTarget(verify.Container(eng, img, f.probeOptions("replay-test", probe.RunConfig{})...))
	if err := target.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := fuzz.New(sp, target, fuzz.WithSeed(1), fuzz.WithMaxRequests(400), fuzz.WithTarget(target), fuzz.WithStore(st)).Run(ctx)
	target.Close(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("corpus: %d entries", len(res.Corpus))

	out := filepath.Join(t.TempDir(), "base.json")
	var stdout, stderr strings.Builder
	f.spec, f.outputs = specPath, []string{"json=" + out}
	err = runReplay(ctx, &stdout, &stderr, dir, "whittle-fixture/gopets:latest", f)
	t.Logf("against the original the corpus records: %v\n%s%s", err, stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("the image the corpus was recorded on, compared with itself replayed now: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep verify.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Requests == 0 || rep.Summary.Identical != rep.Summary.Requests || rep.ImageID != img.ID || rep.SpecHash != sp.Hash ||
		rep.Against != "original" || rep.ReferenceID != img.ID {
		t.Fatalf("report %+v against %q %s", rep.Summary, rep.Against, rep.ReferenceID)
	}

	// Compared with the answers stored while fuzzing (a target holding
	// more state), differences are expected: that is exit status 3.
	stdout.Reset()
	stderr.Reset()
	f.reference, f.outputs = referenceStored, nil
	err = runReplay(ctx, &stdout, &stderr, dir, "whittle-fixture/gopets:latest", f)
	t.Logf("against the stored answers: %v\n%s", err, stdout.String())
	if err != nil && (!errors.Is(err, pipeline.ErrDiverged) || exitCode(err) != exitDiverged) {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "reference: the answers stored in the corpus while fuzzing") {
		t.Errorf("output:\n%s", stdout.String())
	}
	f.reference = ""
	volatile := 0
	for _, a := range rep.Answers {
		if len(a.Volatile.Paths) > 0 {
			volatile++
		}
	}
	if volatile == 0 {
		t.Error("two runs learnt nothing volatile (createdAt changes with every run)")
	}

	stdout.Reset()
	stderr.Reset()
	f.baseline, f.outputs, f.runs = out, nil, 1
	if err := runReplay(ctx, &stdout, &stderr, dir, "whittle-fixture/gopets:latest", f); err != nil {
		t.Fatalf("against its own baseline: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), " 0 differ") {
		t.Errorf("output:\n%s", stdout.String())
	}
	assertNoOwnContainers(t, cli)

	// The spec must be the corpus's.
	f.spec = "testdata/broken.yaml"
	if err := runReplay(ctx, &stdout, &stderr, dir, "whittle-fixture/gopets:latest", f); err == nil {
		t.Error("replay with a broken spec succeeded")
	}
	assertNoOwnContainers(t, cli)
}
