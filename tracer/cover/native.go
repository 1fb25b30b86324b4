package cover

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/tracer/elfsym"
)

// ProbeProblem is a function that is not probed, and why: it failed the
// instruction-start checks (never attached), or the kernel refused its
// probe (found by bisecting a refused chunk).
type ProbeProblem struct {
	Function Function
	Refused  bool // by the kernel (else: rejected by the checks)
	Reason   string
}

// nativeCover is the function-entry probing of one ELF binary.
type nativeCover struct {
	tg    *target
	table *elfsym.Table
	funcs []elfsym.Func   // in scope and validated; index = unit index
	scope elfsym.AppScope // the default scope of a Go binary, when it applies
	ex    *link.Executable

	mu       sync.Mutex // guards the fields below
	prog     *ebpf.Program
	multi    bool // uprobe_multi links; else a classic uprobe per function
	chunks   []*probeChunk
	problems []ProbeProblem
	pruned   int
	disabled bool
}

// probeChunk is one uprobe_multi link and the units it probes, or (without
// uprobe_multi) one classic uprobe and its single unit.
type probeChunk struct {
	idx []int
	l   link.Link
}

// newNativeCover reads the binary's functions, selects the in-scope ones and
// validates their entries.
func newNativeCover(tg *target, cfg config) (*nativeCover, error) {
	bin, err := elfsym.NewBinary(tg.file)
	if err != nil {
		return nil, fmt.Errorf("cover: reading %s: %w", tg.inside, err)
	}
	table, err := bin.Functions()
	if err != nil {
		return nil, fmt.Errorf("cover: %s: %w", tg.inside, err)
	}
	n := &nativeCover{tg: tg, table: table}
	scope := elfsym.Scope{Packages: cfg.packages, Symbols: cfg.symbols, Exclude: cfg.exclude}
	if len(cfg.packages)+len(cfg.symbols) == 0 && bin.IsGo() {
		n.scope = elfsym.GoAppScope(bin.GoMainPath, bin.GoPath, table.Funcs)
		scope.Packages, scope.Exclude = n.scope.Packages, append(scope.Exclude, n.scope.Exclude...)
	}
	for _, f := range table.Funcs {
		if !scope.Match(f) {
			continue
		}
		if err := bin.CheckEntry(f); err != nil {
			n.problems = append(n.problems, ProbeProblem{Function: Function{Name: f.Name, Package: f.Package}, Reason: err.Error()})
			continue
		}
		n.funcs = append(n.funcs, f)
	}
	if len(n.funcs) == 0 {
		return nil, fmt.Errorf("cover: %s: no function in scope (%d functions from %s, %d rejected)", tg.inside, len(table.Funcs), table.Source, len(n.problems))
	}
	if n.ex, err = tg.executable(); err != nil {
		return nil, fmt.Errorf("cover: %w", err)
	}
	return n, nil
}

// attachNative probes every unit, in chunks.
func (c *Coverage) attachNative(ctx context.Context, set *coverSet) error {
	n := c.nat
	n.mu.Lock()
	defer n.mu.Unlock()
	n.prog, n.multi = set.entry, set.multi
	all := make([]int, len(n.funcs))
	for i := range all {
		all[i] = i
	}
	return c.attachLocked(ctx, all)
}

// attachLocked attaches idx in chunks, bisecting chunks the kernel refuses.
// Called with n.mu held.
func (c *Coverage) attachLocked(ctx context.Context, idx []int) error {
	for len(idx) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(len(idx), c.cfg.chunk)
		if err := c.attachBisect(idx[:k]); err != nil {
			return err
		}
		idx = idx[k:]
	}
	return nil
}

// attachBisect attaches one chunk; when the kernel refuses it, each half is
// tried, down to the single function, which is then reported as refused.
// Errors that are not about addresses (no support, no permission) abort.
func (c *Coverage) attachBisect(idx []int) error {
	n := c.nat
	if !n.multi {
		return c.attachEach(idx)
	}
	offs := make([]uint64, len(idx))
	cookies := make([]uint64, len(idx))
	for i, u := range idx {
		offs[i] = n.funcs[u].Offset
		cookies[i] = uint64(c.base) + uint64(u)
	}
	l, err := n.ex.UprobeMulti(nil, n.prog, &link.UprobeMultiOptions{Addresses: offs, Cookies: cookies})
	if err == nil {
		n.chunks = append(n.chunks, &probeChunk{idx: idx, l: l})
		return nil
	}
	if attachAborts(err) {
		return fmt.Errorf("cover: attaching uprobes to %s: %w", c.binary, err)
	}
	if len(idx) == 1 {
		f := n.funcs[idx[0]]
		n.problems = append(n.problems, ProbeProblem{Function: Function{Name: f.Name, Package: f.Package}, Refused: true,
			Reason: fmt.Sprintf("the kernel refused a uprobe at file offset %#x: %v", f.Offset, err)})
		return nil
	}
	h := len(idx) / 2
	if err := c.attachBisect(idx[:h]); err != nil {
		return err
	}
	return c.attachBisect(idx[h:])
}

// attachAborts reports whether an attach error is about the kernel or the
// file (no support, no permission, gone) rather than one address: then no
// other address will do better.
func attachAborts(err error) bool {
	return errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, syscall.EPERM) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.EBADF)
}

