package tracer

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// FileAccess is one use of a path by a container process.
type FileAccess struct {
	// Path is the absolute path inside the container: as requested, joined
	// with the cwd or dirfd directory when relative, lexically cleaned, not
	// symlink-resolved (the rebuild resolves symlinks against the image).
	// The base directory itself is the kernel's resolved one. Exceptions:
	// KindMmapExec (and execveat of a descriptor) name the resolved file of
	// the descriptor, and a successful relative chdir names the new cwd.
	Path string
	// Requested is the path exactly as the process passed it.
	Requested string
	Kind      Kind
	// Errno is 0 when the call succeeded, else the positive errno (ENOENT
	// lookups show files the program would use if they existed).
	Errno int
	// Pid and Tgid are host ids of the first thread seen doing it.
	Pid, Tgid uint32
	Comm      string
	// Count is how many times it was seen.
	Count int
}

// Stats are the tracer's counters.
type Stats struct {
	Events uint64 // records read from the ring buffer
	Lost   uint64 // records the kernel dropped because the ring buffer was full

	PathReadErrors   uint64 // path arguments that could not be read from process memory
	InflightOverflow uint64 // syscalls not followed: too many in flight at once
	TrackedOverflow  uint64 // processes that could not be tracked: map full
	Truncated        uint64 // in-kernel base paths cut short (too deep or too long)
	Unresolved       uint64 // relative paths whose base directory was not found
	DecodeErrors     uint64 // malformed records (a bug)

	Files int // unique (Path, Kind, Errno) in the current view
}

// Option configures New.
type Option func(*config)

type config struct {
	tier     Tier
	ringSize int
	proc     procfs.FS
}

const defaultRingBufferSize = 8 << 20

// WithTier forces a file-observation tier instead of TierAuto; New fails
// with ErrNotSupported if it cannot be used.
func WithTier(t Tier) Option { return func(c *config) { c.tier = t } }

// WithRingBufferSize sets the BPF ring buffer size in bytes (rounded up to
// a power of two, at least one page). Default 8 MiB.
func WithRingBufferSize(n int) Option { return func(c *config) { c.ringSize = n } }

// Tracer is an armed set of BPF programs and the state built from their
// records. Its methods are safe for concurrent use.
type Tracer struct {
	tier      Tier
	fallbacks []TierStatus
	objs      *tracerObjects
	links     []link.Link
	rd        *ringbuf.Reader
	col       *collector
	done      chan struct{}

	mu sync.Mutex // guards the fields below
	// bound maps the bound mount namespaces to the pid they were bound by
	// (0 when bound by inode); armed is set by Arm until the next Bind.
	bound map[uint64]uint32
	// superseded are pids bound once whose namespace inode a newer bound
	// container got: their Unbind is a no-op.
	superseded map[uint32]uint64
	// starts maps the namespaces of starting containers to the kernel time
	// they got ready (0: still starting); see starting.go.
	starts    map[uint64]uint64
	armed     bool
	everBound bool
	sysAcc    []uint64 // syscall bits of namespaces unbound since
	ext       map[string]Extension
	closed    bool
	readErr   error
	// snapshots taken by Close, served afterwards
	finalSyscalls []Syscall
	finalStats    Stats

	syncSeq atomic.Uint64
	// handlers route record types to the extensions that own them; read
	// by the ring buffer reader for every record, so a snapshot.
	handlers atomic.Pointer[map[uint8]Extension]
	startMu  sync.Mutex // serialises Start
}

// New loads and attaches the tracer ("armed"): from now on every process
// that execs in a non-host mount namespace is recorded, until Bind narrows
// it to one container. Close it when done.
func New(opts ...Option) (*Tracer, error) {
	cfg := config{tier: TierAuto, ringSize: defaultRingBufferSize, proc: procfs.Host}
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkPrivileges(); err != nil {
		return nil, err
	}
	if err := checkFeatures(); err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("raising the memlock limit for BPF maps: %w", err)
	}
	host, err := procfs.NSInode("/proc/self/ns/mnt")
	if err != nil {
		return nil, fmt.Errorf("reading the host mount namespace: %w", err)
	}
	size := ringSize(cfg.ringSize)

	t := &Tracer{done: make(chan struct{}), bound: map[uint64]uint32{}}
	candidates := tierOrder
	if cfg.tier != TierAuto {
		if _, ok := tierNames[cfg.tier]; !ok {
			return nil, fmt.Errorf("unknown tracer tier %d", int(cfg.tier))
		}
		candidates = []Tier{cfg.tier}
	}
	for _, tier := range candidates {
		var objs *tracerObjects
		switch tier {
		case TierLSM, TierFentry:
			err = probeUnimplemented(tier)
		default:
			objs, err = loadObjects(tier, host, size)
		}
		if err != nil {
			t.fallbacks = append(t.fallbacks, TierStatus{tier, err})
			continue
		}
		t.tier, t.objs = tier, objs
		break
	}
	if t.objs == nil {
		last := t.fallbacks[len(t.fallbacks)-1].Err
		if cfg.tier != TierAuto {
			return nil, last
		}
		return nil, fmt.Errorf("no tracer tier loads; last: %w", last)
	}
	if err := t.start(cfg); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func ringSize(n int) uint32 {
	page := os.Getpagesize()
	if n < page {
		n = page
	}
	if n > 1<<30 {
		n = 1 << 30
	}
	return uint32(1) << bits.Len(uint(n-1))
}

