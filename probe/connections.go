package probe

import (
	"context"

	"github.com/whittle-dev/whittle/corpus"
)

// SendFresh sends one request on a connection of its own, closed after
// the answer, whichever connections Send uses.
func (t *Target) SendFresh(ctx context.Context, req corpus.Request) corpus.Response {
	return send(ctx, t.fresh, t.BaseURL, req, t.cfg.maxBody)
}

// UseFreshConnections makes Send open a connection per request from now
// on: for a server that answers kept-alive connections late (see
// loopback.WithoutKeepAlive).
func (t *Target) UseFreshConnections() { t.freshOnly.Store(true) }
