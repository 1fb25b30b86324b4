package pipeline

import (
	"context"
	"errors"
	"fmt"
	"github.com/whittle-dev/whittle/internal/faults"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/verify"
)

// starter is how the run starts containers of img (the original, the
// reference replays' and the minimal image's). A traced one is started
// under the tracer (cover.Starter: arm, start, bind, in that order) and
// unbound when it is removed.
func (s *session) starter(img *probe.Image, traced bool, extra ...probe.Option) verify.StartFunc {
	return s.withCompanions(func(stack []probe.Option) verify.StartFunc {
		return s.containerStarter(img, traced, append(append([]probe.Option{}, extra...), stack...)...)
	})
}

// containerStarter starts the target's container alone.
func (s *session) containerStarter(img *probe.Image, traced bool, extra ...probe.Option) verify.StartFunc {
	opts := s.probeOptions(extra...)
	if !traced {
		return verify.Container(s.engine, img, opts...)
	}
	return func(ctx context.Context) (_ verify.Instance, err error) {
		var t *probe.Target
		defer s.starts.since(time.Now())
		if d := s.fuzzDuty.Load(); d != nil {
			release := d.holdForStart()
			defer func() { release(err == nil) }()
		}
		pid, err := s.traced.Start(ctx, func(ctx context.Context) (int, func(context.Context) error, error) {
			var err error
			if t, err = s.engine.Create(ctx, img, append(opts, s.instrumentation(img)...)...); err != nil {
				return 0, nil, err
			}
			if err := t.Start(ctx); err != nil {
				return 0, nil, err
			}
			_ = faults.At(faults.TracedStart)
			return t.Pid, t.WaitReady, nil
		})
		if t == nil {
			return nil, err
		}
		if errors.Is(err, tracer.ErrNotBound) {
			err = fmt.Errorf("binding the tracer to container %s: %w", shortImageID(t.ID), err)
		}
		return &tracedTarget{Target: t, tracer: s.tracer, bound: pid}, err
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

// tracedTarget is a container started under the tracer.
type tracedTarget struct {
	*probe.Target
	tracer *tracer.Tracer
	bound  int // the pid the tracer was bound to; 0: not bound
}

// Remove removes the container and unbinds the tracer from it (namespace
// numbers are reused by the kernel: a stale binding could let a later,
// unrelated container in).
func (t *tracedTarget) Remove(ctx context.Context) error {
	err := t.Target.Remove(ctx)
	if t.bound > 0 {
		if uerr := t.tracer.Unbind(t.bound); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unbinding the tracer: %w", uerr))
		}
	}
	return err
}
