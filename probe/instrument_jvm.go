package probe

import (
	"github.com/docker/docker/api/types/mount"
)

// WithJVMAgent runs the container with whittle's JVM coverage agent: the
// host directory agentDir (holding the agent alone) mounted read-only at
// mountPoint, and JAVA_TOOL_OPTIONS set to javaToolOptions (the image's own
// value followed by the agent's -agentpath), which every JVM of the
// container reads at start. Only the traced containers of a run get it: the
// minimal image and the verification runs never do.
func WithJVMAgent(agentDir, mountPoint, javaToolOptions string) Option {
	return func(c *runConfig) {
		c.mounts = append(c.mounts, mount.Mount{Type: mount.TypeBind, Source: agentDir, Target: mountPoint, ReadOnly: true,
			BindOptions: &mount.BindOptions{Propagation: mount.PropagationRPrivate, NonRecursive: true}})
		c.env = append(c.env, "JAVA_TOOL_OPTIONS="+javaToolOptions)
	}
}
