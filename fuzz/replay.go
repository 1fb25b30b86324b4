package fuzz

import (
	"context"
	"fmt"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Replay runs corpus entries again, in order, against a (fresh) target and
// returns one exchange per request sent, located by Exchange.Entry and
// Exchange.Step. Values are re-bound from the answers of this run (a create
// may return another id than when the entry was recorded); everything else
// is sent as recorded, so the same answers give byte-identical requests,
// and the number and order of exchanges depend only on the answers.
//
// With WithTarget, a request that gets no answer is followed by a check of
// the target (waiting up to the crash grace): when it died, the exchange
// records the crash, the target is restarted, bindings are forgotten and the
// replay goes on with the next entry. The target is checked once more after
// the last request. Without WithTarget, a dead target answers with transport
// errors until the end.
//
// Options that apply: WithTarget, WithCrashGrace, WithExchangeHook. The
// error is the context's, or wraps ErrTargetLost.
func Replay(ctx context.Context, s *spec.Spec, send Sender, entries []Entry, opts ...Option) ([]Exchange, error) {
	cfg := newConfig(opts)
	links := InferLinks(s)
	b := &binder{spec: s, gen: gen.New(s), store: newValueStore(s, links)}
	var out []Exchange
	restart := func() error {
		if err := cfg.target.Restart(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("%w: %w", ErrTargetLost, err)
		}
		b.store = newValueStore(s, links)
		return nil
	}
	for ei, e := range entries {
		sent := make([]*gen.Input, len(e.Steps))
		for si, st := range e.Steps {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			p, ok := b.prepare(st, sent)
			if !ok {
				continue
			}
			resp := deliver(ctx, send, p.req.Request)
			if err := ctx.Err(); err != nil && resp.Status == 0 {
				return out, err
			}
			sent[si] = &p.req.Input
			b.learn(p.op, p.req, resp)
			x := Exchange{Seq: int64(len(out) + 1), Entry: ei, Step: si, Request: p.req.Request, Intent: st.Intent, Response: resp}
			dead := false
			if cfg.target != nil && noAnswer(resp) {
				dead, x.Crash = crashed(ctx, cfg.target, resp, cfg.crashGrace)
			}
			out = append(out, x)
			if cfg.onExchange != nil {
				cfg.onExchange(x)
			}
			if dead {
				if err := restart(); err != nil {
					return out, err
				}
				break
			}
		}
	}
	if cfg.target != nil && len(out) > 0 {
		if dead, why := waitCrash(ctx, cfg.target, cfg.crashGrace); dead {
			out[len(out)-1].Crash = why
			if err := restart(); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// ReplayEntries converts stored entries and replays them (see Replay); the
// warnings name entries whose steps could not be read and were replayed
// from their recorded requests.
func ReplayEntries(ctx context.Context, s *spec.Spec, send Sender, entries []corpus.Entry, opts ...Option) ([]Exchange, []string, error) {
	es, warns := EntriesFromCorpus(entries)
	x, err := Replay(ctx, s, send, es, opts...)
	return x, warns, err
}
