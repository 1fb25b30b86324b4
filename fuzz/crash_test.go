package fuzz

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
)

func TestCrashesAreFoundMinimisedAndSurvived(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) { testCrashesFound(t, workers) })
	}
}

// testCrashesFound: with several workers a request without an answer waits
// for the crash outside the loop's lock, and the crash is settled (minimised,
// the target restarted) between batches.
func testCrashesFound(t *testing.T, workers int) {
	s := loadPets(t)
	target := newCrashTarget(t)
	f := New(s, target.sender, WithSeed(1), WithMaxRequests(4000), WithTarget(target), WithCrashGrace(50*time.Millisecond), WithWorkers(workers))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests (+%d minimising), %d crashes, %d restarts, stop %q", res.Stats.Requests, res.Stats.MinimizeRequests, res.Stats.Crashes, res.Stats.Restarts, res.StopReason)
	crashes := map[string]Finding{}
	for _, fd := range res.Findings {
		t.Logf("finding %s %s %q minimised=%v count=%d\n%s", fd.Operation, fd.Check, fd.Signature, fd.Minimized, fd.Count, fd.Curl)
		if fd.Check == oracle.CheckCrash {
			if _, dup := crashes[fd.Signature]; dup {
				t.Errorf("crash %q reported twice", fd.Signature)
			}
			crashes[fd.Signature] = fd
		}
		if fd.Check == oracle.CheckTransport {
			t.Errorf("transport error reported for a crashed target: %s", fd.Message)
		}
	}
	if res.StopReason != "max requests" {
		t.Errorf("stop reason %q: the run did not survive the crashes", res.StopReason)
	}
	want := map[string][]string{
		"exited with status 70": {"POST /pets", "DELETE /pets/{petId}", "GET /pets/{petId}"},
		"exited with status 2":  {"POST /pets", "POST /pets/{petId}/photo", "DELETE /pets/{petId}"},
	}
	minimised := 0
	for _, fd := range crashes {
		if fd.Minimized {
			minimised++
		}
	}
	if minimised == 0 {
		t.Errorf("none of %d crashes minimised", len(crashes))
	}
	for sig, ops := range want {
		fd, ok := crashes[sig]
		if !ok {
			t.Errorf("crash %q not found", sig)
			continue
		}
		if !fd.Minimized {
			if workers > 1 {
				// Several workers' sequences interleave: a crash whose cause
				// spans two of them may reproduce neither from one alone nor
				// from the history's tail within the budget.
				t.Logf("crash %q not minimised (%d requests) with %d workers", sig, len(fd.Requests), workers)
				continue
			}
			t.Errorf("crash %q not minimised (%d requests)", sig, len(fd.Requests))
			continue
		}
		var got []string
		for _, r := range fd.Requests {
			got = append(got, r.Operation)
		}
		if workers > 1 && len(got) > len(ops) && isSubsequence(ops, got) && got[len(got)-1] == ops[len(ops)-1] {
			// Shrinking an interleaved cause can stop at a local minimum
			// (removing a create renumbers the ids after it); it still
			// holds the cause and ends at the crashing request.
			t.Logf("crash %q: minimal sequence %v with %d workers holds %v", sig, got, workers, ops)
			ops = got
		}
		if strings.Join(got, ", ") != strings.Join(ops, ", ") {
			t.Errorf("crash %q: minimal sequence %v, want %v", sig, got, ops)
		}
		if fd.Operation != ops[len(ops)-1] {
			t.Errorf("crash %q attributed to %s", sig, fd.Operation)
		}
		if n := strings.Count(fd.Curl, "curl "); n != len(ops) {
			t.Errorf("crash %q: curl has %d commands:\n%s", sig, n, fd.Curl)
		}
		if len(fd.Steps) != len(ops) {
			t.Errorf("crash %q: %d steps", sig, len(fd.Steps))
		}
	}
	if target.restarts() < res.Stats.Crashes {
		t.Errorf("%d restarts for %d crashes", target.restarts(), res.Stats.Crashes)
	}
}

