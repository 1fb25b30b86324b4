package tracer

import (
	"golang.org/x/sys/unix"
)

// Start-up spans: which records a container made while it was starting.
//
// A restart (or a spare started in the background) runs the new
// container's start-up code while requests to the current one are in
// flight: coverage first hit then is start-up work, not the merit of any
// request. Every record carries its mount namespace and the kernel time
// (bpf_ktime_get_ns), so the caller who knows when a container became
// ready (cover.Starter) marks it, and a record's source asks DuringStart.

// Starting marks the container bound by pid as starting: every record of
// its mount namespace counts as start-up until Ready(pid). A pid that is
// not bound is ignored.
func (t *Tracer) Starting(pid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ns := t.nsOfLocked(pid); ns != 0 {
		if t.starts == nil {
			t.starts = map[uint64]uint64{}
		}
		t.starts[ns] = 0
	}
}

// Ready ends the start-up of the container bound by pid: its records
// stamped from now on are its work as a running service.
func (t *Tracer) Ready(pid int) {
	now := MonotonicNow()
	t.mu.Lock()
	defer t.mu.Unlock()
	if ns := t.nsOfLocked(pid); ns != 0 {
		if _, ok := t.starts[ns]; ok {
			t.starts[ns] = now
			if now == 0 { // no clock: nothing more counts as start-up
				delete(t.starts, ns)
			}
		}
	}
}

// DuringStart reports whether a record of mount namespace ns stamped ts
// (kernel monotonic nanoseconds) was made while that container was
// starting: after Starting and before Ready.
func (t *Tracer) DuringStart(ns, ts uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ready, ok := t.starts[ns]
	return ok && (ready == 0 || ts < ready)
}

func (t *Tracer) nsOfLocked(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	for ns, p := range t.bound {
		if p == uint32(pid) {
			return ns
		}
	}
	return 0
}

// MonotonicNow is bpf_ktime_get_ns's clock, now: the clock of every
// stamp the tracer hands out (Head.Mono, coverage records' times).
func MonotonicNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return uint64(ts.Nano())
}
