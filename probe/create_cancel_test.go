package probe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// A create request cancelled while in flight may still create the container
// on the engine's side; whittle must not lose track of it (it would stay
// behind, owned by a live process, until that process dies).
func TestCancelledCreateLeavesNothing(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app"]`, `EXPOSE 8080`)
	img, err := e.Inspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("cancel-test-%d", time.Now().UnixNano())
	created := 0
	for i := range 40 {
		ctx, cancel := context.WithCancel(context.Background())
		// Cancel at staggered moments: before, during and after the request.
		time.AfterFunc(time.Duration(i%20)*time.Millisecond/2, cancel)
		tgt, err := e.Create(ctx, img, WithRun(runID))
		if err == nil {
			created++
			if err := tgt.Remove(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
	}
	// Give the engine a moment to finish requests it received.
	time.Sleep(500 * time.Millisecond)
	list, err := e.Client().ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRun+"="+runID))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		t.Errorf("container %s left behind by a cancelled create", c.ID[:12])
		_ = e.Client().ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
	}
	t.Logf("%d of 40 creates completed before their cancellation", created)
}
