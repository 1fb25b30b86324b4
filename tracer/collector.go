package tracer

import (
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// collector turns decoded records into deduplicated file accesses, per mount
// namespace until the first Bind, then merged over the bound namespaces (the
// view); records of namespaces never bound are dropped unless armed (see
// bind.go). It also turns coverage records into their sets (cover*.go).
// For the user-space tier
// it also keeps a shadow of each process's working directory and open file
// descriptors, so that relative paths resolve as they did at event time even
// when the process is gone by the time its records are read.
type collector struct {
	mu        sync.Mutex
	userPaths bool // TierTracepointUserPath: resolve bases here, not in BPF
	proc      procfs.FS

	bound     map[uint64]uint32 // bound mount namespaces -> the pid bound by (0: by inode)
	filter    bool              // drop records of namespaces outside bound
	everBound bool              // Bind was called: Files() is the view
	view      fileSet           // merged accesses of every namespace bound so far

	buckets map[uint64]*bucket
	heads   heads
	procs   map[uint32]*procState // user-space tier shadow, by tgid

	events, decodeErrors, unresolved, truncated uint64

	lastSync   uint64
	syncNotify chan struct{} // closed and replaced at every sync record
	closed     bool
}

type fileKey struct {
	path  string
	kind  Kind
	errno int
}

type bucket struct {
	ns       uint64
	set      fileSet             // accesses while the namespace was not bound
	tgids    map[uint32]struct{} // live tracked processes, to find a root
	rootPid  uint32              // last pid whose /proc/PID/root served
	root     *procfs.Root        // the container root, pinned (see pinRoot)
	resolved map[string]string   // Root.Resolve cache
	interps  map[string]string   // executable Path -> PT_INTERP ("" none)
}

type procState struct {
	mntns  uint64
	cwd    string           // working directory, "" when unknown
	cwdRaw bool             // cwd not symlink-resolved yet (set before the first exec)
	fds    map[int32]string // paths of successful opens, as joined (not resolved)
}

const maxResolveCache = 4096

func newCollector(userPaths bool, proc procfs.FS) *collector {
	return &collector{
		userPaths:  userPaths,
		proc:       proc,
		buckets:    map[uint64]*bucket{},
		bound:      map[uint64]uint32{},
		procs:      map[uint32]*procState{},
		syncNotify: make(chan struct{}),
	}
}

func (c *collector) bucket(mntns uint64) *bucket {
	b := c.buckets[mntns]
	if b == nil {
		b = &bucket{
			ns:       mntns,
			tgids:    map[uint32]struct{}{},
			resolved: map[string]string{},
			interps:  map[string]string{},
		}
		c.buckets[mntns] = b
	}
	return b
}

func (c *collector) decodeError() {
	c.mu.Lock()
	c.events++
	c.decodeErrors++
	c.mu.Unlock()
}

func (c *collector) handle(r *record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	if r.typ == evSync {
		if r.seq > c.lastSync {
			c.lastSync = r.seq
		}
		close(c.syncNotify)
		c.syncNotify = make(chan struct{})
		return
	}
	if _, ok := c.bound[r.mntns]; c.filter && !ok {
		return // queued before Bind narrowed the BPF filter
	}
	switch r.typ {
	case evFork:
		c.fork(r)
	case evExit:
		c.exit(r)
	case evExec:
		c.exec(r)
	case evFile:
		c.file(r)
	case evHead:
		c.head(r)
	}
}

// procFor returns the shadow state of r's process (user-space tier only).
func (c *collector) procFor(r *record) *procState {
	if !c.userPaths {
		return nil
	}
	p := c.procs[r.tgid]
	if p == nil {
		p = &procState{mntns: r.mntns, fds: map[int32]string{}}
		c.procs[r.tgid] = p
	}
	return p
}

func (c *collector) fork(r *record) {
	c.bucket(r.mntns).tgids[r.child] = struct{}{}
	if !c.userPaths {
		return
	}
	child := &procState{mntns: r.mntns, fds: map[int32]string{}}
	if p := c.procs[r.tgid]; p != nil {
		child.cwd, child.cwdRaw = p.cwd, p.cwdRaw
		for fd, s := range p.fds {
			child.fds[fd] = s
		}
	}
	c.procs[r.child] = child
}

func (c *collector) exit(r *record) {
	b := c.bucket(r.mntns)
	delete(b.tgids, r.tgid)
	delete(c.procs, r.tgid)
	if _, ok := c.bound[r.mntns]; !ok && len(b.tgids) == 0 {
		// An unbound container is gone: do not keep its mount alive, and
		// forget what it did. The kernel hands its namespace inode to the
		// next namespace made, maybe the container about to be bound, which
		// must not inherit another container's files (a build's RUN step
		// beside a traced start).
		b.unpinRoot()
		delete(c.buckets, r.mntns)
	}
}

func (c *collector) exec(r *record) {
	b := c.bucket(r.mntns)
	b.tgids[r.tgid] = struct{}{}
	p := c.procFor(r)
	fa := FileAccess{Requested: r.path, Kind: KindExec, Pid: r.pid, Tgid: r.tgid, Comm: r.comm}
	if r.flags&fBaseTrunc != 0 {
		c.truncated++
	}
	if r.flags&fExecFD != 0 {
		// execveat through a descriptor: report the executed file itself.
		switch {
		case !c.userPaths && r.flags&fBase != 0:
			fa.Path = path.Clean(r.base)
		default:
			if exe, ok := c.proc.Exe(r.tgid); ok {
				fa.Path = exe
			} else {
				c.unresolved++
				return
			}
		}
	} else {
		fa.Path = c.resolve(r, p, r.path, atFDCWD)
	}
	c.add(b, fa)
	if interp := c.elfInterp(b, r, fa.Path); interp != "" {
		fa.Requested, fa.Path = interp, joinPath("/", interp)
		c.add(b, fa)
	}
}

// elfInterp returns the PT_INTERP of the executable at Path exe inside r's
// container, cached per namespace.
func (c *collector) elfInterp(b *bucket, r *record, exe string) string {
	if s, ok := b.interps[exe]; ok {
		return s
	}
	root, ok := c.rootFor(b, r)
	if !ok {
		return ""
	}
	s := readInterp(root, exe)
	if len(b.interps) >= maxResolveCache {
		clear(b.interps)
	}
	b.interps[exe] = s
	return s
}

func (c *collector) file(r *record) {
	spec, ok := specFor(int(r.nr))
	if !ok {
		return
	}
	if r.flags&fBaseTrunc != 0 {
		c.truncated++
	}
	tracked := r.flags&fTracked != 0
	p := c.procFor(r)
	errno := r.errno()
	if errno >= errRestartMin && errno <= errRestartMax {
		return // interrupted by a signal: the kernel restarts the call, seen again
	}
	fa := FileAccess{Requested: r.path, Kind: spec.kind, Errno: errno, Pid: r.pid, Tgid: r.tgid, Comm: r.comm}

	switch spec.special {
	case spMmap:
		fa.Path = c.fdPath(r, p, r.dirfd)
		if fa.Path == "" {
			c.unresolved++
			return
		}
	case spFchdir:
		if errno == 0 && p != nil {
			if d := c.fdPath(r, p, r.dirfd); d != "" {
				p.cwd, p.cwdRaw = d, false
			}
		}
		return // moves the cwd, looks nothing up
	case spChdir:
		fa.Path = c.chdirPath(r, p, errno)
	default:
		fa.Path = c.resolve(r, p, r.path, r.dirfd)
		if spec.kind == KindOpen && openFlags(r)&oDirectory != 0 {
			fa.Kind = KindOpenDir
		}
		if p != nil && spec.kind == KindOpen && errno == 0 && r.ret >= 0 {
			p.fds[int32(r.ret)] = fa.Path
		}
	}
	if !tracked && spec.kind != KindExec {
		// runc init before its exec: only its cwd mattered (shadow above).
		// A failed exec of the entrypoint is kept: the image lacks it.
		return
	}
	c.add(c.bucket(r.mntns), fa)
}

const oDirectory = 0o200000

// Kernel-internal restart codes (ERESTARTSYS 512 ... ERESTART_RESTARTBLOCK
// 516, and the NFS/BPF ones up to 530): sys_exit sees them before the call
// is restarted or turned into EINTR.
const (
	errRestartMin = 512
	errRestartMax = 530
)

func openFlags(r *record) uint64 {
	if r.nr == nrCreat {
		return 0o1101 // O_CREAT|O_WRONLY|O_TRUNC
	}
	return r.aux
}

// chdirPath gives the Path of a chdir and, on success, moves the shadow cwd.
// An absolute argument is cleaned; a relative one that succeeded is reported
// as the new (resolved) working directory, because by sys_exit the kernel's
// cwd has already moved; a failed relative one is joined to the old cwd.
func (c *collector) chdirPath(r *record, p *procState, errno int) string {
	var out string
	switch {
	case strings.HasPrefix(r.path, "/"):
		out = path.Clean(r.path)
	case !c.userPaths && r.flags&fBase != 0:
		if errno == 0 {
			out = path.Clean(r.base)
		} else {
			out = joinPath(r.base, r.path)
		}
	default:
		old := c.cwdOf(r, p)
		out = joinPath(old, r.path)
		if errno == 0 {
			out = c.resolveRoot(r, out)
		}
	}
	if errno == 0 && p != nil {
		// Before its exec, runc init may not have pivoted into the
		// container's root yet: keep its chdir lexical, resolve on first use.
		p.cwd, p.cwdRaw = out, true
		if r.flags&fTracked != 0 {
			p.cwd, p.cwdRaw = c.resolveRoot(r, out), false
		}
	}
	return out
}

// resolve makes the Path of a requested path used relative to dirfd.
func (c *collector) resolve(r *record, p *procState, requested string, dirfd int32) string {
	if strings.HasPrefix(requested, "/") {
		return path.Clean(requested)
	}
	if !c.userPaths && r.flags&fBase != 0 {
		return joinPath(r.base, requested)
	}
	// User-space tier, or the kernel could not find the base (bad fd):
	// fall back to the shadow state and /proc.
	var base string
	if dirfd == atFDCWD {
		base = c.cwdOf(r, p)
	} else {
		base = c.fdPath(r, p, dirfd)
	}
	if base == "" {
		c.unresolved++
		base = "/"
	}
	return joinPath(base, requested)
}

func (c *collector) cwdOf(r *record, p *procState) string {
	if p != nil && p.cwd != "" {
		if p.cwdRaw && r.flags&fTracked != 0 {
			p.cwd, p.cwdRaw = c.resolveRoot(r, p.cwd), false
		}
		return p.cwd
	}
	cwd, ok := c.proc.Cwd(r.tgid)
	if !ok {
		return ""
	}
	if p != nil {
		p.cwd = cwd
	}
	return cwd
}

// fdPath returns the resolved path of a process's file descriptor.
func (c *collector) fdPath(r *record, p *procState, fd int32) string {
	if !c.userPaths && r.flags&fBase != 0 {
		return path.Clean(r.base)
	}
	if p != nil {
		if s, ok := p.fds[fd]; ok {
			return c.resolveRoot(r, s)
		}
	}
	s, _ := c.proc.FD(r.tgid, fd)
	return s
}

// resolveRoot resolves symlinks of p inside r's container root; without a
// live process of that mount namespace p is returned as is.
func (c *collector) resolveRoot(r *record, p string) string {
	b := c.bucket(r.mntns)
	if s, ok := b.resolved[p]; ok {
		return s
	}
	root, ok := c.rootFor(b, r)
	if !ok {
		return p
	}
	s := root.Resolve(p)
	if len(b.resolved) >= maxResolveCache {
		clear(b.resolved)
	}
	b.resolved[p] = s
	return s
}

// rootFor returns r's container root. The first live process found pins
// it (pinRoot), so later lookups work even after every process of the
// container has exited: the user-space tier may read the records of a
// short-lived container only after it is gone.
func (c *collector) rootFor(b *bucket, r *record) (*procfs.Root, bool) {
	if b.root != nil {
		return b.root, true
	}
	if r.flags&fTracked == 0 {
		return nil, false // runc init before its exec: maybe still in the host's root
	}
	try := func(pid uint32) bool {
		if pid == 0 {
			return false
		}
		ns, err := c.proc.Mntns(pid)
		return err == nil && ns == r.mntns && b.pinRoot(c.proc.Root(pid))
	}
	cands := []uint32{r.tgid, b.rootPid}
	if pid := c.bound[r.mntns]; pid != 0 {
		cands = append(cands, pid)
	}
	for _, pid := range cands {
		if try(pid) {
			b.rootPid = pid
			return b.root, true
		}
	}
	n := 0
	for pid := range b.tgids {
		if n++; n > 8 {
			break
		}
		if try(pid) {
			b.rootPid = pid
			return b.root, true
		}
	}
	return nil, false
}

// pinRoot opens a container root (/proc/PID/root): the open directory keeps
// the root mount reachable whatever happens to PID, and paths resolve
// inside it (procfs.Root).
func (b *bucket) pinRoot(dir string) bool {
	root, err := procfs.OpenRoot(dir)
	if err != nil {
		return false
	}
	b.unpinRoot()
	b.root = root
	return true
}

func (b *bucket) unpinRoot() {
	if b.root != nil {
		b.root.Close()
		b.root = nil
	}
}

// add records an access in the view when its namespace is bound, else in
// the namespace's own bucket.
func (c *collector) add(b *bucket, fa FileAccess) {
	if _, ok := c.bound[b.ns]; ok {
		c.view.add(fa)
		return
	}
	b.set.add(fa)
}

// files returns the deduplicated accesses, sorted by (Path, Kind, Errno).
// Before Bind it merges every namespace seen.
func (c *collector) files() []FileAccess {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []FileAccess
	if c.everBound {
		out = make([]FileAccess, 0, len(c.view.order))
		for _, e := range c.view.order {
			out = append(out, *e)
		}
	} else {
		out = merge(c.buckets)
	}
	sortFiles(out)
	return out
}

func merge(buckets map[uint64]*bucket) []FileAccess {
	merged := map[fileKey]int{}
	var out []FileAccess
	for _, b := range buckets {
		for _, e := range b.set.order {
			k := fileKey{e.Path, e.Kind, e.Errno}
			if i, ok := merged[k]; ok {
				out[i].Count += e.Count
				continue
			}
			merged[k] = len(out)
			out = append(out, *e)
		}
	}
	return out
}

func sortFiles(fs []FileAccess) {
	slices.SortFunc(fs, func(a, b FileAccess) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return a.Errno - b.Errno
	})
}

// filesSince returns the accesses of the bound namespaces first seen at or
// after cursor, in first-seen order, and the cursor to pass next time.
func (c *collector) filesSince(cursor int) ([]FileAccess, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.view.order)
	if !c.everBound {
		return nil, cursor
	}
	if cursor >= n {
		return nil, n
	}
	cursor = max(cursor, 0)
	out := make([]FileAccess, 0, n-cursor)
	for _, e := range c.view.order[cursor:] {
		out = append(out, *e)
	}
	return out, n
}

func (c *collector) counters() (events, decodeErrors, unresolved, truncated uint64, files int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.everBound {
		files = len(c.view.order)
	} else {
		seen := map[fileKey]bool{}
		for _, b := range c.buckets {
			for k := range b.set.files {
				seen[k] = true
			}
		}
		files = len(seen)
	}
	return c.events, c.decodeErrors, c.unresolved, c.truncated, files
}

// syncState returns the last sync marker seen and a channel closed at the next.
func (c *collector) syncState() (uint64, <-chan struct{}, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSync, c.syncNotify, c.closed
}

func (c *collector) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		for _, b := range c.buckets {
			b.unpinRoot()
		}
		close(c.syncNotify)
		c.syncNotify = make(chan struct{})
	}
}
