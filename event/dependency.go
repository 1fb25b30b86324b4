package event

// Dependency: a companion service of the target (a compose depends_on)
// changed state. Every container of the target gets fresh companions, so
// a service goes through its states once per start.
type Dependency struct {
	Stamp
	Service string
	Image   string
	// State is "creating", "starting", "waiting (healthy)", "healthy",
	// "running", "completed", "failed", ...
	State  string
	Detail string
	// Starts counts the times the service was started so far in the run.
	Starts int
}
