package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/whittle-dev/whittle/event"
)

type phaseState int

const (
	phasePending phaseState = iota
	phaseRunning
	phaseDone
	phaseFailed
	phaseSkipped
)

// phaseTracker follows the run's phases from PhaseStarted/PhaseFinished and
// Step events.
type phaseTracker struct {
	state   map[event.Phase]phaseState
	detail  map[event.Phase]string
	step    map[event.Phase]event.Step
	current event.Phase
	// deps are the target's companion services, in the order first seen,
	// with their last state.
	deps    []event.Dependency
	depSeen map[string]int
}

func newPhaseTracker() phaseTracker {
	return phaseTracker{
		state:  map[event.Phase]phaseState{},
		detail: map[event.Phase]string{},
		step:   map[event.Phase]event.Step{},
	}
}

func phaseIndex(p event.Phase) int {
	for i, q := range event.Phases {
		if q == p {
			return i
		}
	}
	return -1
}

func (pt *phaseTracker) apply(e event.Event) {
	switch e := e.(type) {
	case event.PhaseStarted:
		idx := phaseIndex(e.Phase)
		for i, q := range event.Phases {
			if i >= idx {
				break
			}
			switch pt.state[q] {
			case phaseRunning:
				pt.state[q] = phaseDone
			case phasePending:
				pt.state[q] = phaseSkipped
			}
		}
		pt.current = e.Phase
		pt.detail[e.Phase] = e.Detail
		delete(pt.step, e.Phase)
		switch {
		case e.Phase != event.PhaseDone:
			pt.state[e.Phase] = phaseRunning
		case e.Detail == "failed":
			pt.state[e.Phase] = phaseFailed
		default:
			pt.state[e.Phase] = phaseDone
		}
	case event.PhaseFinished:
		if e.Err != nil {
			pt.state[e.Phase] = phaseFailed
			pt.detail[e.Phase] = e.Err.Error()
		} else {
			pt.state[e.Phase] = phaseDone
			if e.Detail != "" {
				pt.detail[e.Phase] = e.Detail
			}
		}
		delete(pt.step, e.Phase)
	case event.Step:
		p := e.Phase
		if p == "" {
			p = pt.current
		}
		pt.step[p] = e
	case event.Dependency:
		if pt.depSeen == nil {
			pt.depSeen = map[string]int{}
		}
		if i, ok := pt.depSeen[e.Service]; ok {
			pt.deps[i] = e
		} else {
			pt.depSeen[e.Service] = len(pt.deps)
			pt.deps = append(pt.deps, e)
		}
	}
}

// depLines is how many lines the companion services take (0 or 1).
func (pt *phaseTracker) depLines() int {
	if len(pt.deps) == 0 {
		return 0
	}
	return 1
}

// depsView is one line: each companion service with its state and how
// many times it was started.
func (pt *phaseTracker) depsView(t *theme, w int) string {
	parts := []string{t.dim.Render("services")}
	for _, d := range pt.deps {
		st := d.State
		switch {
		case strings.HasPrefix(st, "failed"):
			st = t.bad.Render("✗ " + st)
		case st == "healthy" || st == "running" || st == "completed":
			st = t.good.Render("✓") + " " + st
		case st == "removed":
			st = t.dim.Render(st)
		default:
			st = t.accent.Render("… " + st)
		}
		starts := ""
		if d.Starts > 1 {
			starts = t.dim.Render(fmt.Sprintf(" ×%d", d.Starts))
		}
		parts = append(parts, t.bold.Render(d.Service)+" "+st+starts)
	}
	return fitLine(" "+strings.Join(parts, "  "), w)
}

// finish marks the run over: a phase still running ends with the run's
// result.
func (pt *phaseTracker) finish(failed bool) {
	for _, q := range event.Phases {
		if pt.state[q] == phaseRunning {
			if failed {
				pt.state[q] = phaseFailed
			} else {
				pt.state[q] = phaseDone
			}
		}
	}
	if pt.state[event.PhaseDone] == phasePending {
		pt.state[event.PhaseDone] = phaseDone
		if failed {
			pt.state[event.PhaseDone] = phaseFailed
		}
	}
	pt.current = event.PhaseDone
}

// stripView is one line: every phase with its state.
func (pt *phaseTracker) stripView(t *theme, spin string, w int) string {
	var parts []string
	for _, q := range event.Phases {
		name := string(q)
		switch pt.state[q] {
		case phaseRunning:
			parts = append(parts, t.accent.Render(spin+" "+name))
		case phaseDone:
			parts = append(parts, t.good.Render("✓")+" "+name)
		case phaseFailed:
			parts = append(parts, t.bad.Render("✗ "+name))
		case phaseSkipped:
			parts = append(parts, t.dim.Render("– "+name))
		default:
			parts = append(parts, t.dim.Render("· "+name))
		}
	}
	return fitLine(" "+strings.Join(parts, "  "), w)
}

// stepView is one line about the current phase: its step with a progress
// bar when there is one, else what the phase works on.
func (pt *phaseTracker) stepView(t *theme, w int) string {
	p := pt.current
	if p == "" {
		return fitLine(t.dim.Render(" waiting for the run to start…"), w)
	}
	label := " " + t.bold.Render(string(p)) + "  "
	if pt.state[p] == phaseFailed {
		return fitLine(label+t.bad.Render(oneLine(pt.detail[p])), w)
	}
	st, ok := pt.step[p]
	if !ok {
		return fitLine(label+oneLine(pt.detail[p]), w)
	}
	name := oneLine(st.Name)
	if st.Total <= 0 {
		s := label + name + "…"
		if st.Done > 0 {
			s += " " + thousands(st.Done)
		}
		return fitLine(s, w)
	}
	pct := float64(st.Done) / float64(st.Total)
	counts := fmt.Sprintf(" %3.0f%%  %s/%s", 100*min(1, pct), compact(st.Done), compact(st.Total))
	room := w - ansi.StringWidth(label) - ansi.StringWidth(counts) - 2
	nameW := min(ansi.StringWidth(name), max(8, room/2))
	barW := min(50, room-nameW)
	if barW < 5 {
		return fitLine(label+name+counts, w)
	}
	return fitLine(label+fitLine(name, nameW)+" "+progressBar(t, pct, barW)+counts, w)
}

// progressBar draws fraction f of w cells, in eighths.
func progressBar(t *theme, f float64, w int) string {
	if w <= 0 {
		return ""
	}
	f = max(0, min(1, f))
	eighths := int(f * float64(w) * 8)
	full, part := eighths/8, eighths%8
	s := strings.Repeat("█", full)
	empty := w - full
	if part > 0 && full < w {
		s += string([]rune(" ▏▎▍▌▋▊▉")[part])
		empty--
	}
	return t.bar.Render(s) + t.barEmpty.Render(strings.Repeat("░", max(0, empty)))
}
