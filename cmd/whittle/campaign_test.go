package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/mattn/go-shellwords"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/verify"
)

// readmeCampaign is the sharded campaign of the README's CI section: the
// whittle commands of its jobs, in order, as a shell would split them.
type readmeCampaign struct {
	fuzz, merge, build, replay []string
}

// campaignFromREADME reads the YAML block of the README that runs a
// campaign in shards and returns its whittle commands, with this machine's
// image, spec, binary and a short budget in place of the example's, and
// two shards instead of four.
func campaignFromREADME(t *testing.T, bin, image, specPath, tag string) readmeCampaign {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, b := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		if strings.Contains(b[1], "--shard") {
			block = b[1]
		}
	}
	if block == "" {
		t.Fatal("the README shows no sharded campaign (a yaml block with --shard)")
	}
	var scripts []string
	lines := strings.Split(block, "\n")
	runRe := regexp.MustCompile(`^(\s*)- run: (.*)$`)
	for i := 0; i < len(lines); i++ {
		m := runRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if m[2] != "|" {
			scripts = append(scripts, m[2])
			continue
		}
		var body []string
		for i+1 < len(lines) && len(lines[i+1])-len(strings.TrimLeft(lines[i+1], " ")) > len(m[1])+2 {
			i++
			body = append(body, strings.TrimSpace(lines[i]))
		}
		scripts = append(scripts, strings.Join(body, "\n"))
	}
	var c readmeCampaign
	replacer := strings.NewReplacer(
		"sudo ./whittle", bin, "./whittle", bin,
		"${{ matrix.shard }}/4", "SHARD/2",
		"shop:ci-whittled", tag, "shop:ci", image,
		"api/openapi.yaml", specPath,
		"corpus-*", "corpus-1 corpus-2",
	)
	for _, s := range scripts {
		s = strings.ReplaceAll(s, "\\\n", " ")
		if !strings.Contains(s, "whittle") {
			continue // docker build, save, load
		}
		words, err := shellwords.Parse(replacer.Replace(s))
		if err != nil {
			t.Fatalf("README command %q: %v", s, err)
		}
		switch {
		case slices.Contains(words, "--shard"):
			if i := slices.Index(words, "--duration"); i >= 0 {
				words[i+1] = "20s"
			}
			c.fuzz = words
		case len(words) > 2 && words[1] == "corpus" && words[2] == "merge":
			c.merge = words
		case words[1] == "build":
			// The fixture's IMAGE-whittled tag is shared with other tests.
			c.build = append(words, "--tag", tag)
		case words[1] == "replay":
			c.replay = words
		}
	}
	if c.fuzz == nil || c.merge == nil || c.build == nil || c.replay == nil {
		t.Fatalf("the README's campaign lacks a step: %q", c)
	}
	return c
}

