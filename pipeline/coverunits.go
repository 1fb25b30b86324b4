package pipeline

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/report/covdata"
	"github.com/whittle-dev/whittle/tracer/cover"
)

// unitEntry is one function being assembled, with what locates it in its
// file (V8's byte offsets) and the line-level hits of its units.
type unitEntry struct {
	covdata.Function
	start, end int // V8: the function's range in the file; 0, 0 otherwise
	lines      map[int]bool
}

// coverageByFunction assembles the function-by-function coverage of a
// run from its source's scope and hits: every function in scope, hit or
// not, when, whether at start-up, and by which operation's request
// (firstBy: unit → operation); Python lines and V8 blocks become the
// lines hit and missed inside their function. started is the run's start.
//
// A unit no request was credited with, first hit while a later container
// was starting (a restart, the spare), counts as start-up (starting):
// probes are attached once the first container is ready, so its start-up
// code is only ever seen in the containers started after it. That is for
// hits whose record does not tell their container (V8's counters, the hit
// array); the others' start-up was decided by container (Startup).
func coverageByFunction(st cover.Stats, scope []cover.Function, hits []cover.FirstHit, firstBy map[string]string, started time.Time, starting func(time.Time) bool) *covdata.Coverage {
	b := &unitBuilder{st: st, byKey: map[string]*unitEntry{}, byFile: map[string][]*unitEntry{}, starting: starting}
	var blocks []cover.Function
	for _, f := range scope {
		if f.Level == cover.LevelBlock {
			blocks = append(blocks, f)
			continue
		}
		b.entry(f)
	}
	blockHit := map[string]bool{}
	for _, h := range hits {
		switch h.Level {
		case cover.LevelFunction:
			b.mark(b.entry(h.Function), h, firstBy, started)
		case cover.LevelLine:
			e, own := b.lineOwner(h.Function)
			if e.lines == nil {
				e.lines = map[int]bool{}
			}
			e.lines[h.Line] = true
			if own {
				b.mark(e, h, firstBy, started)
			}
		case cover.LevelBlock:
			if !blockHit[h.Unit()] {
				blockHit[h.Unit()] = true
				blocks = append(blocks, h.Function)
			}
		}
	}
	b.paintRanges(blocks, blockHit)
	c := &covdata.Coverage{Kind: string(st.Kind), Started: started}
	for _, e := range b.all {
		f := e.Function
		if f.State == "" {
			f.State = covdata.Never
		}
		for l, hit := range e.lines {
			if hit {
				f.LinesHit = append(f.LinesHit, l)
			} else {
				f.LinesMissed = append(f.LinesMissed, l)
			}
		}
		sort.Ints(f.LinesHit)
		sort.Ints(f.LinesMissed)
		c.Functions = append(c.Functions, f)
	}
	c.Sort()
	c.Summarize()
	c.Bound(0)
	return c
}

type unitBuilder struct {
	st       cover.Stats
	starting func(time.Time) bool
	all      []*unitEntry
	byKey    map[string]*unitEntry
	byFile   map[string][]*unitEntry
}

// key identifies a function of the scope or the hits: its unit, except
// for functions an interpreter's scope lists by file and line (Python
// defs: their hits are lines; scripts no process loaded), which only
// their file, name and line tell apart.
func unitKey(f cover.Function) string {
	if f.Level == cover.LevelFunction && f.End == 0 && f.File != "" && (f.Package == "" || f.Package[0] == '/') {
		return f.File + "\x00" + f.Name + "\x00" + strconv.Itoa(f.Line)
	}
	return f.Unit()
}

// entry returns the function of f, adding it when new.
func (b *unitBuilder) entry(f cover.Function) *unitEntry {
	k := unitKey(f)
	if e := b.byKey[k]; e != nil {
		return e
	}
	e := &unitEntry{Function: covdata.Function{File: f.File, Line: f.Line, EndLine: f.EndLine, Name: f.Name,
		Package: covdata.PackageOf(f.Package, f.File, b.st.Binary), State: covdata.Never}, start: f.Start, end: f.End}
	if f.Level == cover.LevelLine {
		// A line of a function the scope did not list (a file that
		// appeared later): the function starts at the first line seen.
		e.Line = f.Line
	}
	b.byKey[k] = e
	b.all = append(b.all, e)
	if f.File != "" {
		b.byFile[f.File] = append(b.byFile[f.File], e)
	}
	return e
}

