package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/probe"
)

// CrashGrace is how long a replay waits, after a request got no answer,
// for the engine to report the container's exit. Replays are compared by
// where crashes happen, so a crash noticed late (a loaded engine) must not
// move to another entry; the wait ends as soon as the exit is seen.
const CrashGrace = 3 * time.Second

// Container returns a StartFunc that starts containers of img with probe
// (default capabilities, port on 127.0.0.1) and waits until they answer.
func Container(eng *probe.Engine, img *probe.Image, opts ...probe.Option) StartFunc {
	return func(ctx context.Context) (Instance, error) {
		t, err := eng.Create(ctx, img, opts...)
		if err != nil {
			return nil, err
		}
		if err := t.Start(ctx); err != nil {
			return t, err
		}
		return t, t.WaitReady(ctx)
	}
}

// Replay starts a fresh target with start, replays every entry in order on
// it (restarting it when an entry crashes it; see fuzz.Replay) and removes
// it. The exchanges are located by entry and step, for Compare.
func Replay(ctx context.Context, sp *spec.Spec, entries []fuzz.Entry, start StartFunc, opts ...Option) ([]fuzz.Exchange, error) {
	t := NewTarget(start, opts...)
	defer t.Close(ctx)
	if err := t.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting %s for the replay: %w", t.name, err)
	}
	return ReplayOn(ctx, sp, t, entries)
}

// ReplayOn replays every entry on a target already started; the caller
// closes it.
func ReplayOn(ctx context.Context, sp *spec.Spec, t *Target, entries []fuzz.Entry) ([]fuzz.Exchange, error) {
	return fuzz.Replay(ctx, sp, t, entries, fuzz.WithTarget(t), fuzz.WithCrashGrace(t.crashGrace))
}