// TestShardedCampaignEndToEnd runs the README's CI campaign on gopets (its
// pets exist only once a POST created them): two shards as separate
// processes side by side, the merge, one build from the merged corpus and
// the replay of the merge against that minimal image with no --spec. Each
// shard fuzzes its own operations and reaches them through the producers
// they need; the merge replays like for like against the original, with
// no false difference (compared with the answers stored while fuzzing, the
// same replay differs).
func TestShardedCampaignEndToEnd(t *testing.T) {
	const image = "whittle-fixture/gopets:latest"
	cli := requireFixture(t, image)
	bin := buildWhittle(t)
	specPath, _ := filepath.Abs("../../testdata/targets/gopets/openapi.yaml")
	tag := testTag(t, cli, "campaign")
	c := campaignFromREADME(t, bin, image, specPath, tag)
	sp, err := spec.LoadSpec(context.Background(), specPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var pidsMu sync.Mutex
	var pids []int
	runStep := func(words []string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, words[0], words[1:]...)
		cmd.Dir = dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Start()
		if err == nil {
			pidsMu.Lock()
			pids = append(pids, cmd.Process.Pid)
			pidsMu.Unlock()
			err = cmd.Wait()
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", strings.Join(words, " "), err)
		}
		t.Logf("$ %s\nexit %d\n%s", strings.Join(words[1:], " "), code, stdout.String())
		return stdout.String(), stderr.String(), code
	}

	// The matrix: both shards at once, as separate jobs would.
	var wg sync.WaitGroup
	type result struct {
		stdout, stderr string
		code           int
	}
	shards := make([]result, 2)
	for i := range shards {
		words := slices.Clone(c.fuzz)
		for j, w := range words {
			words[j] = strings.ReplaceAll(w, "SHARD", fmt.Sprint(i+1))
			if w == "corpus" && words[j-1] == "--corpus" {
				words[j] = fmt.Sprintf("corpus-%d", i+1)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &shards[i]
			r.stdout, r.stderr, r.code = runStep(words)
		}()
	}
	wg.Wait()
	own := map[string]int{}
	for i, r := range shards {
		if r.code != exitOK {
			t.Fatalf("shard %d/2: exit %d\n%s%s", i+1, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, fmt.Sprintf("shard:     %d/2 of the campaign with seed 1", i+1)) || strings.Contains(r.stdout, "minimal:") {
			t.Errorf("shard %d/2 output:\n%s", i+1, r.stdout)
		}
		st, err := corpus.Load(filepath.Join(dir, fmt.Sprintf("corpus-%d", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		m := st.Meta()
		if m.Shard == nil || *m.Shard != (corpus.Shard{Index: i + 1, Count: 2, CampaignSeed: 1}) || m.ImageRef != image || m.Spec == nil {
			t.Errorf("shard %d/2's corpus: %+v", i+1, m)
		}
		reached := map[string]bool{}
		for _, e := range st.Entries() {
			for k, req := range e.Requests {
				if k < len(e.Responses) && e.Responses[k].Status/100 == 2 {
					reached[req.Operation] = true
				}
			}
		}
		plan := pipeline.PlanShard(sp, pipeline.Shard{Index: i + 1, Count: 2}, true)
		if !strings.Contains(r.stderr, fmt.Sprintf("fuzzing %d of 10 operations", len(plan.Own))) {
			t.Errorf("shard %d/2 does not say it fuzzes its %d operations:\n%s", i+1, len(plan.Own), r.stderr)
		}
		for _, op := range plan.Own {
			own[op]++
		}
		for _, e := range st.Entries() {
			for _, req := range e.Requests {
				if !slices.Contains(plan.Own, req.Operation) && !slices.Contains(plan.Support, req.Operation) {
					t.Errorf("shard %d/2 sent %s, neither its own (%v) nor one they need (%v)", i+1, req.Operation, plan.Own, plan.Support)
				}
			}
		}
		// An operation on a pet by id answers 2xx only after a POST made
		// one: where POST /pets is not the shard's own, it was sent as
		// the producer its operations need.
		if slices.Contains(plan.Support, "POST /pets") {
			got := false
			for _, op := range plan.Own {
				got = got || strings.Contains(op, "{petId}") && reached[op]
			}
			if !got {
				t.Errorf("shard %d/2 owns %v, POST /pets only as support, and none of its operations on a pet got a 2xx: %v", i+1, plan.Own, reached)
			}
		}
	}
	if len(own) != 10 {
		t.Errorf("the shards' own operations cover %d of gopets' 10: %v", len(own), own)
	}
	for op, n := range own {
		if n != 1 {
			t.Errorf("%s is fuzzed by %d shards", op, n)
		}
	}

	stdout, stderr, code := runStep(c.merge)
	if code != exitOK || !strings.Contains(stdout, "(shards 1/2, 2/2)") || strings.Contains(stderr, "warning") {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = runStep(c.build)
	rep := readReport(t, filepath.Join(dir, "whittle.json"))
	// gopets' planted crashes and server errors are the campaign's
	// findings: --fail-on high judges them (exit 2), after the build.
	high := findingsAtOrAbove(rep, "high")
	if want := map[bool]int{true: exitFindings, false: exitOK}[high > 0 && slices.Contains(c.build, "--fail-on")]; code != want {
		t.Fatalf("build: exit %d, want %d (%d findings of severity high or more)\n%s%s", code, want, high, stdout, stderr)
	}
	if v := rep.Verification; v == nil || v.Result != "identical" || v.Total == 0 || rep.Fuzz.Strategy != "corpus" || rep.Minimal == nil || rep.Minimal.Ref != tag {
		t.Fatalf("build report: verification %+v, strategy %q, minimal %+v", rep.Verification, rep.Fuzz.Strategy, rep.Minimal)
	}
	if !strings.Contains(stderr, "spec recorded in the corpus") {
		t.Errorf("the build did not use the corpus's spec:\n%s", stderr)
	}

	stdout, stderr, code = runStep(c.replay)
	if slices.Contains(c.replay, "--spec") {
		t.Fatal("the README's replay passes --spec: the corpus records it")
	}
	if code != exitOK || !strings.Contains(stdout, "reference: the original "+image) || !strings.Contains(stdout, " 0 differ") {
		t.Fatalf("replay of the merge: exit %d\n%s%s", code, stdout, stderr)
	}
	var replay verify.Report
	var data []byte
	data, err = os.ReadFile(filepath.Join(dir, "replay.json"))
	if err == nil {
		err = json.Unmarshal(data, &replay)
	}
	if err != nil || replay.Against != "original" || replay.Differences() != 0 || replay.Summary.Requests == 0 || replay.Summary.Identical != replay.Summary.Requests {
		t.Fatalf("replay report %+v: %v", replay.Summary, err)
	}

	// The answers stored while fuzzing came from targets holding other
	// state: compared with them, the same image "differs".
	stored := append(slices.Clone(c.replay[:4]), "--reference", "stored")
	stdout, _, code = runStep(stored)
	if code != exitDiverged {
		t.Errorf("against the stored answers: exit %d, want %d (ids created while fuzzing are not a fresh target's)\n%s", code, exitDiverged, stdout)
	}

	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", probe.LabelRun))})
	if err != nil {
		t.Fatal(err)
	}
	for _, ctr := range list {
		for _, pid := range pids {
			if strings.HasPrefix(ctr.Labels[probe.LabelOwner], fmt.Sprintf("%d.", pid)) {
				t.Errorf("container %s (%s) left behind", ctr.ID[:12], ctr.Image)
			}
		}
	}
}

func findingsAtOrAbove(rep *report.Report, severity string) int {
	rank := map[string]int{"low": 0, "medium": 1, "high": 2, "critical": 3}
	n := 0
	for _, f := range rep.Fuzz.Findings {
		if rank[f.Severity] >= rank[severity] {
			n++
		}
	}
	return n
}
