package fuzz

import (
	"context"
	"fmt"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Exchange is one request and its answer, with what it earned.
type Exchange struct {
	// Seq numbers requests from 1 in the order sent.
	Seq      int64           `json:"seq"`
	Request  corpus.Request  `json:"request"`
	Intent   gen.Intent      `json:"intent"`
	Response corpus.Response `json:"response"`
	Signal   Signal          `json:"signal,omitempty"`
	// New lists what was new (status, shape, coverage); empty if nothing.
	New []string `json:"new,omitempty"`
	// Entry and Step locate the request in the replayed entries (Replay).
	Entry int `json:"entry"`
	Step  int `json:"step"`
	// Crash is set when the target died during or after this request
	// (TargetHealth's reason); the target was then restarted.
	Crash string `json:"crash,omitempty"`
}

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
// replay goes on with the next entry. A target found dead at an entry's
// first request died of the previous entry's last one, just after answering
// it: the crash goes on that exchange and the entry is sent again, so where
// a crash lands does not depend on how fast the process exited. The target
// is checked once more after the last request. Without WithTarget, a dead
// target answers with transport errors until the end.
//
// Options that apply: WithTarget, WithCrashGrace, WithExchangeHook. The
// error is the context's, or wraps ErrTargetLost.
func Replay(ctx context.Context, s *spec.Spec, send Sender, entries []Entry, opts ...Option) ([]Exchange, error) {
	cfg := newConfig(opts)
	ex := newExecutor(s, links.Infer(s), gen.New(s), send)
	var out []Exchange
	restart := func() error {
		if err := cfg.target.Restart(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("%w: %w", ErrTargetLost, err)
		}
		ex.values.Reset()
		return nil
	}
	for ei, e := range entries {
		for attempt := 0; ; attempt++ {
			again, err := replayEntry(ctx, cfg, ex, ei, e, &out, attempt == 0, restart)
			if err != nil {
				return out, err
			}
			if !again {
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

// replayEntry sends one entry's steps, restarting the target when one kills
// it (the entry's remaining steps are then skipped). When the target is
// found dead at the entry's first request although the previous entry's
// last request was answered, that request killed it just after answering
// (a crash in a goroutine the handler started): the crash is put on it,
// where the timing of another run may also find it, and the entry is to be
// sent again on the fresh target (again, when mayRetry).
func replayEntry(ctx context.Context, cfg *config, ex *executor, ei int, e Entry, out *[]Exchange, mayRetry bool, restart func() error) (again bool, err error) {
	sent := make([]*gen.Input, len(e.Steps))
	sentAny := false
	for si, st := range e.Steps {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		p, ok := ex.prepare(st, sent)
		if !ok {
			continue
		}
		resp := ex.deliver(ctx, p.req.Request)
		if err := ctx.Err(); err != nil && resp.Status == 0 {
			return false, err
		}
		x := Exchange{Seq: int64(len(*out) + 1), Entry: ei, Step: si, Request: p.req.Request, Intent: st.Intent, Response: resp}
		dead := false
		if cfg.target != nil && resp.NoAnswer() {
			dead, x.Crash = crashed(ctx, cfg.target, resp, cfg.crashGrace)
		}
		if dead && !sentAny && mayRetry && len(*out) > 0 {
			if prev := &(*out)[len(*out)-1]; prev.Entry < ei && prev.Crash == "" && !prev.Response.NoAnswer() {
				prev.Crash = x.Crash
				return true, restart()
			}
		}
		sentAny = true
		sent[si] = &p.req.Input
		ex.learn(p.op, p.req, resp)
		*out = append(*out, x)
		if cfg.onExchange != nil {
			cfg.onExchange(x)
		}
		if dead {
			return false, restart()
		}
	}
	return false, nil
}
