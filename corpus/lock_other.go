//go:build !linux

package corpus

// lockDir is a no-op where flock is not available; whittle targets Linux.
func lockDir(string) (func(), error) { return func() {}, nil }
