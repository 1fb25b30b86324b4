package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// crashCorpus: entry e1's second request (a DELETE, say) kills the
// service. Whether the process is gone before its answer is out is timing:
// one replay sees the crash at that request, another at the next one.
func crashCorpus() []corpus.Entry {
	dead := corpus.Response{Err: "connection reset by peer"}
	return []corpus.Entry{
		storedEntry("e0", []string{"/e0"}, jsonResp(200, `{"n":0}`)),
		storedEntry("e1", []string{"/e1a", "/e1b", "/e1c"}, jsonResp(200, `{}`), jsonResp(204, ``), dead),
		storedEntry("e2", []string{"/e2"}, jsonResp(200, `{"n":2}`)),
		storedEntry("e3", []string{"/e3"}, jsonResp(200, `{"n":3}`)),
	}
}

// crashScript answers like the stored corpus except that e3 answers
// e3body, and the request to /e1b kills the process with the given fate.
func crashScript(e1b fate, e3body string) func(string) (corpus.Response, fate) {
	return func(path string) (corpus.Response, fate) {
		switch path {
		case "/e0":
			return jsonResp(200, `{"n":0}`), answer
		case "/e1a":
			return jsonResp(200, `{}`), answer
		case "/e1b":
			return jsonResp(204, ``), e1b
		case "/e1c":
			return jsonResp(200, `{}`), answer
		case "/e2":
			return jsonResp(200, `{"n":2}`), answer
		case "/e3":
			return jsonResp(200, e3body), answer
		}
		return jsonResp(404, `{}`), answer
	}
}

func runCheck(t *testing.T, svc *service, sp *spec.Spec, baseline *Report, e3body string, timings ...fate) *Report {
	t.Helper()
	c := &Check{
		Entries:  crashCorpus(),
		Start:    svc.start,
		Spec:     func(context.Context, string) (*spec.Spec, error) { return sp, nil },
		Runs:     len(timings),
		Baseline: baseline,
		Options:  []Option{fast()},
	}
	c.OnRun = func(run, _ int, _ string, _ bool) { svc.setScript(crashScript(timings[run-1], e3body)) }
	rep, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := svc.leftover(); n != 0 {
		t.Errorf("%d fake containers were never removed", n)
	}
	return rep
}

