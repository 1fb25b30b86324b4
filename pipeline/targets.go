package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/verify"
)

// starter is how the run starts containers of img (the original, the
// reference replays' and the minimal image's). A traced one is bound to the
// tracer while it starts and unbound when it is removed. Traced starts are
// serialised: the tracer is widened (Arm) until the new container is bound,
// and two starts at once would narrow it before the second one's first
// exec.
func (s *session) starter(img *probe.Image, traced bool, extra ...probe.Option) verify.StartFunc {
	return func(ctx context.Context) (verify.Instance, error) {
		if traced {
			s.startMu.Lock()
			defer s.startMu.Unlock()
		}
		t, err := s.startTarget(ctx, img, traced, extra...)
		switch {
		case t == nil:
			return nil, err
		case traced:
			if s.origPid == 0 {
				s.origPid = t.Pid
			}
			return &tracedTarget{Target: t, tracer: s.tracer}, err
		}
		return t, err
	}
}

// targetOptions are the options of every restartable target of the run: a
// container that cannot be removed is logged, and a panic starting a spare
// ends the run.
func (s *session) targetOptions(img *probe.Image) []verify.Option {
	return []verify.Option{
		verify.WithName(img.Ref),
		verify.WithWarnings(func(err error) { s.run.logf(event.LevelWarn, "%v", err) }),
		verify.WithPanicHandler(s.run.fail),
	}
}

// tracedTarget is a container the tracer is bound to.
type tracedTarget struct {
	*probe.Target
	tracer *tracer.Tracer
}

// Remove removes the container and unbinds the tracer from it (namespace
// numbers are reused by the kernel: a stale binding could let a later,
// unrelated container in).
func (t *tracedTarget) Remove(ctx context.Context) error {
	err := t.Target.Remove(ctx)
	if t.Pid > 0 {
		if uerr := t.tracer.Unbind(t.Pid); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unbinding the tracer: %w", uerr))
		}
	}
	return err
}
