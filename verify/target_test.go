package verify

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
)

func kill(t *testing.T, tg *Target) {
	t.Helper()
	tg.current().(*instance).mu.Lock()
	tg.current().(*instance).dead = true
	tg.current().(*instance).mu.Unlock()
	if dead, why := tg.Crashed(); !dead || why != "exited with status 2" {
		t.Fatalf("Crashed() = %v, %q after the container died", dead, why)
	}
}

// startedTarget is a target of a fake image answering 200, started.
func startedTarget(t *testing.T, ctx context.Context) (*service, *Target) {
	t.Helper()
	svc := &service{}
	svc.setScript(func(string) (corpus.Response, fate) { return jsonResp(200, `{}`), answer })
	tg := NewTarget(svc.start)
	if err := tg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return svc, tg
}

// After the first crash a spare is started ahead; the next crash takes it,
// and every container, spare included, is removed at the end.
func TestTargetRestartTakesTheSpare(t *testing.T) {
	ctx := context.Background()
	svc, tg := startedTarget(t, ctx)
	first := tg.BaseURL()
	kill(t, tg)
	if err := tg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if tg.BaseURL() == first || tg.Send(ctx, corpus.Request{Path: "/"}).Status != 200 {
		t.Fatal("the restarted target is not a fresh container")
	}
	waitFor(t, func() bool { return len(svc.startedList()) == 3 }) // first, replacement, spare
	spare := svc.startedList()[2]
	kill(t, tg)
	if err := tg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if tg.current() != spare {
		t.Fatalf("the second restart did not take the spare")
	}
	if tg.Restarts() != 2 {
		t.Errorf("%d restarts counted, want 2", tg.Restarts())
	}
	tg.Close(ctx)
	if n := svc.leftover(); n != 0 {
		t.Errorf("%d containers left after Close", n)
	}
}

// A panic in the goroutine starting the spare goes to the target's panic
// handler (the pipeline's ends the run) or, without one, to the process's;
// the restart that wanted the spare starts a container itself, and Close
// neither hangs nor leaves a container behind.
func TestTargetSparePanic(t *testing.T) {
	for _, own := range []bool{true, false} {
		name := map[bool]string{true: "target handler", false: "process handler"}[own]
		t.Run(name, func(t *testing.T) {
			var fired atomic.Bool
			t.Cleanup(faults.Set(faults.SpareStart, func() error {
				fired.Store(true)
				panic("injected fault")
			}))
			var got atomic.Pointer[panics.Panic]
			handle := func(p *panics.Panic) { got.Store(p) }
			var opts []Option
			if own {
				opts = append(opts, WithPanicHandler(handle))
			} else {
				t.Cleanup(panics.SetHandler(handle))
			}
			svc := &service{}
			svc.setScript(func(string) (corpus.Response, fate) { return jsonResp(200, `{}`), answer })
			ctx := context.Background()
			tg := NewTarget(svc.start, opts...)
			if err := tg.Start(ctx); err != nil {
				t.Fatal(err)
			}
			kill(t, tg)
			if err := tg.Restart(ctx); err != nil { // starts the spare, which panics
				t.Fatal(err)
			}
			waitFor(t, func() bool { return got.Load() != nil })
			p := got.Load()
			if !fired.Load() || p.Where != string(faults.SpareStart) || p.Value != "injected fault" {
				t.Fatalf("panic %+v", p)
			}
			kill(t, tg)
			done := make(chan error, 1)
			go func() { done <- tg.Restart(ctx) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Restart waits for a spare whose start panicked")
			}
			if tg.Send(ctx, corpus.Request{Path: "/"}).Status != 200 {
				t.Fatal("no container after the restart")
			}
			closed := make(chan struct{})
			go func() { tg.Close(ctx); close(closed) }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("Close hangs")
			}
			if n := svc.leftover(); n != 0 {
				t.Errorf("%d containers left after Close", n)
			}
		})
	}
}

func (s *service) startedList() []*instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*instance(nil), s.started...)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowStarts makes every container start after the first wait for ready
// until ctx is done or a minute has passed (a --ready-timeout), telling
// entered when one begins.
func slowStarts(svc *service) (entered chan struct{}) {
	entered = make(chan struct{}, 16)
	svc.mu.Lock()
	svc.waitReady = func(ctx context.Context) error {
		entered <- struct{}{}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Minute):
			return nil
		}
	}
	svc.mu.Unlock()
	return entered
}

func within(t *testing.T, what string, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

// Close while a restart is starting a container: the restart stops, what
// it started is removed, and Close returns only then. Before, Close found
// no container and returned, and the restart then set its container and a
// spare on the closed target: both left behind (run with -race).
func TestCloseDuringRestartLeavesNothing(t *testing.T) {
	ctx := context.Background()
	svc, tg := startedTarget(t, ctx)
	entered := slowStarts(svc)
	restarted := make(chan error, 1)
	go func() { restarted <- tg.Restart(context.WithoutCancel(ctx)) }()
	<-entered
	within(t, "Close during a restart", 10*time.Second, func() { tg.Close(ctx) })
	var err error
	within(t, "the restart", 10*time.Second, func() { err = <-restarted })
	if !errors.Is(err, ErrClosed) {
		t.Errorf("restart of a closed target: %v, want ErrClosed", err)
	}
	if n := svc.leftover(); n != 0 {
		t.Errorf("%d container(s) left after Close", n)
	}
	if err := tg.Restart(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("restart after Close: %v, want ErrClosed", err)
	}
	if n := svc.leftover(); n != 0 {
		t.Errorf("%d container(s) left after a restart of a closed target", n)
	}
}

// Ctrl-C while a restart waits for its container to be ready: the
// restart's own context cannot be cancelled (the fuzzer's survives the end
// of fuzzing), the run's can, and ends the restart at once instead of after
// the ready timeout; whether the restart starts a container itself or
// waits for the spare's.
func TestCancelledRunStopsARestart(t *testing.T) {
	for _, waitsForSpare := range []bool{false, true} {
		name := map[bool]string{false: "starting", true: "waiting for the spare"}[waitsForSpare]
		t.Run(name, func(t *testing.T) {
			run, cancel := context.WithCancel(context.Background())
			defer cancel()
			svc, tg := startedTarget(t, run)
			if waitsForSpare {
				kill(t, tg)
				if err := tg.Restart(context.WithoutCancel(run)); err != nil {
					t.Fatal(err)
				}
				waitFor(t, func() bool { return len(svc.startedList()) == 3 }) // first, replacement, ready spare
				entered := slowStarts(svc)
				kill(t, tg)
				if err := tg.Restart(context.WithoutCancel(run)); err != nil { // takes the spare, starts a slow one
					t.Fatal(err)
				}
				<-entered
			} else {
				slowStarts(svc)
			}
			kill(t, tg)
			restarted := make(chan error, 1)
			go func() { restarted <- tg.Restart(context.WithoutCancel(run)) }()
			time.Sleep(20 * time.Millisecond) // let it wait
			cancel()
			var err error
			within(t, "a restart after the run was cancelled", 10*time.Second, func() { err = <-restarted })
			if !errors.Is(err, context.Canceled) {
				t.Errorf("restart: %v, want context.Canceled", err)
			}
			within(t, "Close", 10*time.Second, func() { tg.Close(context.Background()) })
			if n := svc.leftover(); n != 0 {
				t.Errorf("%d container(s) left after Close", n)
			}
		})
	}
}
