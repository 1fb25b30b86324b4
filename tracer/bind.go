package tracer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// Binding: which containers the tracer follows.
//
// New starts "armed": every process that execs in a non-host mount
// namespace is recorded, per namespace. Bind(pid) adds the namespace of pid
// to the bound set and narrows recording to the bound set (in BPF and
// here): records of other namespaces are dropped. Bind is additive: when
// the pipeline restarts a crashed target or replays against a fresh
// container of the same image, it binds the new container too, and the
// files, syscalls and coverage gathered so far are kept and merged.
//
// To catch a new container's first exec (the loader's opens), call Arm
// before starting it: recording widens to every namespace again until the
// next Bind. Unbind a container once it is gone: its records stay, but the
// namespace is no longer followed (mount namespace inode numbers are
// reused by the kernel).

// ErrNotBound: Start started the process but could not bind the tracer to
// it (it may have died at once).
var ErrNotBound = errors.New("the tracer could not follow the new process")

// Start starts a process the tracer is to follow, in the order that
// catches its first exec: Arm, start (which returns the host pid of the
// new container's init as soon as it exists), then Bind that pid. Starts
// are serialised: two at once would narrow recording (Bind) before the
// second one's first exec. The error of a failed Bind wraps ErrNotBound;
// start's own error is returned as it is.
func (t *Tracer) Start(ctx context.Context, start func(ctx context.Context) (pid int, err error)) (int, error) {
	t.startMu.Lock()
	defer t.startMu.Unlock()
	// Containers bound already keep being followed; recording widens to
	// every namespace only until this one is bound.
	if err := t.Arm(); err != nil {
		return 0, err
	}
	pid, err := start(ctx)
	if err != nil {
		t.disarm()
		return pid, err
	}
	if err := t.Bind(pid); err != nil {
		t.disarm()
		return pid, fmt.Errorf("%w: %w", ErrNotBound, err)
	}
	return pid, nil
}

// disarm narrows recording to the bound set again after a start that bound
// nothing (when something is bound: before the first Bind every namespace
// is recorded anyway).
func (t *Tracer) disarm() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || !t.armed || len(t.bound) == 0 {
		return
	}
	if err := t.objs.Filtering.Set(uint32(1)); err != nil {
		return // stays armed: more is recorded, nothing is lost
	}
	t.armed = false
	t.col.disarm()
	t.dropUnbound()
}

// maxBound mirrors MAX_BOUND in bpf/records.h.
const maxBound = 64

// Bind adds the mount namespace of the host process pid (a container's
// init) to the bound set. Records already read for that namespace are kept;
// those of namespaces that were never bound are dropped, and from now on
// BPF ignores every namespace outside the bound set (another container of
// the same image included) until Arm.
func (t *Tracer) Bind(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("binding tracer: invalid pid %d", pid)
	}
	ns, err := t.col.proc.Mntns(uint32(pid))
	if err != nil {
		return fmt.Errorf("binding tracer to pid %d: %w", pid, err)
	}
	return t.bind(ns, uint32(pid))
}

// BindMountNamespace is Bind by mount namespace inode (stat -L -c %i
// /proc/PID/ns/mnt), for callers that captured it earlier.
func (t *Tracer) BindMountNamespace(inode uint64) error { return t.bind(inode, 0) }

func (t *Tracer) bind(ns uint64, pid uint32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("binding tracer: closed")
	}
	if ns == 0 {
		return errors.New("binding tracer: mount namespace 0")
	}
	host, _ := procfs.NSInode("/proc/self/ns/mnt")
	if ns == host {
		return fmt.Errorf("binding tracer: pid %d is in the host mount namespace", pid)
	}
	if _, ok := t.bound[ns]; !ok && len(t.bound) >= maxBound {
		return fmt.Errorf("binding tracer: %d mount namespaces bound already (unbind gone containers)", maxBound)
	}
	if err := t.objs.BoundSet.Update(ns, uint8(1), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("binding tracer: %w", err)
	}
	if err := t.objs.Filtering.Set(uint32(1)); err != nil {
		return fmt.Errorf("binding tracer: %w", err)
	}
	switch old, ok := t.bound[ns]; {
	case ok && old != 0 && pid != 0 && old != pid:
		// The kernel gave the new container the namespace inode of one
		// that is gone (it died) but not unbound yet: the new one takes
		// the binding over, and the old one's Unbind leaves it alone.
		if t.superseded == nil {
			t.superseded = map[uint32]uint64{}
		}
		t.superseded[old] = ns
		t.bound[ns] = pid
	case !ok || old == 0:
		t.bound[ns] = pid
	}
	t.armed, t.everBound = false, true
	t.col.bind(ns, pid)
	t.dropUnbound()
	return nil
}

