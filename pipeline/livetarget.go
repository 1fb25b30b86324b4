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
}

func (s *session) newLiveTarget(img *probe.Image, traced bool, opts ...probe.Option) *liveTarget {
	return &liveTarget{s: s, img: img, traced: traced, opts: opts}
}

// start starts the first container.
func (l *liveTarget) start(ctx context.Context) error {
	began := time.Now()
	t, err := l.s.startTarget(ctx, l.img, l.traced, l.opts...)
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

// Restart replaces the current container by a fresh one of the same image.
func (l *liveTarget) Restart(ctx context.Context) error {
	l.mu.Lock()
	old := l.t
	l.t = nil
	l.restarts++
	l.mu.Unlock()
	l.release(ctx, old)
	return l.start(ctx)
}

// baseURL is where the current container answers.
func (l *liveTarget) baseURL() string {
	if t := l.current(); t != nil {
		return t.BaseURL
	}
	return ""
}

// close removes the current container.
func (l *liveTarget) close(ctx context.Context) {
	l.mu.Lock()
	t := l.t
	l.t = nil
	l.mu.Unlock()
	l.release(ctx, t)
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