// TestCrashWithoutMinimisation keeps the history since the last restart.
func TestCrashWithoutMinimisation(t *testing.T) {
	s := loadPets(t)
	target := newCrashTarget(t)
	f := New(s, target.sender, WithSeed(1), WithMaxRequests(1500), WithTarget(target),
		WithCrashGrace(200*time.Millisecond), WithMinimizeBudget(0, 0))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range res.Findings {
		if fd.Check == oracle.CheckCrash {
			n++
			if fd.Minimized || len(fd.Requests) == 0 || len(fd.Steps) != len(fd.Requests) {
				t.Errorf("crash finding: minimised %v, %d requests, %d steps", fd.Minimized, len(fd.Requests), len(fd.Steps))
			}
		}
	}
	if n == 0 {
		t.Fatal("no crash found")
	}
}

func TestTooManyCrashes(t *testing.T) {
	s := loadPets(t)
	target := newCrashTarget(t)
	target.dieAfter = 3 // every instance dies on its third request
	f := New(s, target.sender, WithSeed(1), WithMaxRequests(4000), WithTarget(target),
		WithCrashGrace(100*time.Millisecond), withMaxCrashes(5), WithMinimizeBudget(0, 0))
	res, err := f.Run(context.Background())
	if !errors.Is(err, ErrTooManyCrashes) || res.StopReason != "too many crashes" {
		t.Fatalf("stop %q, err %v", res.StopReason, err)
	}
	if got := target.restarts(); got != 5 {
		t.Errorf("%d restarts before giving up, want 5 (the 6th crash in a row ends the run)", got)
	}
}

// A known crash found again and again after healthy stretches is not a
// crash loop: the run goes on to its limit.
func TestRecurringCrashDoesNotEndRun(t *testing.T) {
	s := loadPets(t)
	target := newCrashTarget(t)
	target.dieAfter = healthyLife + 10
	f := New(s, target.sender, WithSeed(1), WithMaxRequests(600), WithTarget(target),
		WithCrashGrace(100*time.Millisecond), withMaxCrashes(2), WithMinimizeBudget(0, 0))
	res, err := f.Run(context.Background())
	if err != nil || res.StopReason != "max requests" {
		t.Fatalf("stop %q, err %v", res.StopReason, err)
	}
	if res.Stats.Crashes <= 2 {
		t.Fatalf("%d crashes: the target should have crashed more often than withMaxCrashes allows in a row", res.Stats.Crashes)
	}
}

