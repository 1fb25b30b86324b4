package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

	mu       sync.Mutex
	cur      Instance
	restarts int
	startup  time.Duration // how long the first container took to answer
	// spare is a container started ahead, once the target has crashed
	// once: a target that keeps crashing is then replaced at once instead
	// of paying a container start (hundreds of ms, seconds for an
	// interpreter) per crash.
	spare chan spareInstance
	// freshOnly: every request on a connection of its own (connections.go).
	freshOnly atomic.Bool
}

type spareInstance struct {
	inst Instance
	err  error
}

// errSpareLost is what a spare that panicked while starting delivers: the
// restart then starts a container itself.
var errSpareLost = errors.New("the spare container's start panicked")

// NewTarget returns a target whose containers come from start; Start
// starts the first one.
func NewTarget(start StartFunc, opts ...Option) *Target {
	t := &Target{start: start, name: "the target", crashGrace: CrashGrace}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Start starts the first container.
func (t *Target) Start(ctx context.Context) error {
	began := time.Now()
	inst, err := t.start(ctx)
	t.mu.Lock()
	t.cur = inst
	if t.startup == 0 {
		t.startup = time.Since(began)
	}
	t.mu.Unlock()
	return err
}

func (t *Target) current() Instance {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur
}

// Send delivers a request to the current container.
func (t *Target) Send(ctx context.Context, req corpus.Request) corpus.Response {
	if t.freshOnly.Load() {
		return t.SendFresh(ctx, req)
	}
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
// the spare when one is ready, else a new one.
func (t *Target) Restart(ctx context.Context) error {
	t.mu.Lock()
	old := t.cur
	t.cur = nil
	t.restarts++
	spare := t.spare
	t.spare = nil
	t.mu.Unlock()
	t.release(ctx, old)
	if spare != nil {
		got := <-spare
		if got.err == nil {
			t.mu.Lock()
			t.cur = got.inst
			t.mu.Unlock()
			t.prepareSpare(ctx)
			return nil
		}
		t.release(ctx, got.inst)
	}
	inst, err := t.start(ctx)
	t.mu.Lock()
	t.cur = inst
	t.mu.Unlock()
	if err != nil {
		return fmt.Errorf("restarting %s: %w", t.name, err)
	}
	t.prepareSpare(ctx)
	return nil
}

// prepareSpare starts the next container in the background. The goroutine
// always delivers (a panic becomes errSpareLost), so Restart and Close never
// wait for a spare that will not come.
func (t *Target) prepareSpare(ctx context.Context) {
	ch := make(chan spareInstance, 1)
	t.mu.Lock()
	t.spare = ch
	t.mu.Unlock()
	go func() {
		got := spareInstance{err: errSpareLost}
		defer func() { ch <- got }()
		defer panics.Catch(string(faults.SpareStart), t.onPanic)
		_ = faults.At(faults.SpareStart)
		got.inst, got.err = t.start(ctx)
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

// Close removes the current container and the spare (waiting for it to
// have started, so that it cannot outlive the target).
func (t *Target) Close(ctx context.Context) {
	t.mu.Lock()
	cur, spare := t.cur, t.spare
	t.cur, t.spare = nil, nil
	t.mu.Unlock()
	t.release(ctx, cur)
	if spare != nil {
		got := <-spare
		t.release(ctx, got.inst)
	}
}

func (t *Target) release(ctx context.Context, inst Instance) {
	if inst == nil {
		return
	}
	if err := inst.Remove(ctx); err != nil && t.warn != nil {
		t.warn(err)
	}
}