// lineOwner is the function a Python line belongs to: of those of its
// file with the line's code object name, the last starting at or before
// it (two methods of one name in a file are told apart so). A line of a
// comprehension or lambda belongs to the function around it, which it
// does not mark hit (own is false): that function ran its own lines.
func (b *unitBuilder) lineOwner(line cover.Function) (e *unitEntry, own bool) {
	var best, around *unitEntry
	for _, c := range b.byFile[line.File] {
		if c.Line > line.Line {
			continue
		}
		if c.Name == line.Name && (best == nil || c.Line > best.Line) {
			best = c
		}
		if c.Name != "<module>" && (around == nil || c.Line > around.Line) {
			around = c
		}
	}
	switch {
	case best != nil:
		return best, true
	case around != nil && len(line.Name) > 0 && line.Name[0] == '<':
		return around, false
	}
	return b.entry(cover.Function{Name: line.Name, Package: line.Package, File: line.File, Line: line.Line, Level: cover.LevelLine}), true
}

// mark records a function's first hit.
func (b *unitBuilder) mark(e *unitEntry, h cover.FirstHit, firstBy map[string]string, started time.Time) {
	if e.State != covdata.Never && e.State != "" {
		return
	}
	switch {
	case h.Startup:
		e.State = covdata.Startup
	case h.Background:
		e.State = covdata.Background
	default:
		e.State = covdata.Requests
		e.Operation = firstBy[h.Unit()]
		// A hit a record stamped (Mono) was told apart by its container
		// already (FirstHit.Startup): one that came while another
		// container started, the spare, is a request's all the same.
		if e.Operation == "" && h.Mono == 0 && b.starting != nil && b.starting(h.At) {
			e.State = covdata.Startup
		}
	}
	e.FirstHit = max(0, h.At.Sub(started))
}

// paintRanges gives functions located by byte ranges (V8) their lines:
// per file, every function and known block paints its lines hit or
// missed, the larger first, so the innermost range decides a line; a
// block that was not hit paints only its inner lines (its first and last
// share code with what surrounds it). Each line then belongs to the
// innermost function holding it.
func (b *unitBuilder) paintRanges(blocks []cover.Function, blockHit map[string]bool) {
	type paint struct {
		start, end         int
		first, last        int
		hit, inner, isFunc bool
		e                  *unitEntry
	}
	for file, entries := range b.byFile {
		var ps []paint
		for _, e := range entries {
			if e.end > 0 && e.Line > 0 && e.EndLine >= e.Line {
				ps = append(ps, paint{start: e.start, end: e.end, first: e.Line, last: e.EndLine, hit: e.State.Hit(), isFunc: true, e: e})
			}
		}
		if len(ps) == 0 {
			continue
		}
		for _, bl := range blocks {
			if bl.File == file && bl.Line > 0 && bl.EndLine >= bl.Line {
				hit := blockHit[bl.Unit()]
				ps = append(ps, paint{start: bl.Start, end: bl.End, first: bl.Line, last: bl.EndLine, hit: hit, inner: !hit})
			}
		}
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].end-ps[i].start > ps[j].end-ps[j].start })
		state := map[int]bool{}
		owner := map[int]*unitEntry{}
		for _, p := range ps {
			from, to := p.first, p.last
			if p.inner {
				from, to = from+1, to-1
			}
			for l := from; l <= to; l++ {
				state[l] = p.hit
				if p.isFunc {
					owner[l] = p.e
				}
			}
		}
		for l, hit := range state {
			e := owner[l]
			if e == nil {
				continue
			}
			if e.lines == nil {
				e.lines = map[int]bool{}
			}
			e.lines[l] = hit
		}
	}
}

// startLog records when traced containers were starting: from the start
// call until the container answered, and a little after (records are
// read asynchronously).
type startLog struct {
	mu      sync.Mutex
	windows [][2]time.Time
}

// startSlack is how long after a container got ready its start-up hits
// may still be read.
const startSlack = 500 * time.Millisecond

// since records a start that began at began and ended now.
func (l *startLog) since(began time.Time) {
	l.mu.Lock()
	l.windows = append(l.windows, [2]time.Time{began, time.Now().Add(startSlack)})
	l.mu.Unlock()
}

// during reports whether t fell in a start.
func (l *startLog) during(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.windows {
		if !t.Before(w[0]) && !t.After(w[1]) {
			return true
		}
	}
	return false
}