// attachEach attaches one classic uprobe per unit, for kernels without
// uprobe_multi; each is its own chunk, so pruning only closes links.
func (c *Coverage) attachEach(idx []int) error {
	n := c.nat
	for _, u := range idx {
		f := n.funcs[u]
		l, err := n.ex.Uprobe("", n.prog, &link.UprobeOptions{Address: f.Offset, Cookie: uint64(c.base) + uint64(u)})
		switch {
		case err == nil:
			n.chunks = append(n.chunks, &probeChunk{idx: []int{u}, l: l})
		case attachAborts(err):
			return fmt.Errorf("cover: attaching uprobes to %s: %w", c.binary, err)
		default:
			n.problems = append(n.problems, ProbeProblem{Function: Function{Name: f.Name, Package: f.Package}, Refused: true,
				Reason: fmt.Sprintf("the kernel refused a uprobe at file offset %#x: %v", f.Offset, err)})
		}
	}
	return nil
}

// Prune removes the probes of functions already hit (UnTracer's
// coverage-guided tracing): it syncs the tracer, picks up first hits whose
// records were lost, and rebuilds every chunk holding a hit function without
// it (the new link is attached before the old one is closed). It returns
// how many probes were removed.
func (c *Coverage) Prune(ctx context.Context) (int, error) {
	if c.nat == nil {
		return 0, nil
	}
	if err := c.tr.Sync(ctx); err != nil {
		return 0, err
	}
	c.reconcile()
	n := c.nat
	n.mu.Lock()
	if n.disabled {
		n.mu.Unlock()
		return 0, nil
	}
	c.mu.Lock()
	hit := append([]bool(nil), c.hit...)
	c.mu.Unlock()
	removed := 0
	var keep []*probeChunk
	var old []link.Link
	var errs []error
	chunks := n.chunks
	n.chunks = nil
	for _, ch := range chunks {
		var rest []int
		for _, u := range ch.idx {
			if !hit[u] {
				rest = append(rest, u)
			}
		}
		if len(rest) == len(ch.idx) {
			keep = append(keep, ch)
			continue
		}
		if len(rest) > 0 {
			if err := c.attachBisect(rest); err != nil {
				errs = append(errs, err)
				keep = append(keep, ch) // keep the old probes rather than lose coverage
				continue
			}
		}
		old = append(old, ch.l)
		removed += len(ch.idx) - len(rest)
	}
	n.chunks = append(keep, n.chunks...)
	n.pruned += removed
	n.mu.Unlock()
	// Detached without the lock: classic uprobes take ~0.1 s each to go, and
	// Stats must not wait for them.
	if err := closeLinks(old); err != nil {
		errs = append(errs, fmt.Errorf("cover: detaching pruned probes: %w", err))
	}
	return removed, errors.Join(errs...)
}

// reconcile marks the hits the BPF array holds that no record reported (the
// ring buffer was full). Call after a Sync.
func (c *Coverage) reconcile() {
	set := c.set
	if c.nat == nil {
		return
	}
	// One u64 per function (array elements are 8-byte aligned anyway).
	buf := make([]byte, 8*len(c.nat.funcs))
	set.mu.Lock()
	if set.hits == nil {
		set.mu.Unlock()
		return
	}
	copy(buf, set.hits[8*int(c.base):])
	set.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.nat.funcs {
		if binary.LittleEndian.Uint64(buf[8*i:]) != 0 && c.markHit(i) {
			c.lost++
		}
	}
}

// pruneLoop prunes in the background while there are hit functions probed.
func (c *Coverage) pruneLoop() {
	defer close(c.done)
	if c.cfg.pruneEvery <= 0 {
		<-c.stop
		return
	}
	tick := time.NewTicker(c.cfg.pruneEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if !c.needsPrune() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, _ = c.Prune(ctx) // failures keep the old probes; Stats shows them
		cancel()
	}
}

// needsPrune reports whether a hit function is still probed.
func (c *Coverage) needsPrune() bool {
	n := c.nat
	n.mu.Lock() // lock order: n.mu, then c.mu
	defer n.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if n.disabled || c.ledger.Len() == 0 {
		return false
	}
	for _, ch := range n.chunks {
		for _, u := range ch.idx {
			if c.hit[u] {
				return true
			}
		}
	}
	return false
}

// probed counts the functions currently probed.
func (n *nativeCover) probed() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for _, ch := range n.chunks {
		k += len(ch.idx)
	}
	return k
}

// enableNative detaches every probe (false) or re-attaches the functions
// not hit yet (true).
func (c *Coverage) enableNative(ctx context.Context, on bool) error {
	n := c.nat
	n.mu.Lock()
	defer n.mu.Unlock()
	if on == !n.disabled {
		return nil
	}
	if !on {
		n.disabled = true
		return n.detachLocked()
	}
	c.mu.Lock()
	var rest []int
	for i, h := range c.hit {
		if !h {
			rest = append(rest, i)
		}
	}
	c.mu.Unlock()
	n.disabled = false
	return c.attachLocked(ctx, rest)
}

func (n *nativeCover) detachLocked() error {
	links := make([]link.Link, len(n.chunks))
	for i, ch := range n.chunks {
		links[i] = ch.l
	}
	n.chunks = nil
	return closeLinks(links)
}

// closeLinks closes links concurrently: detaching a classic uprobe waits
// for an RCU grace period (~0.1 s here), and concurrent detaches share them.
func closeLinks(links []link.Link) error {
	const workers = 32
	errs := make([]error, len(links))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, len(links)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = closeLink(links[i])
			}
		}()
	}
	for i := range links {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// closeLink closes one link; a panic doing so becomes its error, so that
// the other workers go on and the caller gets it.
func closeLink(l link.Link) (err error) {
	defer panics.Catch("tracer: closing probes", func(p *panics.Panic) { err = p })
	return l.Close()
}

func (n *nativeCover) close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.disabled = true
	err := n.detachLocked()
	n.tg.close()
	return err
}