// loadObjects loads the BPF collection configured for a tracepoint tier.
func loadObjects(tier Tier, host uint64, ringSize uint32) (*tracerObjects, error) {
	spec, err := loadTracer()
	if err != nil {
		return nil, err
	}
	kernelPaths := uint32(0)
	if tier == TierTracepointKernelPath {
		kernelPaths = 1
	}
	if err := spec.Variables["host_mntns"].Set(host); err != nil {
		return nil, fmt.Errorf("setting host_mntns: %w", err)
	}
	if err := spec.Variables["kernel_paths"].Set(kernelPaths); err != nil {
		return nil, fmt.Errorf("setting kernel_paths: %w", err)
	}
	spec.Maps["events"].MaxEntries = ringSize
	var objs tracerObjects
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%w: tier %s: the verifier rejected the programs: %v", ErrNotSupported, tier, err)
		}
		if errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("%w: tier %s: %v", ErrNotSupported, tier, err)
		}
		return nil, fmt.Errorf("loading tier %s: %w", tier, err)
	}
	return &objs, nil
}

func (t *Tracer) start(cfg config) error {
	for nr, s := range specTable {
		if s.kind == KindUnknown {
			continue
		}
		v := tracerSpec{
			Kind: uint8(s.kind), Special: s.special,
			DirfdArg: s.dirfd, PathArg: s.path, FlagsArg: s.flags,
			Dirfd2Arg: s.dirfd2, Path2Arg: s.path2,
		}
		if err := t.objs.SyscallSpecs.Update(uint32(nr), &v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("filling the syscall specs map: %w", err)
		}
	}
	rd, err := ringbuf.NewReader(t.objs.Events)
	if err != nil {
		return fmt.Errorf("opening the ring buffer: %w", err)
	}
	t.rd = rd
	t.col = newCollector(t.tier == TierTracepointUserPath, cfg.proc)
	go t.read()

	// Process lifecycle first, so that no syscall of a process is seen
	// before the exec that makes it tracked.
	for _, a := range []struct {
		name string
		prog *ebpf.Program
	}{
		{"sched_process_exec", t.objs.SchedExec},
		{"sched_process_fork", t.objs.SchedFork},
		{"sched_process_exit", t.objs.SchedExit},
		{"sys_exit", t.objs.SysExit},
		{"sys_enter", t.objs.SysEnter},
	} {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.name, Program: a.prog})
		if err != nil {
			return fmt.Errorf("attaching raw tracepoint %s: %w", a.name, err)
		}
		t.links = append(t.links, l)
	}
	return nil
}

func (t *Tracer) read() {
	// A panic here must not end the process before the run cleans up: it
	// goes to the process's panic handler, which cancels the run (Sync then
	// reports the stopped reader).
	defer panics.Catch(string(faults.RingReader), nil)
	defer close(t.done)
	defer t.col.close()
	_ = faults.At(faults.RingReader)
	var rec ringbuf.Record
	var r record
	for {
		if err := t.rd.ReadInto(&rec); err != nil {
			if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			if errors.Is(err, ringbuf.ErrFlushed) {
				continue
			}
			t.mu.Lock()
			t.readErr = err
			t.mu.Unlock()
			return
		}
		if ext := t.handler(rec.RawSample); ext != nil {
			if err := ext.Handle(rec.RawSample); err != nil {
				t.col.decodeError()
			}
			continue
		}
		if err := r.decode(rec.RawSample); err != nil {
			t.col.decodeError()
			continue
		}
		t.col.handle(&r)
	}
}

// Tier returns the file-observation tier in use.
func (t *Tracer) Tier() Tier { return t.tier }

// Fallbacks lists the better tiers that were tried and why they could not
// be used (TierAuto), in preference order.
func (t *Tracer) Fallbacks() []TierStatus { return slicesClone(t.fallbacks) }

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// Files returns the file accesses seen, deduplicated by (Path, Kind, Errno)
// and sorted by them. Before Bind it covers every non-host namespace seen.
// Call Sync first to include everything up to now.
func (t *Tracer) Files() []FileAccess { return t.col.files() }

