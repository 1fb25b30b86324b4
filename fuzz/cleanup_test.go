package fuzz

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/upkeep"
)

// The run deletes what it created with real DELETE requests, counted apart
// from the fuzzing requests; without it the pets pile up.
func TestCleanupBoundsWhatTheRunCreated(t *testing.T) {
	for _, workers := range []int{1, 4} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) { testCleanupBounds(t, workers) })
	}
}

// testCleanupBounds runs the pets with and without cleanup; with several
// workers the cleanup sends its DELETEs at once, as many as there are
// workers, between batches.
func testCleanupBounds(t *testing.T, workers int) {
	const maxLive = 8
	run := func(cleanup int) (*Result, *petsAPI) {
		s := loadPets(t)
		srv, api := newPetsServer(t)
		f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(3), WithMaxRequests(2000),
			WithMinimizeBudget(0, 0), WithCleanup(cleanup), WithWorkers(workers))
		res, err := f.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res, api
	}
	res, api := run(maxLive)
	st := res.Stats
	if st.CleanupDeletes == 0 || st.CleanupFailures != 0 {
		t.Fatalf("cleanup: %d deletes, %d failures", st.CleanupDeletes, st.CleanupFailures)
	}
	api.mu.Lock()
	live := len(api.pets)
	served, deletes := 0, 0
	for k, n := range api.seen {
		served += n
		if strings.HasPrefix(k, "DELETE ") {
			deletes += n
		}
	}
	api.mu.Unlock()
	// What was made since the last cleanup: one sequence, or a batch.
	since := newConfig(nil).maxSeqLen
	if workers > 1 {
		since *= workers * batchSequences
	}
	if live > maxLive+since {
		t.Errorf("%d pets alive at the end, bound %d (+ %d creates since the last cleanup)", live, maxLive, since)
	}
	// Requests counts the fuzzing only; the target saw the cleanup too.
	if int64(served) != st.Requests+st.CleanupDeletes {
		t.Errorf("the target served %d requests: %d fuzzing + %d cleanup expected", served, st.Requests, st.CleanupDeletes)
	}
	if fuzzDeletes := st.Operations["DELETE /pets/{petId}"].Requests; int64(deletes) != fuzzDeletes+st.CleanupDeletes {
		t.Errorf("%d DELETEs served, %d fuzzing + %d cleanup", deletes, fuzzDeletes, st.CleanupDeletes)
	}
	t.Logf("cleanup on: %d pets alive, %d deletes sent for it among %d requests", live, st.CleanupDeletes, st.Requests)

	res, api = run(0)
	api.mu.Lock()
	piled := len(api.pets)
	api.mu.Unlock()
	if res.Stats.CleanupDeletes != 0 || piled <= 4*maxLive {
		t.Errorf("cleanup off: %d deletes, %d pets alive: the comparison shows nothing", res.Stats.CleanupDeletes, piled)
	}
	t.Logf("cleanup off: %d pets alive", piled)
}

// Deleting some resources kills the target (the pets API dies right after
// deleting a pet that has a photo): the crash is counted and the target
// restarted, and after the second such crash that kind is left alone.
func TestCleanupThatCrashesStops(t *testing.T) {
	tgt := newCrashTarget(t)
	events := make(chan Event, 4096)
	f := New(loadPets(t), tgt.sender, WithSeed(11), WithMaxRequests(4000), WithMinimizeBudget(0, 0),
		WithCleanup(2), WithTarget(tgt), WithLatencyRestarts(upkeep.LatencyPolicy{}), WithEvents(events))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	close(events)
	var during []string
	for e := range events {
		if e.Kind == EventRestart && strings.HasPrefix(e.Reasons[0], "crashed during cleanup") {
			during = append(during, e.Reasons[0])
		}
	}
	t.Logf("%d restarts, %d crashes, %d cleanup deletes (%d failed); during cleanup: %q",
		res.Stats.Restarts, res.Stats.Crashes, res.Stats.CleanupDeletes, res.Stats.CleanupFailures, during)
	if len(during) == 0 {
		t.Fatal("no crash during cleanup: the test shows nothing")
	}
	if len(during) > upkeep.MaxCleanupCrashes {
		t.Errorf("%d crashes during cleanup: cleanup went on deleting what kills the target", len(during))
	}
	if len(during) == upkeep.MaxCleanupCrashes && !strings.Contains(during[len(during)-1], "no longer deleted") {
		t.Errorf("the last cleanup crash does not say cleanup stopped: %q", during[len(during)-1])
	}
	if res.Stats.Crashes < len(during) || res.Stats.Restarts < len(during) {
		t.Errorf("crashes %d, restarts %d: cleanup crashes not counted", res.Stats.Crashes, res.Stats.Restarts)
	}
}

