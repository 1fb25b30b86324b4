package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
)

// Instance is one running container of the target image: a *probe.Target,
// possibly wrapped (a traced one also unbinds the tracer when removed).
type Instance interface {
	Send(ctx context.Context, req corpus.Request) corpus.Response
	// Exited reports whether the container has stopped; ExitCode is then
	// its status.
	Exited() bool
	ExitCode() int64
	// Remove removes the container; it is called once per instance, also
	// after ctx is cancelled.
	Remove(ctx context.Context) error
	// URL is where it answers: http://127.0.0.1:PORT.
	URL() string
}

// StartFunc starts a fresh instance and returns it once it answers. When
// it fails after creating the container it returns that instance too, so
// that it is removed.
type StartFunc func(ctx context.Context) (Instance, error)

// Option configures a Target (and the replays that make one).
type Option func(*Target)

// WithName names the target (its image) in errors.
func WithName(name string) Option { return func(t *Target) { t.name = name } }

// WithWarnings receives what went wrong without stopping anything: a
// container that could not be removed.
func WithWarnings(f func(error)) Option { return func(t *Target) { t.warn = f } }

// WithPanicHandler receives a panic of the target's own goroutine (the one
// starting the spare); without it the process's panic handler does
// (panics.SetHandler). The pipeline passes its run's, which ends the run.
func WithPanicHandler(f func(*panics.Panic)) Option { return func(t *Target) { t.onPanic = f } }

// Target is a container of one image that is replaced by a fresh one when
// it dies (fuzz.TargetHealth) while senders keep using the same value.
// Its methods are safe for concurrent use.
type Target struct {
	start   StartFunc
	name    string
	warn    func(error)
	onPanic func(*panics.Panic)
	// crashGrace is the replays' CrashGrace (shorter in tests, whose fake
	// containers report an exit at once).
	crashGrace time.Duration

	// life ends when the context given to Start is cancelled or the
	// target is closed: restarts and the spare's start stop then, though
	// a restart's own context may be one that cannot be cancelled (the
	// fuzzer's survives the end of fuzzing, not Ctrl-C).
	life context.Context
	stop context.CancelCauseFunc
	// busy counts restarts under way: Close waits for them to have
	// released what they started.
	busy sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	cur      Instance
	restarts int
	startup  time.Duration // how long the first container took to answer
	// spare is a container started ahead, once the target has crashed
	// once: a target that keeps crashing is then replaced at once instead
	// of paying a container start (hundreds of ms, seconds for an
	// interpreter) per crash.
	spare chan spareInstance
}

type spareInstance struct {
	inst Instance
	err  error
}

// errSpareLost is what a spare that panicked while starting delivers: the
// restart then starts a container itself.
var errSpareLost = errors.New("the spare container's start panicked")

// ErrClosed is a restart of a target that was closed meanwhile: what it
// started is removed.
var ErrClosed = errors.New("target closed")

// NewTarget returns a target whose containers come from start; Start
// starts the first one.
func NewTarget(start StartFunc, opts ...Option) *Target {
	t := &Target{start: start, name: "the target", crashGrace: CrashGrace}
	t.life, t.stop = context.WithCancelCause(context.Background())
	for _, o := range opts {
		o(t)
	}
	return t
}

// Start starts the first container. The target lives within ctx: once it
// is cancelled, restarts stop (see Restart).
func (t *Target) Start(ctx context.Context) error {
	context.AfterFunc(ctx, func() { t.stop(context.Cause(ctx)) })
	began := time.Now()
	inst, err := t.start(ctx)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.release(ctx, inst)
		return ErrClosed
	}
	t.cur = inst
	if t.startup == 0 {
		t.startup = time.Since(began)
	}
	t.mu.Unlock()
	return err
}

// within is ctx, also cancelled when the target's life ends.
func (t *Target) within(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(t.life, func() { cancel(context.Cause(t.life)) })
	return ctx, func() { stop(); cancel(nil) }
}

func (t *Target) current() Instance {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur
}

// Send delivers a request to the current container.
func (t *Target) Send(ctx context.Context, req corpus.Request) corpus.Response {
	inst := t.current()
	if inst == nil {
		return corpus.Response{Err: "target is not running"}
	}
	return inst.Send(ctx, req)
}

