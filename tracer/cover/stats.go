package cover

import (
	"context"
	"fmt"
	"slices"

	"github.com/whittle-dev/whittle/tracer/elfsym"
)

// Stats are a Source's counters, for reports.
type Stats struct {
	Kind Kind
	// Mechanism says in a few words how the units are measured, for people:
	// "uprobes on function entries", "python:line USDT probe", "V8 precise
	// coverage through the inspector".
	Mechanism string
	// Inactive says why nothing is measured right now although the source
	// exists (no process reachable yet, probe switched off); "" when active.
	Inactive string
	// Costly: measuring costs much per request while enabled (a trap per
	// Python line; an inspector round trip per node process), so callers
	// switch it on for part of the time only (Enable), and skip what a
	// Sync right after switching on reports (what ran while off, if the
	// runtime kept counting).
	Costly bool
	// Processes counts the processes measured right now where the
	// mechanism works per process (V8 isolates, JVMs); 0 otherwise.
	Processes int
	// ScopeFiles are the source files whose functions form the scope
	// (interpreted runtimes), and ScopeFrom how they were found ("the
	// gunicorn application module pets.app in /usr/lib/python3/dist-packages").
	ScopeFiles []string
	ScopeFrom  string
	Binary     string // the covered file inside the container
	// Source is where the units come from: "symtab" or "gopclntab" (native,
	// with TextStartFrom saying how the Go text start was established), or
	// "usdt python:line in FILE".
	Source        string
	TextStartFrom string
	// Attach is "uprobe_multi", or "uprobe per address" on kernels without
	// it (NoMulti says why): slower to attach and prune, same coverage.
	Attach     string
	NoMulti    error
	Total      int    // units that can be hit (functions)
	Hit        int    // functions hit
	Units      int    // units hit (Python: lines; native: = Hit)
	Probed     int    // functions currently probed (native)
	Pruned     int    // probes removed after their function's first hit
	Rejected   int    // functions that failed the instruction-start checks
	Refused    int    // functions whose probe the kernel refused
	Lost       uint64 // native first hits found in the hit array without a record
	OutOfScope uint64 // Python lines executed outside the scope
	Enabled    bool
	// Scope is the default scope of a Go binary and how it was derived
	// (zero when patterns chose the functions, or for other binaries).
	Scope elfsym.AppScope
}

// Stats returns the coverage's counters.
func (c *Coverage) Stats() Stats {
	s := Stats{Kind: c.kind, Binary: c.binary, Total: c.Total(), Hit: len(c.Hit()), Attach: c.attach, NoMulti: c.noMulti}
	s.Mechanism = "uprobes on function entries"
	c.mu.Lock()
	s.Units, s.Lost = c.ledger.Len(), c.lost
	if c.py != nil {
		s.OutOfScope = c.py.outOfScope
	}
	c.mu.Unlock()
	if n := c.nat; n != nil {
		s.Source, s.TextStartFrom, s.Scope = string(n.table.Source), n.table.TextStartFrom, n.scope
		s.Probed = n.probed()
		n.mu.Lock()
		s.Pruned, s.Enabled = n.pruned, !n.disabled
		for _, p := range n.problems {
			if p.Refused {
				s.Refused++
			} else {
				s.Rejected++
			}
		}
		n.mu.Unlock()
	}
	if p := c.py; p != nil {
		s.Source = fmt.Sprintf("usdt python:line in %s", p.probes)
		s.Mechanism, s.Costly = "python:line USDT probe", true
		s.ScopeFrom, s.ScopeFiles = p.scopeFrom, slices.Clone(p.scopeFiles)
		s.Enabled = p.isEnabled()
		if s.Enabled {
			s.Probed = len(p.sites)
		}
	}
	return s
}

// Problems lists the in-scope functions that are not probed and why.
func (c *Coverage) Problems() []ProbeProblem {
	if c.nat == nil {
		return nil
	}
	c.nat.mu.Lock()
	defer c.nat.mu.Unlock()
	return slices.Clone(c.nat.problems)
}

// Enable switches probing on or off. Python: attaching the line probe
// raises the interpreter's semaphore (every line traps: slow), detaching
// lowers it (full speed); switch it on for the requests whose coverage
// matters. Native: off detaches every probe, on re-attaches the functions
// not hit yet.
func (c *Coverage) Enable(on bool) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("cover: closed")
	}
	if c.py != nil {
		return c.py.enable(on)
	}
	return c.enableNative(context.Background(), on)
}
