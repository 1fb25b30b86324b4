package verify

import (
	"context"

	"github.com/whittle-dev/whittle/corpus"
)

// freshSender is an instance that can send on a connection of its own
// (probe.Target).
type freshSender interface {
	SendFresh(ctx context.Context, req corpus.Request) corpus.Response
}

// SendFresh delivers a request to the current container on a connection
// of its own, closed after the answer (as Send when the instance cannot).
func (t *Target) SendFresh(ctx context.Context, req corpus.Request) corpus.Response {
	inst := t.current()
	if inst == nil {
		return corpus.Response{Err: "target is not running"}
	}
	if f, ok := inst.(freshSender); ok {
		return f.SendFresh(ctx, req)
	}
	return inst.Send(ctx, req)
}

// UseFreshConnections makes Send open a connection per request from now
// on, on this container and the ones that replace it: for a server that
// answers kept-alive connections late.
func (t *Target) UseFreshConnections() { t.freshOnly.Store(true) }
