package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
)

// liveTarget is a container of one image that can be replaced by a fresh one
// when it dies (fuzz.TargetHealth) while senders keep using the same value.
type liveTarget struct {
	s      *session
	img    *probe.Image
	traced bool
	opts   []probe.Option

	mu       sync.Mutex
	t        *probe.Target
	restarts int
	startup  time.Duration // how long the first container took to answer
	// spare is a container started ahead, once the target has crashed
	// once: a target that keeps crashing is then replaced at once instead
	// of paying a container start (hundreds of ms, seconds for an
	// interpreter) per crash.
	spare chan spareTarget
}

type spareTarget struct {
	t   *probe.Target
	err error
}

func (s *session) newLiveTarget(img *probe.Image, traced bool, opts ...probe.Option) *liveTarget {
	return &liveTarget{s: s, img: img, traced: traced, opts: opts}
}

// start starts the first container.
func (l *liveTarget) start(ctx context.Context) error {
	began := time.Now()
	t, err := l.launch(ctx)
	l.mu.Lock()
	l.t = t
	if l.startup == 0 {
		l.startup = time.Since(began)
	}
	l.mu.Unlock()
	return err
}

func (l *liveTarget) current() *probe.Target {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.t
}

// Send delivers a request to the current container.
func (l *liveTarget) Send(ctx context.Context, req corpus.Request) corpus.Response {
	t := l.current()
	if t == nil {
		return corpus.Response{Err: "target is not running"}
	}
	return t.Send(ctx, req)
}

// Crashed reports whether the current container has exited. The reason is
// a finding's signature, so it only says what is stable across instances.
func (l *liveTarget) Crashed() (bool, string) {
	t := l.current()
	if t == nil || !t.Exited() {
		return false, ""
	}
	return true, fmt.Sprintf("exited with status %d", t.ExitCode())
}

// launch starts a container. Traced starts are serialised: the tracer is
// widened (Arm) until the new container is bound, and two starts at once
// would narrow it before the second one's first exec.
func (l *liveTarget) launch(ctx context.Context) (*probe.Target, error) {
	if l.traced {
		l.s.startMu.Lock()
		defer l.s.startMu.Unlock()
	}
	return l.s.startTarget(ctx, l.img, l.traced, l.opts...)
}

// Restart replaces the current container by a fresh one of the same image:
// the spare when one is ready, else a new one.
func (l *liveTarget) Restart(ctx context.Context) error {
	l.mu.Lock()
	old := l.t
	l.t = nil
	l.restarts++
	spare := l.spare
	l.spare = nil
	l.mu.Unlock()
	l.release(ctx, old)
	if spare != nil {
		got := <-spare
		if got.err == nil {
			l.mu.Lock()
			l.t = got.t
			l.mu.Unlock()
			l.prepareSpare(ctx)
			return nil
		}
		l.release(ctx, got.t)
	}
	t, err := l.launch(ctx)
	l.mu.Lock()
	l.t = t
	l.mu.Unlock()
	if err == nil {
		l.prepareSpare(ctx)
	}
	return err
}

// prepareSpare starts the next container in the background.
func (l *liveTarget) prepareSpare(ctx context.Context) {
	ch := make(chan spareTarget, 1)
	l.mu.Lock()
	l.spare = ch
	l.mu.Unlock()
	go func() {
		t, err := l.launch(ctx)
		ch <- spareTarget{t: t, err: err}
	}()
}

// baseURL is where the current container answers.
func (l *liveTarget) baseURL() string {
	if t := l.current(); t != nil {
		return t.BaseURL
	}
	return ""
}

// close removes the current container and the spare.
func (l *liveTarget) close(ctx context.Context) {
	l.mu.Lock()
	t, spare := l.t, l.spare
	l.t, l.spare = nil, nil
	l.mu.Unlock()
	l.release(ctx, t)
	if spare != nil {
		got := <-spare
		l.release(ctx, got.t)
	}
}

// release removes a container and, when traced, unbinds the tracer from it
// (namespace numbers are reused by the kernel: a stale binding could let a
// later, unrelated container in).
func (l *liveTarget) release(ctx context.Context, t *probe.Target) {
	if t == nil {
		return
	}
	if err := t.Remove(ctx); err != nil {
		l.s.run.logf(event.LevelWarn, "%v", err)
	}
	if l.traced && t.Pid > 0 {
		if err := l.s.tracer.Unbind(t.Pid); err != nil {
			l.s.run.logf(event.LevelWarn, "unbinding the tracer: %v", err)
		}
	}
}
