package cover

import "errors"

// ImageConfig is what a Preparer reads of the target's image: its
// entrypoint, command and environment (KEY=VALUE).
type ImageConfig struct {
	Entrypoint, Cmd, Env []string
}

// Preparer is a Runtime that decides, before the traced run starts, from
// the image's configuration, whether its traced containers need its
// instrumentation (a JVM's agent); until it did, its Env and Mounts are
// empty. Prepare returns what showed that they do ("" when nothing did).
type Preparer interface {
	Prepare(img ImageConfig) (why string, err error)
}

// Mount is a host directory of whittle's mounted read-only into the traced
// containers, and only those, at Target.
type Mount struct {
	Source, Target string
}

// Mounter is an Instrumenter whose mechanism needs whittle's own files in
// the traced containers (the JVM's agent).
type Mounter interface {
	Mounts() []Mount
}

// ErrRestart: a runtime recognised the process only once it ran (a JVM
// started by a script the image's configuration did not show), too late
// for its instrumentation. The runtime is prepared now: the process must be
// started again for its coverage to begin; the Starter tries the runtimes
// again at the next start.
var ErrRestart = errors.New("cover: the target must start again with the runtime's instrumentation")
