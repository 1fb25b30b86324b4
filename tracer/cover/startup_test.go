package cover

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

// A container started while coverage is on (a restart, a spare) runs its
// module bodies then: start-up work, whichever request is in flight. The
// Starter marks its start until it is ready, and the hits its records
// carry (mount namespace, kernel time) count as start-up, never reported
// as new; what requests make it run once ready is reported as before.
func TestIntegrationHitsOfAStartingContainerAreStartup(t *testing.T) {
	requireIntegration(t)
	if err := fixture.Available(fixture.PypetsImage); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
	tr := newTestTracer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var last *fixture.Container
	start := func(context.Context) (int, func(context.Context) error, error) {
		c, err := fixture.Start(fixture.PypetsImage, 8000)
		if err != nil {
			return 0, nil, err
		}
		t.Cleanup(c.Remove)
		last = c
		return c.Pid, func(ctx context.Context) error { return c.WaitReady(ctx, "/health") }, nil
	}
	st := NewStarter(tr, "")
	if _, err := st.Start(ctx, start); err != nil {
		t.Fatal(err)
	}
	src, err := st.Coverage()
	if err != nil {
		t.Fatal(err)
	}
	cursor, _, err := src.Baseline(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	const body = "/app/pypets/models.py:<module>:"
	if _, err := st.Start(ctx, start); err != nil {
		t.Fatal(err)
	}
	second := last
	syncTracer(t, tr)
	var units []string
	units, cursor = src.NewSince(cursor)
	for _, u := range units {
		if strings.HasPrefix(u, body) {
			t.Fatalf("the second container's start-up is reported as new coverage: %s among %v", u, units)
		}
	}
	seen := false
	for _, h := range src.Hits() {
		if strings.HasPrefix(h.Unit(), body) {
			seen = true
			if !h.Startup || !h.Background {
				t.Errorf("%s: startup %v, background %v; want start-up", h.Unit(), h.Startup, h.Background)
			}
		}
	}
	if !seen {
		t.Fatalf("the second container's module bodies were not seen at all")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if _, err := fixture.Do(client, "http://"+second.Addr, fixture.Request{Method: "POST", Path: "/items",
		Body: `{"name":"hammer","category":"tools","price":9.5,"quantity":3}`}); err != nil {
		t.Fatal(err)
	}
	syncTracer(t, tr)
	units, _ = src.NewSince(cursor)
	requireUnit(t, units, "/app/pypets/main.py:create_item:")
}
