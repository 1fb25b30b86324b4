package fuzz

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
)

// connectionChooser is a Sender that can also send on a connection of its
// own and switch to one connection per request (verify.Target, probe.Target).
type connectionChooser interface {
	SendFresh(ctx context.Context, req corpus.Request) corpus.Response
	UseFreshConnections()
}

// connectionProbes is how many requests of each kind chooseConnections times.
const connectionProbes = 5

// Keep-alive answers are "much slower" when their median is both
// slowKeepAliveFactor times and slowKeepAliveExcess above that of answers on
// fresh connections: Nagle's algorithm against delayed ACKs costs some
// 40 ms a request, load on the machine does not look like that.
const (
	slowKeepAliveFactor = 4
	slowKeepAliveExcess = 10 * time.Millisecond
)

// chooseConnections times the liveness operation on a kept-alive
// connection and on fresh ones, before anything else is sent. Some servers
// answer a kept-alive connection only after the client's delayed ACK
// (a JDK HttpServer: 43 ms a request against 2 ms on a fresh connection);
// then every request opens its own connection from now on, and the run
// says so once (EventConnections, Stats.Connections).
func (l *loop) chooseConnections(ctx context.Context) {
	ch, ok := l.exec.send.(connectionChooser)
	op := l.instance.liveness
	if !ok || op == nil || ctx.Err() != nil {
		return
	}
	// No parameters at all: none is required, and the random stream stays the loop's.
	req := l.gen.Encode(op, gen.Input{Op: op.ID}, gen.Intent{}).Request
	defer l.coverage.drain(ctx)
	if warm := l.exec.send.Send(ctx, req); warm.Status == 0 {
		return // the connection kept alive is open now, or there is none
	}
	var kept, fresh []time.Duration
	for range connectionProbes {
		k := l.exec.send.Send(ctx, req)
		f := ch.SendFresh(ctx, req)
		if k.Status == 0 || f.Status == 0 {
			return
		}
		kept, fresh = append(kept, k.Duration), append(fresh, f.Duration)
	}
	mk, mf := median(kept), median(fresh)
	if mk < slowKeepAliveFactor*mf || mk-mf < slowKeepAliveExcess {
		return
	}
	ch.UseFreshConnections()
	why := fmt.Sprintf("keep-alive answers took %s, answers on fresh connections %s: every request opens a connection of its own",
		mk.Round(100*time.Microsecond), mf.Round(100*time.Microsecond))
	l.connections.Store(&why)
	l.mon.emit(Event{Kind: EventConnections, Operation: op.ID, Reasons: []string{why}})
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
