package probe

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"
)

// ownerLabels are the labels of everything a run creates: the run id and
// the owning process, so that a later run removes what a killed one left.
func ownerLabels(runID string) map[string]string {
	return map[string]string{LabelRun: runID, LabelOwner: ownerToken(os.Getpid())}
}

// networkTimeout bounds a network's creation: seen taking over a minute on
// a loaded engine (2 cores, a dozen containers starting).
const networkTimeout = 3 * time.Minute

// CreateNetwork creates a private bridge network for one run's containers
// (a target and its companion services) and returns its name. Containers
// on it reach each other by name; the target's port is still published on
// 127.0.0.1 only.
func (e *Engine) CreateNetwork(ctx context.Context, name, runID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// Not cancelled half-way, as ContainerCreate: the engine may create it
	// anyway and nobody would remove it. An engine whose iptables lock is
	// contended (many containers starting at once) takes its time here.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), networkTimeout)
	defer cancel()
	_, err := e.cli.NetworkCreate(cctx, name, network.CreateOptions{Driver: "bridge", Labels: ownerLabels(runID)})
	if err != nil {
		return "", fmt.Errorf("creating network %s: %w", name, err)
	}
	return name, nil
}

// RemoveNetwork removes a network; it keeps working after ctx is cancelled.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.cli.NetworkRemove(rctx, name); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("removing network %s: %w", name, err)
	}
	return nil
}

// CreateVolume creates an empty volume owned by the run (a companion
// service's data, fresh for each start) and returns its name.
func (e *Engine) CreateVolume(ctx context.Context, name, runID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	v, err := e.cli.VolumeCreate(cctx, volume.CreateOptions{Name: name, Labels: ownerLabels(runID)})
	if err != nil {
		return "", fmt.Errorf("creating volume %s: %w", name, err)
	}
	return v.Name, nil
}

// RemoveVolume removes a volume; it keeps working after ctx is cancelled.
func (e *Engine) RemoveVolume(ctx context.Context, name string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.cli.VolumeRemove(rctx, name, true); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("removing volume %s: %w", name, err)
	}
	return nil
}

// Health is a container's state as a companion service is judged by.
type Health struct {
	Running  bool
	Exited   bool
	ExitCode int
	// Status is the health check's: "starting", "healthy", "unhealthy", or
	// "" when the container has none; Check is what its last probe printed
	// and its exit code.
	Status string
	Check  string
}

// Health inspects the container's state and health.
func (t *Target) Health(ctx context.Context) (Health, error) {
	info, err := t.engine.cli.ContainerInspect(ctx, t.ID)
	if err != nil {
		return Health{}, fmt.Errorf("inspecting container %s: %w", shortID(t.ID), err)
	}
	var h Health
	if st := info.State; st != nil {
		h.Running = st.Running
		h.Exited = !st.Running && st.Status == "exited" || st.Status == "dead"
		h.ExitCode = st.ExitCode
		if st.Health != nil {
			h.Status = st.Health.Status
			if n := len(st.Health.Log); n > 0 {
				last := st.Health.Log[n-1]
				h.Check = fmt.Sprintf("exit %d: %s", last.ExitCode, strings.TrimSpace(last.Output))
			}
		}
	}
	return h, nil
}
