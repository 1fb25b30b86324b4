package report

// RunConfig is how the run's containers were started beyond their image's
// config. Values the user gave are never written: environment variables
// by name only.
type RunConfig struct {
	// Env names the variables given (their values are secrets).
	Env        []string `json:"env,omitempty"`
	Mounts     []Mount  `json:"mounts,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	User       string   `json:"user,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	// Baked is set when these settings were written into the minimal
	// image's config; otherwise it keeps the original image's.
	Baked bool `json:"baked"`
	// MountExcluded are paths the target used beneath a mount point: they
	// came from the host or a volume, and are not in the minimal image.
	MountExcluded []string `json:"mount_excluded,omitempty"`
	// Compose names the compose file and service the target came from.
	Compose string `json:"compose,omitempty"`
	Service string `json:"service,omitempty"`
}

// Mount is one mount of the target.
type Mount struct {
	Source   string `json:"source,omitempty"` // a host path or a volume name
	Target   string `json:"target"`
	Kind     string `json:"kind"` // "bind", "volume" or "tmpfs"
	ReadOnly bool   `json:"read_only,omitempty"`
	// Note says what it means for the minimal image.
	Note string `json:"note"`
}

// Dependency is a companion service started beside the target (compose
// depends_on), freshly for every container of the target.
type Dependency struct {
	Service   string `json:"service"`
	Image     string `json:"image"`
	Condition string `json:"condition"` // service_started, service_healthy, service_completed_successfully
	// State is the last state seen: "healthy", "running", "exited 0",
	// "failed: ...".
	State string `json:"state"`
	// Starts counts how many times it was started (one per target
	// container of the run); Ready is the mean time until its condition
	// held, in seconds.
	Starts int     `json:"starts"`
	Ready  float64 `json:"ready_seconds"`
}

// Driver is one of the user's driver commands run while fuzzing.
type Driver struct {
	Command  string  `json:"command"`
	ExitCode int     `json:"exit_code"`
	Duration float64 `json:"duration_seconds"`
	// Requests counts what it sent through the recording proxy; each one
	// is in the corpus, marked as from the driver, and replayed.
	Requests int `json:"requests"`
	// Output is the tail of its standard output and error.
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}
