package pipeline

import (
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/limits"
	"github.com/whittle-dev/whittle/tracer"
)

// newLimits is the run's record of the budgets the target makes it reach
// (internal/limits): each is logged the first time, shown in the progress
// (the interfaces pull it), and reported as limits_hit.
func (r *Run) newLimits() *limits.Recorder {
	return limits.NewRecorder(func(h limits.Hit) {
		r.logf(event.LevelWarn, "%s", h)
		r.ctr.update(func(p *event.Progress) { p.LimitsHit = append(p.LimitsHit, h.Limit) })
	})
}

// logContainerRoot says how the container's files are opened on this
// kernel: either way no path leads out of the container's root.
func logContainerRoot(r *Run) {
	if err := tracer.InContainerRoot(); err != nil {
		r.logf(event.LevelInfo, "container files are resolved one component at a time from the container's pinned root (%v)", err)
		return
	}
	r.logf(event.LevelInfo, "container files are opened with openat2(RESOLVE_IN_ROOT) in the container's pinned root")
}