// roundTrip is rep as --baseline reads it back from its -o file.
func roundTrip(t *testing.T, rep *Report) *Report {
	t.Helper()
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

func answersOf(rep *Report) string {
	var out []string
	for _, a := range rep.Answers {
		out = append(out, fmt.Sprintf("%s/%d:%s", a.EntryID, a.Step, a.Match))
	}
	return strings.Join(out, " ")
}

// Two replays of one image that noticed the same crash one request apart
// no longer shift every later answer: a real difference after the crash
// (e3 answers {"n":33}, the corpus holds {"n":3}) is still found. The
// position-based comparison `whittle replay` had marked everything after
// the crash volatile and called e3 identical.
func TestCheckCrashNoticedAtAnotherRequest(t *testing.T) {
	sp := testSpec(t, "/e0", "/e1a", "/e1b", "/e1c", "/e2", "/e3")
	svc := &service{}
	rep := runCheck(t, svc, sp, nil, `{"n":33}`, dieAfter, dieBefore)
	t.Logf("answers: %s", answersOf(rep))
	var e3 *Answer
	for i := range rep.Answers {
		if rep.Answers[i].EntryID == "e3" {
			e3 = &rep.Answers[i]
		}
	}
	if e3 == nil || e3.Match != Differs || !strings.Contains(e3.Reason, "/n") {
		t.Fatalf("e3: %+v, want it to differ at /n", e3)
	}
	if e3.Volatile.Status || e3.Volatile.Body || len(e3.Volatile.Paths) > 0 {
		t.Errorf("e3 learnt volatile %+v although both replays answered it alike", e3.Volatile)
	}
	if rep.Summary.Differ != 1 || rep.Differences() != 1 || rep.Summary.Crashes != 1 || rep.Summary.Requests != 6 {
		t.Errorf("summary %+v", rep.Summary)
	}
}

// Against a baseline (a previous replay's report) the crash timing is
// tolerated as the pipeline's verification tolerates it: the same crash
// noticed at e1's second request instead of its third is no difference.
func TestCheckAgainstBaselineToleratesCrashTiming(t *testing.T) {
	sp := testSpec(t, "/e0", "/e1a", "/e1b", "/e1c", "/e2", "/e3")
	svc := &service{}
	base := roundTrip(t, runCheck(t, svc, sp, nil, `{"n":3}`, dieAfter)) // crash seen at e1's third request
	rep := runCheck(t, svc, sp, base, `{"n":3}`, dieBefore)              // at its second
	t.Logf("answers: %s", answersOf(rep))
	if rep.Differences() != 0 || rep.Summary.Identical != len(rep.Answers) {
		t.Fatalf("against its own baseline: %s (%+v)", answersOf(rep), rep.Summary)
	}

	// A crash the baseline did not have is a difference, and so is what
	// the replay therefore never sent.
	svc.setScript(nil)
	c := &Check{Entries: crashCorpus(), Start: svc.start, Runs: 1, Baseline: base, Options: []Option{fast()},
		Spec: func(context.Context, string) (*spec.Spec, error) { return sp, nil }}
	c.OnRun = func(int, int, string, bool) {
		svc.setScript(func(path string) (corpus.Response, fate) {
			if path == "/e0" {
				return corpus.Response{}, dieBefore
			}
			return crashScript(dieAfter, `{"n":3}`)(path)
		})
	}
	rep, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answers: %s", answersOf(rep))
	if rep.Differences() == 0 || rep.Answers[0].Match != Differs {
		t.Fatalf("a new crash at e0 went unnoticed: %s", answersOf(rep))
	}
}

// Stored answers carry no crash: where the replay's target died is not
// held against it, only what it answered.
func TestCheckAgainstStoredAnswers(t *testing.T) {
	sp := testSpec(t, "/e0", "/e1a", "/e1b", "/e1c", "/e2", "/e3")
	svc := &service{}
	c := &Check{Entries: crashCorpus(), Start: svc.start, Runs: 1, Options: []Option{fast()},
		Spec: func(context.Context, string) (*spec.Spec, error) { return sp, nil }}
	c.OnRun = func(int, int, string, bool) { svc.setScript(crashScript(dieAfter, `{"n":3}`)) }
	rep, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answers: %s", answersOf(rep))
	if rep.Differences() != 0 || rep.Summary.Identical != 6 || rep.Summary.Crashes != 1 {
		t.Fatalf("%s (%+v)", answersOf(rep), rep.Summary)
	}
}

// Answers stored while fuzzing come from a target that held other state
// (e0 counted 57 things then; a fresh container counts 1). Compared with
// them, a minimal image that answers exactly as its original does now
// differs; compared with the original replayed now (Reference), like for
// like, it does not, and what the original's own replays disagree on (a
// timestamp) is ignored. A real difference is still found.
func TestCheckAgainstTheOriginal(t *testing.T) {
	sp := testSpec(t, "/e0", "/e1a", "/e1b", "/e1c", "/e2", "/e3")
	entries := []corpus.Entry{
		storedEntry("e0", []string{"/e0"}, jsonResp(200, `{"count":57}`)),
		storedEntry("e3", []string{"/e3"}, jsonResp(200, `{"n":3,"at":"then"}`)),
	}
	now := 0
	fresh := func(e3 string) func(string) (corpus.Response, fate) {
		return func(path string) (corpus.Response, fate) {
			switch path {
			case "/e0":
				return jsonResp(200, `{"count":1}`), answer
			case "/e3":
				now++
				return jsonResp(200, fmt.Sprintf(e3, now)), answer
			}
			return jsonResp(404, `{}`), answer
		}
	}
	check := func(minimal string) *Report {
		t.Helper()
		original, min := &service{}, &service{}
		original.setScript(fresh(`{"n":3,"at":"t%d"}`))
		min.setScript(fresh(minimal))
		var order []string
		c := &Check{Entries: entries, Start: min.start, Reference: original.start, Runs: 2, Options: []Option{fast()},
			Spec:  func(context.Context, string) (*spec.Spec, error) { return sp, nil },
			OnRun: func(run, _ int, _ string, ref bool) { order = append(order, fmt.Sprintf("%d:%v", run, ref)) }}
		rep, err := c.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(order, " "); got != "1:true 2:true 1:false 2:false" {
			t.Errorf("replays %s: the original twice, then the image twice", got)
		}
		if original.leftover() != 0 || min.leftover() != 0 || len(original.started) != 2 {
			t.Errorf("original: %d started, %d left; minimal: %d left", len(original.started), original.leftover(), min.leftover())
		}
		return rep
	}
	rep := check(`{"n":3,"at":"t%d"}`)
	t.Logf("answers: %s", answersOf(rep))
	if rep.Differences() != 0 || rep.Summary.Identical != 2 {
		t.Fatalf("like for like: %s (%+v)", answersOf(rep), rep.Summary)
	}
	rep = check(`{"n":33,"at":"t%d"}`)
	if rep.Differences() != 1 || rep.Answers[1].Match != Differs || !strings.Contains(rep.Answers[1].Reason, "/n") {
		t.Fatalf("a real difference: %s (%+v)", answersOf(rep), rep.Answers)
	}

	// Compared with the stored answers, the same image differs at e0.
	min := &service{}
	min.setScript(fresh(`{"n":3,"at":"t%d"}`))
	c := &Check{Entries: entries, Start: min.start, Runs: 2, Options: []Option{fast()},
		Spec: func(context.Context, string) (*spec.Spec, error) { return sp, nil }}
	rep, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answers[0].Match != Differs {
		t.Errorf("the stored answer of a target holding more state: %s", answersOf(rep))
	}
}
