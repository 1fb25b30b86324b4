package fuzz

import (
	"context"
	"testing"
	"time"
)

func TestPauseResumeStop(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithDuration(time.Minute))
	done := make(chan *Result)
	go func() {
		res, err := f.Run(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	waitFor(t, func() bool { return f.Stats().Requests > 50 })
	f.Pause(true)
	f.Pause(true) // idempotent
	time.Sleep(50 * time.Millisecond)
	at := f.Stats()
	time.Sleep(200 * time.Millisecond)
	still := f.Stats()
	if !still.Paused || still.Requests != at.Requests {
		t.Fatalf("paused run went on: %d then %d requests (paused %v)", at.Requests, still.Requests, still.Paused)
	}
	if still.Elapsed > at.Elapsed+50*time.Millisecond {
		t.Errorf("paused time counted: %v then %v", at.Elapsed, still.Elapsed)
	}
	f.Pause(false)
	waitFor(t, func() bool { return f.Stats().Requests > still.Requests+50 })
	f.Pause(true)
	f.Stop() // also ends the pause
	select {
	case res := <-done:
		if res.StopReason != "stopped" {
			t.Errorf("stop reason %q", res.StopReason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Stop")
	}
}

func TestSkip(t *testing.T) {
	s := loadPets(t)
	srv, api := newPetsServer(t)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(400))
	f.Skip("GET /stats")
	f.Skip("POST /login")
	f.Unskip("POST /login")
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := api.seen["GET /v1/stats"]; n != 0 {
		t.Errorf("skipped operation sent %d times", n)
	}
	if api.seen["POST /v1/login"] == 0 {
		t.Error("unskipped operation never sent")
	}
	if len(res.Stats.Skipped) != 1 || res.Stats.Skipped[0] != "GET /stats" {
		t.Errorf("skipped %v", res.Stats.Skipped)
	}
	var news int64
	for _, o := range res.Stats.Operations {
		news += o.New
	}
	if news == 0 || news > res.Stats.Requests {
		t.Errorf("%d new-coverage requests of %d", news, res.Stats.Requests)
	}
}

func TestAllSkippedStops(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithDuration(10*time.Second))
	for _, op := range s.Operations {
		f.Skip(op.ID)
	}
	res, err := f.Run(context.Background())
	if err != nil || res.StopReason != "all operations skipped" || res.Stats.Requests != 0 {
		t.Fatalf("stop %q after %d requests, %v", res.StopReason, res.Stats.Requests, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestControlsBeforeRun: the pipeline may pause or stop before Run starts.
func TestControlsBeforeRun(t *testing.T) {
	s := loadPets(t)
	srv, _ := newPetsServer(t)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithDuration(time.Minute))
	f.Pause(true)
	time.Sleep(20 * time.Millisecond)
	done := make(chan *Result)
	go func() {
		res, _ := f.Run(context.Background())
		done <- res
	}()
	time.Sleep(50 * time.Millisecond)
	if st := f.Stats(); st.Requests != 0 || st.Elapsed < 0 {
		t.Errorf("paused before the start: %d requests, elapsed %v", st.Requests, st.Elapsed)
	}
	f.Stop()
	if res := <-done; res.StopReason != "stopped" || res.Stats.Requests != 0 {
		t.Errorf("stop %q after %d requests", res.StopReason, res.Stats.Requests)
	}
}