// A DELETE that times out (the target lives on) ends the batch, but what
// it and the DELETEs not sent yet were to remove still exists: it stays
// remembered and is deleted later; a resource whose DELETEs keep timing out
// is given up on.
func TestCleanupKeepsWhatATimeoutLeft(t *testing.T) {
	s := loadPets(t)
	var deleted []string
	timeouts := map[string]int{"2": 1, "9": upkeep.MaxCleanupMisses} // by pet id
	send := senderFunc(func(_ context.Context, req corpus.Request) corpus.Response {
		if req.Method != "DELETE" {
			t.Errorf("cleanup sent %s %s", req.Method, req.Path)
		}
		id := path.Base(req.Path)
		if timeouts[id] > 0 {
			timeouts[id]--
			return corpus.Response{Err: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}
		}
		deleted = append(deleted, id)
		return corpus.Response{Status: 204}
	})
	l := newLoop(s, send, newConfig([]Option{WithCleanup(4)}))
	op := s.Operation("POST /pets")
	for id := 1; id <= 10; id++ {
		l.keeper.GC.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: []byte(fmt.Sprintf(`{"id":%d}`, id))})
	}
	l.collectGarbage(context.Background())
	if got := strings.Join(deleted, ","); got != "1" || l.keeper.GC.Live() != 9 {
		t.Fatalf("after a timeout: deleted %q, %d remembered; want 1 deleted and the 9 others remembered", got, l.keeper.GC.Live())
	}
	l.collectGarbage(context.Background())
	if got := strings.Join(deleted, ","); got != "1,2,3,4,5,6,7,8" || l.keeper.GC.Live() != 2 {
		t.Fatalf("deleted %q, %d remembered; want 1 to 8 deleted (2 once it answered), 2 left", got, l.keeper.GC.Live())
	}
	// 9 times out twice: dropped then, not retried for ever.
	for id := 11; id <= 13; id++ {
		l.keeper.GC.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: []byte(fmt.Sprintf(`{"id":%d}`, id))})
	}
	l.collectGarbage(context.Background())
	l.collectGarbage(context.Background())
	if timeouts["9"] != 0 || slices.Contains(deleted, "9") {
		t.Fatalf("pet 9's DELETE was to time out twice: %d timeouts left, deleted %q", timeouts["9"], deleted)
	}
	l.keeper.GC.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: []byte(`{"id":14}`)})
	l.keeper.GC.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: []byte(`{"id":15}`)})
	before := len(deleted)
	l.collectGarbage(context.Background())
	if slices.Contains(deleted[before:], "9") {
		t.Errorf("pet 9 deleted again after %d timeouts: %q", upkeep.MaxCleanupMisses, deleted)
	}
	if st := l.mon.stats.snapshot(); st.CleanupDeletes != int64(len(deleted)+3) || st.CleanupFailures != 3 {
		t.Errorf("%d cleanup deletes counted (%d failed), want %d sent and the 3 timeouts failed", st.CleanupDeletes, st.CleanupFailures, len(deleted)+3)
	}
}

// A run stopped in the middle of a cleanup batch forgets none of what it
// did not delete.
func TestCleanupStoppedKeepsTheRest(t *testing.T) {
	s := loadPets(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sent := 0
	send := senderFunc(func(context.Context, corpus.Request) corpus.Response {
		sent++
		cancel() // stopped while the first DELETE was under way
		return corpus.Response{Status: 204}
	})
	l := newLoop(s, send, newConfig([]Option{WithCleanup(4)}))
	op := s.Operation("POST /pets")
	for id := 1; id <= 10; id++ {
		l.keeper.GC.Created(op, &gen.Request{}, corpus.Response{Status: 201, Body: []byte(fmt.Sprintf(`{"id":%d}`, id))})
	}
	l.collectGarbage(ctx)
	if sent != 1 || l.keeper.GC.Live() != 9 {
		t.Errorf("stopped after %d DELETEs with %d remembered, want 1 and 9", sent, l.keeper.GC.Live())
	}
}