// FilesSince returns, after Bind, the unique accesses first seen at or after
// cursor (0 to start), in first-seen order, and the next cursor: an
// append-only view for "what did this request newly touch" (Sync first).
func (t *Tracer) FilesSince(cursor int) ([]FileAccess, int) { return t.col.filesSince(cursor) }

// Syscalls returns the syscalls made by the bound containers' processes,
// those unbound since included (before the first Bind: by any tracked
// process), sorted by number.
func (t *Tracer) Syscalls() []Syscall {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return slicesClone(t.finalSyscalls)
	}
	return syscallsFromBits(t.syscallWords())
}

// syscallWords ORs the syscall bits of the followed namespaces (every one
// before the first Bind, the bound ones after) with those accumulated from
// namespaces unbound since. Called with t.mu held.
func (t *Tracer) syscallWords() []uint64 {
	words := make([]uint64, nrSyscalls/64)
	copy(words, t.sysAcc)
	var key uint64
	var v tracerSysbits
	it := t.objs.Sysbits.Iterate()
	for it.Next(&key, &v) {
		if _, ok := t.bound[key]; t.everBound && !ok {
			continue
		}
		for i := range words {
			words[i] |= v.W[i]
		}
	}
	return words
}

// BPF counter indexes (enum counter).
const (
	cDrops = iota
	cInflightFull
	cReadFail
	cTrackedFull
	cWalkTrunc
)

// Stats returns the counters so far.
func (t *Tracer) Stats() Stats {
	var s Stats
	t.mu.Lock()
	if t.closed {
		s = t.finalStats
	} else {
		t.kernelCounters(&s)
	}
	t.mu.Unlock()
	s.Events, s.DecodeErrors, s.Unresolved, s.Truncated, s.Files = t.col.counters()
	return s
}

func (t *Tracer) kernelCounters(s *Stats) {
	sum := func(idx uint32) uint64 {
		var per []uint64
		if err := t.objs.Counters.Lookup(idx, &per); err != nil {
			return 0
		}
		var n uint64
		for _, v := range per {
			n += v
		}
		return n
	}
	s.Lost = sum(cDrops)
	s.InflightOverflow = sum(cInflightFull)
	s.PathReadErrors = sum(cReadFail)
	s.TrackedOverflow = sum(cTrackedFull)
}

// Sync returns once every record the kernel queued before the call has been
// read and applied: the flush point between "request answered" and "what
// did it touch". It writes a marker into the ring buffer and waits for it.
func (t *Tracer) Sync(ctx context.Context) error {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return errors.New("tracer sync: closed")
	}
	seq := t.syncSeq.Add(1)
	for {
		if _, err := t.objs.SyncMarker.Run(&ebpf.RunOptions{Context: []uint64{seq}}); err != nil {
			return fmt.Errorf("tracer sync: writing the marker: %w", err)
		}
		// The marker can be dropped when the ring buffer is full: retry.
		retry := time.NewTimer(200 * time.Millisecond)
		for {
			last, next, done := t.col.syncState()
			if last >= seq {
				retry.Stop()
				return nil
			}
			if done {
				retry.Stop()
				t.mu.Lock()
				err := t.readErr
				t.mu.Unlock()
				if err != nil {
					return fmt.Errorf("tracer sync: reading the ring buffer failed: %w", err)
				}
				return errors.New("tracer sync: reader stopped")
			}
			select {
			case <-next:
				continue
			case <-ctx.Done():
				retry.Stop()
				return fmt.Errorf("tracer sync: %w", ctx.Err())
			case <-retry.C:
			}
			break
		}
	}
}

// Close detaches and unloads everything; no BPF link, program or map of the
// tracer is left in the kernel. Files, Syscalls' last answer and Stats'
// user-space counters remain readable.
func (t *Tracer) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	if t.objs != nil {
		t.finalSyscalls = syscallsFromBits(t.syscallWords())
		t.kernelCounters(&t.finalStats)
	}
	t.closed = true
	exts := t.ext
	t.mu.Unlock()
	var errs []error
	for _, ext := range exts {
		if err := ext.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range t.links {
		if err := l.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detaching: %w", err))
		}
	}
	t.links = nil
	if t.rd != nil {
		if err := t.rd.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the ring buffer reader: %w", err))
		}
		<-t.done
	}
	if t.objs != nil {
		if err := t.objs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("unloading: %w", err))
		}
	}
	return errors.Join(errs...)
}

// InContainerRoot says how container files are opened and resolved on this
// kernel: nil with openat2(RESOLVE_IN_ROOT); otherwise why not, and they
// are walked one component at a time from the pinned root instead (as
// safe, slower). Either way no path leads out of the container's root.
func InContainerRoot() error { return procfs.InRoot() }