// dropUnbound forgets, in BPF, the processes and syscall sets of every
// namespace outside the bound set. Called with t.mu held.
func (t *Tracer) dropUnbound() {
	var tgid uint32
	var v tracerTrackedV
	var stale []uint32
	it := t.objs.Tracked.Iterate()
	for it.Next(&tgid, &v) {
		if _, ok := t.bound[v.Mntns]; !ok {
			stale = append(stale, tgid)
		}
	}
	for _, k := range stale {
		_ = t.objs.Tracked.Delete(k)
	}
	var key uint64
	var bitsV tracerSysbits
	var staleNS []uint64
	it = t.objs.Sysbits.Iterate()
	for it.Next(&key, &bitsV) {
		if _, ok := t.bound[key]; !ok {
			staleNS = append(staleNS, key)
		}
	}
	for _, k := range staleNS {
		_ = t.objs.Sysbits.Delete(k)
	}
}

// Arm widens recording to every non-host mount namespace again, so that
// the first exec of a container about to start is captured; the next Bind
// narrows it to the bound set plus that container. Data is kept.
func (t *Tracer) Arm() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("arming tracer: closed")
	}
	if err := t.objs.Filtering.Set(uint32(0)); err != nil {
		return fmt.Errorf("arming tracer: %w", err)
	}
	t.armed = true
	t.col.arm()
	return nil
}

// Unbind stops following the container bound by Bind(pid) (the pid may be
// gone by now). What was recorded for it is kept. A container whose
// namespace inode a newer bound container got (the kernel reuses them once
// a namespace is gone) is only forgotten: the newer one stays followed.
func (t *Tracer) Unbind(pid int) error {
	t.mu.Lock()
	if _, ok := t.superseded[uint32(pid)]; ok && pid > 0 {
		delete(t.superseded, uint32(pid))
		t.mu.Unlock()
		return nil
	}
	var ns uint64
	for n, p := range t.bound {
		if p == uint32(pid) && pid > 0 {
			ns = n
		}
	}
	t.mu.Unlock()
	if ns == 0 {
		return fmt.Errorf("unbinding tracer: pid %d was not bound", pid)
	}
	return t.UnbindMountNamespace(ns)
}

// UnbindMountNamespace is Unbind by mount namespace inode.
func (t *Tracer) UnbindMountNamespace(ns uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("unbinding tracer: closed")
	}
	if _, ok := t.bound[ns]; !ok {
		return fmt.Errorf("unbinding tracer: mount namespace %d is not bound", ns)
	}
	// Keep its syscalls, then forget it in BPF.
	var v tracerSysbits
	if err := t.objs.Sysbits.Lookup(ns, &v); err == nil {
		if t.sysAcc == nil {
			t.sysAcc = make([]uint64, nrSyscalls/64)
		}
		for i := range t.sysAcc {
			t.sysAcc[i] |= v.W[i]
		}
	}
	if err := t.objs.BoundSet.Delete(ns); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("unbinding tracer: %w", err)
	}
	delete(t.bound, ns)
	delete(t.starts, ns)
	t.col.unbind(ns)
	if !t.armed {
		t.dropUnbound()
	}
	return nil
}

// Bound returns the bound mount namespace inodes, sorted.
func (t *Tracer) Bound() []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]uint64, 0, len(t.bound))
	for ns := range t.bound {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// The collector side of binding.

// bind adds mntns to the bound set: its bucket's accesses move to the view,
// buckets and process shadows of namespaces never bound are dropped.
func (c *collector) bind(mntns uint64, pid uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch old, ok := c.bound[mntns]; {
	case ok && old != 0 && pid != 0 && old != pid:
		// A newer container got a gone one's namespace inode (see
		// Tracer.bind): paths resolve in the newer one's root from now on.
		c.bound[mntns] = pid
		if b := c.buckets[mntns]; b != nil {
			b.unpinRoot()
		}
	case !ok || old == 0:
		c.bound[mntns] = pid
	}
	c.filter, c.everBound = true, true
	if b := c.buckets[mntns]; b != nil {
		for _, e := range b.set.order {
			c.view.add(*e)
		}
		b.set = fileSet{}
	}
	for ns, b := range c.buckets {
		if _, ok := c.bound[ns]; !ok {
			b.unpinRoot()
			delete(c.buckets, ns)
		}
	}
	if pid != 0 {
		if b := c.bucket(mntns); b.root == nil {
			b.pinRoot(c.proc.Root(pid))
		}
	}
	for tgid, p := range c.procs {
		if _, ok := c.bound[p.mntns]; !ok {
			delete(c.procs, tgid)
		}
	}
}

// arm accepts records of every namespace again, until the next bind.
func (c *collector) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.filter = false
}

// disarm drops records of namespaces outside the bound set again, and
// what was kept of them since arm.
func (c *collector) disarm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.filter = true
	for ns, b := range c.buckets {
		if _, ok := c.bound[ns]; !ok {
			b.unpinRoot()
			delete(c.buckets, ns)
		}
	}
	for tgid, p := range c.procs {
		if _, ok := c.bound[p.mntns]; !ok {
			delete(c.procs, tgid)
		}
	}
}

// unbind stops following mntns; its accesses stay in the view.
func (c *collector) unbind(mntns uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.bound, mntns)
	if b := c.buckets[mntns]; b != nil {
		b.unpinRoot()
		delete(c.buckets, mntns)
	}
	for tgid, p := range c.procs {
		if p.mntns == mntns {
			delete(c.procs, tgid)
		}
	}
}
