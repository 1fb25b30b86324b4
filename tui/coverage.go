package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/whittle-dev/whittle/event"
)

// coveragePane shows what the tracer saw: functions hit out of those probed,
// files and syscalls, a chart of coverage over the fuzzing time and how long
// ago the last new signal came.
type coveragePane struct {
	t    *theme
	w, h int

	p       event.Progress
	now     time.Time
	funcs   *series
	files   *series
	rps     *series
	lastNew time.Time // from NewCoverage events, when the snapshot has none
	started bool      // fuzzing has begun: samples are taken
}

const historyLimit = 512

func newCoveragePane(t *theme) *coveragePane {
	return &coveragePane{
		t:     t,
		funcs: newSeries(true, historyLimit),
		files: newSeries(true, historyLimit),
		rps:   newSeries(false, historyLimit),
	}
}

func (c *coveragePane) Init() tea.Cmd             { return nil }
func (c *coveragePane) SetSize(w, h int)          { c.w, c.h = w, h }
func (c *coveragePane) Title() string             { return "coverage" }
func (c *coveragePane) ShortHelp() []key.Binding  { return nil }
func (c *coveragePane) FullHelp() [][]key.Binding { return nil }

func (c *coveragePane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case progressMsg:
		c.p, c.now = msg.p, msg.now
		if msg.p.Phase == event.PhaseFuzz {
			c.started = true
		}
		// Sample while fuzzing, and keep the chart frozen afterwards.
		if msg.p.Phase == event.PhaseFuzz {
			c.funcs.push(float64(msg.p.Functions))
			c.files.push(float64(msg.p.Files))
			c.rps.push(msg.p.RequestsPerS)
		}
	case eventsMsg:
		for _, e := range msg {
			if nc, ok := e.(event.NewCoverage); ok && nc.At.After(c.lastNew) {
				c.lastNew = nc.At
			}
		}
	}
	return c, nil
}

func (c *coveragePane) lastSignal() time.Time {
	if c.p.LastNewSignal.After(c.lastNew) {
		return c.p.LastNewSignal
	}
	return c.lastNew
}

func (c *coveragePane) View() string {
	t, w := c.t, c.w
	var lines []string
	p := c.p
	if p.FunctionsTotal > 0 {
		pct := float64(p.Functions) / float64(p.FunctionsTotal)
		head := fmt.Sprintf("functions %s/%s", thousands(int64(p.Functions)), thousands(int64(p.FunctionsTotal)))
		tail := fmt.Sprintf(" %3.0f%%", 100*pct)
		if room := w - ansi.StringWidth(head) - len(tail) - 1; room >= 6 {
			head += " " + progressBar(t, pct, min(room, 20))
		}
		lines = append(lines, head+tail)
	} else if c.started {
		lines = append(lines, fmt.Sprintf("functions %s", thousands(int64(p.Functions)))+t.dim.Render(" (not probed)"))
	} else {
		lines = append(lines, "functions –")
	}
	switch {
	case p.CoverageMechanism != "":
		lines = append(lines, t.dim.Render(ansi.Truncate("via "+p.CoverageMechanism, w, "…")))
	case p.CoverageWhy != "":
		lines = append(lines, t.dim.Render(ansi.Truncate("no code coverage: "+p.CoverageWhy, w, "…")))
	}
	lines = append(lines, fmt.Sprintf("files %s  syscalls %s", thousands(int64(p.Files)), thousands(int64(p.Syscalls))))
	last := "never"
	if at := c.lastSignal(); !at.IsZero() && !c.now.IsZero() {
		last = ago(c.now.Sub(at)) + " ago"
	} else if !c.started {
		last = "–"
	}
	lines = append(lines, "new coverage "+t.accent.Render(last))

	chartH := c.h - len(lines) - 1
	if chartH >= 1 {
		series, what := c.funcs, "functions"
		if p.FunctionsTotal == 0 && c.started {
			series, what = c.files, "files"
		}
		vals := series.values()
		if len(vals) == 0 {
			lines = append(lines, t.dim.Render(fmt.Sprintf("(%s over time, once fuzzing starts)", what)))
			for i := 1; i < chartH; i++ {
				lines = append(lines, "")
			}
		} else {
			for _, row := range barChart(vals, w, chartH, true) {
				lines = append(lines, t.bar.Render(row))
			}
		}
	}
	if c.h > len(lines) {
		rate := fmt.Sprintf(" %s/s", compact(int64(p.RequestsPerS+0.5)))
		spark := sparkline(c.rps.values(), max(0, w-6-len(rate)), false)
		lines = append(lines, "req/s "+t.accent.Render(spark)+strings.Repeat(" ", max(0, w-6-len(rate)-ansi.StringWidth(spark)))+rate)
	}
	return fitBlock(strings.Join(lines, "\n"), w, c.h)
}