// With fresh minimisation every finding, not only crashes, is minimised
// on fresh targets: a target that never crashes is restarted for it.
func TestFreshMinimizationOfFindings(t *testing.T) {
	run := func(fresh bool) *Result {
		tgt := newSlowingTarget(t, 0) // never crashes, never slows down
		f := New(loadPets(t), tgt.sender, WithSeed(1), WithMaxRequests(1500), WithTarget(tgt),
			WithLatencyRestarts(upkeep.LatencyPolicy{}), withFreshMinimization(fresh))
		res, err := f.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run(true)
	minimised := 0
	for _, fd := range res.Findings {
		if fd.Minimized {
			minimised++
		}
	}
	if minimised == 0 || res.Stats.Restarts == 0 {
		t.Errorf("%d findings minimised with %d restarts, want them minimised on fresh targets: %+v", minimised, res.Stats.Restarts, res.Findings)
	}
	if res := run(false); res.Stats.Restarts != 0 {
		t.Errorf("%d restarts without fresh minimisation, of a target that never crashes", res.Stats.Restarts)
	}
}

// step makes a valid step for op; bound parameters take the latest id.
func testStep(t *testing.T, f *Fuzzer, op string, bound ...string) Step {
	t.Helper()
	o := f.l.spec.Operation(op)
	if o == nil {
		t.Fatalf("no operation %s", op)
	}
	in, intent := f.l.gen.Input(o, gen.Valid)
	if op == "POST /pets" {
		in.Body = map[string]any{"name": "Rex", "tag": "dog"}
	}
	return Step{Op: op, Input: in, Intent: intent, Bound: bound}
}

func TestMinimizeCrashSequence(t *testing.T) {
	const id = "path.petId"
	tests := []struct {
		name string
		seq  func(t *testing.T, f *Fuzzer) []Step
		sig  string
		want []string
	}{
		{"crash after the answer", func(t *testing.T, f *Fuzzer) []Step {
			return []Step{
				testStep(t, f, "GET /stats"), testStep(t, f, "POST /pets"), testStep(t, f, "GET /pets"),
				testStep(t, f, "POST /pets/{petId}/photo", id), testStep(t, f, "GET /stats"),
				testStep(t, f, "DELETE /pets/{petId}", id), testStep(t, f, "POST /pets"), testStep(t, f, "GET /stats"),
			}
		}, "exited with status 2", []string{"POST /pets", "POST /pets/{petId}/photo", "DELETE /pets/{petId}"}},
		{"use after delete", func(t *testing.T, f *Fuzzer) []Step {
			get := testStep(t, f, "GET /pets/{petId}")
			get.Copies = []Copy{{Param: id, Step: 3, From: id}}
			return []Step{
				testStep(t, f, "POST /pets"), testStep(t, f, "POST /pets"), testStep(t, f, "GET /stats"),
				testStep(t, f, "DELETE /pets/{petId}", id), testStep(t, f, "PUT /pets/{petId}", id), get,
			}
		}, "exited with status 70", []string{"POST /pets", "DELETE /pets/{petId}", "GET /pets/{petId}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loadPets(t)
			target := newCrashTarget(t)
			target.firstID = 41 // the recorded run's ids differ from a fresh target's
			target.Restart(context.Background())
			f := New(s, target.sender, WithSeed(1), WithTarget(target), WithCrashGrace(50*time.Millisecond))
			f.l.mon.stats.restartClock()
			f.l.runSequence(context.Background(), tt.seq(t, f))
			time.Sleep(50 * time.Millisecond) // a crash after the last answer shows at the next request
			f.l.runSequence(context.Background(), []Step{testStep(t, f, "GET /stats")})
			var crash *Finding
			for _, fd := range f.Findings() {
				if fd.Check == oracle.CheckCrash {
					if crash != nil {
						t.Fatalf("two crash findings")
					}
					crash = &fd
				}
			}
			if crash == nil || crash.Signature != tt.sig {
				t.Fatalf("crash finding %+v", crash)
			}
			var got []string
			for _, r := range crash.Requests {
				got = append(got, r.Operation)
			}
			if !crash.Minimized || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("minimised %v to %v, want %v\n%s", crash.Minimized, got, tt.want, crash.Curl)
			}
			if !strings.Contains(crash.Curl, "/v1/pets/41") {
				t.Errorf("reproducer does not use the fresh target's ids:\n%s", crash.Curl)
			}
			t.Logf("%d minimisation requests, %d restarts\n%s", f.Stats().MinimizeRequests, f.Stats().Restarts, crash.Curl)
		})
	}
}

// isSubsequence reports whether want appears in got in order.
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// A crash whose cause is known (minimised) is not looked for again: the
// adaptive count goes back to one for the crashes it has yet to minimise,
// not for every repeat of one it has, and it rises although they repeat
// (here every GET of a pet whose id starts with 9 kills the instance).
func TestKnownCrashesKeepTheWorkerCount(t *testing.T) {
	s := loadPets(t)
	target := newCrashTarget(t)
	target.dieOn = func(r *http.Request) bool { return r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/pets/9") }
	f := New(s, target.sender, WithSeed(1), WithMaxRequests(6000), WithTarget(target), WithCrashGrace(50*time.Millisecond), WithAdaptiveWorkers(8))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	minimised := map[string]bool{}
	for _, fd := range res.Findings {
		if fd.Check == oracle.CheckCrash && fd.Minimized {
			minimised[fd.Signature] = true
		}
	}
	back := 0
	for _, ch := range res.Stats.Concurrency.Changes {
		if strings.Contains(ch.Reason, "crashed while") {
			back++
		}
	}
	t.Logf("%d requests, %d crashes, %d minimised signatures, %d times back to one worker for a crash, max %d workers, changes %v", res.Stats.Requests, res.Stats.Crashes, len(minimised), back, res.Stats.Concurrency.Max, res.Stats.Concurrency.Changes)
	if len(minimised) == 0 {
		t.Fatal("no crash minimised: nothing is known to repeat")
	}
	// Each signature is minimised at most maxMinimizePerCrash times before
	// its cause counts as known.
	if limit := len(minimised) * maxMinimizePerCrash; back > limit {
		t.Errorf("back to one worker %d times for crashes of %d known causes (at most %d expected)", back, len(minimised), limit)
	}
	if res.Stats.Concurrency.Max < 2 {
		t.Errorf("the count never rose above one: repeats of known crashes held it there")
	}
	if res.Stats.Crashes <= back {
		t.Errorf("%d crashes, %d of them sent the count back to one: no known crash repeated, the test proves nothing", res.Stats.Crashes, back)
	}
}