// Crashed reports whether the current container has exited. The reason is
// a finding's signature, so it only says what is stable across instances.
func (t *Target) Crashed() (bool, string) {
	inst := t.current()
	if inst == nil || !inst.Exited() {
		return false, ""
	}
	return true, fmt.Sprintf("exited with status %d", inst.ExitCode())
}

// Restart replaces the current container by a fresh one of the same image:
// the spare when one is ready, else a new one. It stops when ctx is
// cancelled, when the context Start was given is, or when the target is
// closed; a target closed meanwhile gets nothing: what the restart started
// is removed and the error is ErrClosed.
func (t *Target) Restart(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return fmt.Errorf("restarting %s: %w", t.name, ErrClosed)
	}
	old := t.cur
	t.cur = nil
	t.restarts++
	spare := t.spare
	t.spare = nil
	t.busy.Add(1)
	t.mu.Unlock()
	defer t.busy.Done()
	ctx, cancel := t.within(ctx)
	defer cancel()
	t.release(ctx, old)
	if spare != nil {
		select {
		case got := <-spare:
			if got.err == nil {
				return t.take(ctx, got.inst)
			}
			t.release(ctx, got.inst)
		case <-ctx.Done():
			t.discard(spare)
			return fmt.Errorf("restarting %s: %w", t.name, context.Cause(ctx))
		}
	}
	inst, err := t.start(ctx)
	if err != nil {
		t.release(ctx, inst)
		if t.isClosed() {
			err = ErrClosed
		}
		return fmt.Errorf("restarting %s: %w", t.name, err)
	}
	return t.take(ctx, inst)
}

// take makes inst the current container and starts the next spare, unless
// the target was closed meanwhile: inst is then removed.
func (t *Target) take(ctx context.Context, inst Instance) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.release(ctx, inst)
		return fmt.Errorf("restarting %s: %w", t.name, ErrClosed)
	}
	t.cur = inst
	t.mu.Unlock()
	t.prepareSpare()
	return nil
}

func (t *Target) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// discard removes a spare nobody will take once it has started; Close
// waits for that.
func (t *Target) discard(spare chan spareInstance) {
	t.busy.Add(1)
	go func() {
		defer t.busy.Done()
		defer panics.Catch(string(faults.SpareStart), t.onPanic)
		got := <-spare
		t.release(context.Background(), got.inst)
	}()
}

// prepareSpare starts the next container in the background, within the
// target's life. The goroutine always delivers (a panic becomes
// errSpareLost), so Restart and Close never wait for a spare that will not
// come.
func (t *Target) prepareSpare() {
	ch := make(chan spareInstance, 1)
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.spare = ch
	t.mu.Unlock()
	go func() {
		got := spareInstance{err: errSpareLost}
		defer func() { ch <- got }()
		defer panics.Catch(string(faults.SpareStart), t.onPanic)
		_ = faults.At(faults.SpareStart)
		got.inst, got.err = t.start(t.life)
	}()
}

// BaseURL is where the current container answers ("" while none runs).
func (t *Target) BaseURL() string {
	if inst := t.current(); inst != nil {
		return inst.URL()
	}
	return ""
}

// Startup is how long the first container took to answer.
func (t *Target) Startup() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.startup
}

// Restarts counts the containers that replaced a previous one.
func (t *Target) Restarts() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.restarts
}

// Close removes the current container and the spare, stops a restart
// under way and waits for it to have removed what it started: nothing
// outlives the target.
func (t *Target) Close(ctx context.Context) {
	t.mu.Lock()
	t.closed = true
	cur, spare := t.cur, t.spare
	t.cur, t.spare = nil, nil
	t.mu.Unlock()
	t.stop(ErrClosed)
	t.release(ctx, cur)
	if spare != nil {
		got := <-spare
		t.release(ctx, got.inst)
	}
	t.busy.Wait()
}

func (t *Target) release(ctx context.Context, inst Instance) {
	if inst == nil {
		return
	}
	if err := inst.Remove(ctx); err != nil && t.warn != nil {
		t.warn(err)
	}
}
