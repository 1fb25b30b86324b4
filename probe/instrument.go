package probe

import (
	"github.com/docker/docker/api/types/mount"
)

// WithInstrumentationDir mounts the host directory dir (whittle's own
// files for a runtime's coverage, such as its JVM agent) read-only at
// target. Only the traced containers of a run get it: the minimal image and
// the verification runs never do.
func WithInstrumentationDir(dir, target string) Option {
	return func(c *runConfig) {
		c.mounts = append(c.mounts, mount.Mount{Type: mount.TypeBind, Source: dir, Target: target, ReadOnly: true,
			BindOptions: &mount.BindOptions{Propagation: mount.PropagationRPrivate, NonRecursive: true}})
	}
}
