package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/whittle-dev/whittle/event"
)

const (
	minWidth, minHeight = 60, 16
	defaultW, defaultH  = 80, 24
	flashFor            = 4 * time.Second
)

func (m *Model) size() (int, int) {
	w, h := m.width, m.height
	if w <= 0 {
		w = defaultW
	}
	if h <= 0 {
		h = defaultH
	}
	return w, h
}

// dashboardGrid is the size of the dashboard's four boxes.
func (m *Model) dashboardGrid() (leftW, rightW, topH, botH int) {
	w, h := m.size()
	body := h - 5 - m.phases.depLines()
	leftW = max(28, min(44, w*35/100))
	rightW = w - leftW
	topH = (body + 1) / 2
	botH = body - topH
	return
}

// layout tells each pane its inner size for the current screen.
func (m *Model) layout() {
	w, h := m.size()
	leftW, rightW, topH, botH := m.dashboardGrid()
	if m.screen == screenDashboard {
		m.coverage.SetSize(leftW-4, topH-2)
		m.ops.SetSize(rightW-4, topH-2)
		m.findings.SetSize(leftW-4, botH-2)
		m.logs.SetSize(rightW-4, botH-2)
		if m.detail != nil {
			m.detail.SetSize(w-4, h-5-m.phases.depLines()-2)
		}
		return
	}
	boxH := m.resultsBoxHeight()
	for _, p := range m.ring() {
		p.SetSize(w-4, boxH-2)
	}
	if m.detail != nil {
		m.detail.SetSize(w-4, boxH-2)
	}
}

func (m *Model) resultsBoxHeight() int {
	w, h := m.size()
	return h - 2 - len(summaryLines(m.t, m.outcome, w)) - 1 - 2
}

// View draws the whole screen: exactly the terminal's height in lines, none
// wider than its width, so resizing never leaves garbage.
func (m *Model) View() string {
	w, h := m.size()
	if w < minWidth || h < minHeight {
		msg := fmt.Sprintf("whittle needs a terminal of at least %d×%d; this one is %d×%d.", minWidth, minHeight, w, h)
		return fitBlock(strings.Join(wrapText(msg, w), "\n"), w, h)
	}
	lines := []string{m.headerView(w), m.phases.stripView(m.t, m.spin.View(), w)}
	if m.screen == screenResults {
		lines = append(lines, summaryLines(m.t, m.outcome, w)...)
		lines = append(lines, m.tabsView(w))
		lines = append(lines, m.bodyView(w, m.resultsBoxHeight()))
	} else {
		lines = append(lines, m.phases.stepView(m.t, w))
		if m.phases.depLines() > 0 {
			lines = append(lines, m.phases.depsView(m.t, w))
		}
		lines = append(lines, m.bodyView(w, h-5-m.phases.depLines()))
	}
	lines = append(lines, m.statusView(w), m.helpView(w))
	return fitBlock(strings.Join(lines, "\n"), w, h)
}

// bodyView is the area between the top lines and the status bar: an overlay
// (confirmation, help, detail) or the screen's panes.
func (m *Model) bodyView(w, h int) string {
	t := m.t
	switch {
	case m.confirming:
		return m.confirmView(w, h)
	case m.showHelp:
		return t.box("keys", m.fullHelpView(w-4), w, h, true)
	case m.detail != nil:
		return t.box(m.detail.Title(), m.detail.View(), w, h, true)
	case m.screen == screenResults:
		f := m.focused()
		return t.box(titleOf(f), f.View(), w, h, true)
	}
	leftW, rightW, topH, botH := m.dashboardGrid()
	f := m.focused()
	row := func(a, b Pane, hh int) string {
		return hjoin(
			t.box(titleOf(a), a.View(), leftW, hh, a == f),
			t.box(titleOf(b), b.View(), rightW, hh, b == f))
	}
	return row(m.coverage, m.ops, topH) + "\n" + row(m.findings, m.logs, botH)
}

func titleOf(p Pane) string {
	if t, ok := p.(titled); ok {
		return t.Title()
	}
	return ""
}

// hjoin puts two blocks of equal height side by side.
func hjoin(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range la {
		if i < len(lb) {
			la[i] += lb[i]
		}
	}
	return strings.Join(la, "\n")
}

func (m *Model) headerView(w int) string {
	t := m.t
	p := m.progress
	brand := " whittle "
	end := m.now
	if m.finished {
		end = m.end
	}
	started := m.start
	if !p.Started.IsZero() {
		started = p.Started
	}
	phase := string(m.phase())
	if m.paused && m.phase() == event.PhaseFuzz && !m.buildRequested {
		phase += " ⏸"
	}
	right := fmt.Sprintf("%s  %s", phase, clock(end.Sub(started)))
	if p.Seed != 0 {
		right += fmt.Sprintf("  seed %d", p.Seed)
	}
	right += " "
	room := w - ansi.StringWidth(brand)
	return t.brand.Render(brand) + t.header.Render(spread(headerTarget(p.Image, p.TargetURL, room-ansi.StringWidth(right)-1), right, room))
}

// headerTarget is " IMAGE → URL" in at most w columns: the URL's scheme
// goes first (the target is always plain HTTP on 127.0.0.1), then the
// image's registry path, so the address stays readable.
func headerTarget(image, url string, w int) string {
	if url == "" {
		return " " + image
	}
	s := " " + image + " → " + url
	if ansi.StringWidth(s) <= w {
		return s
	}
	tail := " → " + strings.TrimPrefix(url, "http://")
	if room := w - 1 - ansi.StringWidth(tail); room >= 8 && ansi.StringWidth(image) > room {
		image = ansi.TruncateLeft(image, ansi.StringWidth(image)-room+1, "…")
	}
	return " " + image + tail
}

func (m *Model) statusView(w int) string {
	t := m.t
	p := m.progress
	var parts []string
	switch {
	case m.stopping:
		parts = append(parts, "stopping: waiting for the run to clean up…")
	case m.finished && m.outcome.Err != nil:
		parts = append(parts, "run failed after "+clock(m.end.Sub(m.start)))
	case m.finished:
		parts = append(parts, "done in "+clock(m.end.Sub(m.start)))
	case m.paused && !m.buildRequested:
		parts = append(parts, "⏸ PAUSED")
	}
	if m.finished {
		parts = append(parts, plural(p.Requests, "request"))
	} else {
		parts = append(parts,
			fmt.Sprintf("%s req", thousands(p.Requests)),
			fmt.Sprintf("%s/s", thousands(int64(p.RequestsPerS+0.5))),
			fmt.Sprintf("corpus %s", thousands(int64(p.CorpusSize))))
	}
	parts = append(parts, fmt.Sprintf("findings %d", max(p.Findings, m.findings.Len())))
	if p.Workers > 1 && !m.finished {
		parts = append(parts, fmt.Sprintf("workers %d", p.Workers))
	}
	if p.Restarts > 0 && !m.finished {
		// Only a reason's first restart is logged: the count shows the rest.
		parts = append(parts, fmt.Sprintf("restarts %d", p.Restarts))
	}
	if n := m.divs.Len(); n > 0 || m.phase() == event.PhaseVerify {
		parts = append(parts, fmt.Sprintf("divergences %d", n))
	}
	if n := len(p.LimitsHit); n > 0 {
		// Each limit is logged when first reached; the count keeps them in sight.
		parts = append(parts, fmt.Sprintf("limits hit %d", n))
	}
	left := " " + strings.Join(parts, " · ")
	flash := ""
	if m.flash != "" && m.now.Sub(m.flashAt) < flashFor {
		flash = " " + m.flash + " "
	}
	if m.stopping {
		flash = ""
	}
	fw := ansi.StringWidth(flash)
	if fw > w/2 {
		flash = fitLine(flash, w/2)
		fw = w / 2
	}
	return t.status.Render(fitLine(left, w-fw)) + t.flash.Render(flash)
}

func (m *Model) helpView(w int) string {
	k := m.keys
	var b []key.Binding
	switch {
	case m.stopping:
		return fitLine(m.t.dim.Render(" removing containers; whittle exits when done"), w)
	case m.confirming:
		b = []key.Binding{k.Yes, k.No}
	case m.filtering:
		return fitLine(" "+m.input.View(m.t)+m.t.dim.Render("   enter keep · esc clear"), w)
	case m.showHelp:
		b = []key.Binding{k.Help, k.Back, k.Quit}
	case m.detail != nil:
		b = []key.Binding{k.Back, k.Up, k.Down, k.Pause, k.Build, k.Quit}
	default:
		b = []key.Binding{k.Pause, k.Build, k.Skip, k.NextPane, k.Details, k.Filter, k.Quit, k.Help, k.Back}
		b = append(b, m.focused().ShortHelp()...)
	}
	m.help.Width = w - 1
	return fitLine(" "+m.help.ShortHelpView(b), w)
}

// fullHelpView lists every key; those unavailable now say so.
func (m *Model) fullHelpView(w int) string {
	k := m.keys
	groups := [][]key.Binding{
		{k.Pause, k.Build, k.Skip},
		{k.NextPane, k.PrevPane, k.Details, k.Back, k.Filter},
		{k.Sort, k.Collapse, k.Expand, k.Help, k.Quit},
		k.navigation(),
	}
	shown := make([][]key.Binding, len(groups))
	for i, g := range groups {
		for _, b := range g {
			c := b
			if !c.Enabled() {
				c.SetHelp(c.Help().Key, c.Help().Desc+" (not now)")
				c.SetEnabled(true)
			}
			shown[i] = append(shown[i], c)
		}
	}
	hm := m.help
	hm.Width = 0
	intro := strings.Join(wrapText("p, b and s steer the fuzzing phase. tab moves between panes; enter opens "+
		"the selected row; / filters the focused pane; esc goes back.", w), "\n")
	keys := hm.FullHelpView(shown)
	if lipgloss.Width(keys) > w {
		// Two columns fit narrow terminals better than four.
		keys = hm.FullHelpView([][]key.Binding{append(shown[0], shown[1]...), append(shown[2], shown[3]...)})
	}
	return intro + "\n\n" + keys
}

func (m *Model) confirmView(w, h int) string {
	t := m.t
	phase := m.phase()
	what := "The run stops now and its containers are removed; no minimal image is built."
	if phase == event.PhaseVerify {
		what = "The run stops now and its containers are removed; the minimal image stays unverified."
	}
	body := t.bold.Render("Stop the run and quit?") + "\n\n" + strings.Join(wrapText(what, 44), "\n") +
		"\n\n" + t.accent.Render("y") + " stop and quit    " + t.accent.Render("n") + "/" + t.accent.Render("esc") + " go on"
	bw, bh := min(w, 50), 9
	dialog := t.box("quit", body, bw, bh, true)
	pad := (w - bw) / 2
	top := max(0, (h-bh)/2)
	var lines []string
	for i := 0; i < top; i++ {
		lines = append(lines, "")
	}
	for _, l := range strings.Split(dialog, "\n") {
		lines = append(lines, strings.Repeat(" ", pad)+l)
	}
	return fitBlock(strings.Join(lines, "\n"), w, h)
}

func (m *Model) tabsView(w int) string {
	t := m.t
	labels := []string{
		fmt.Sprintf("files %s", thousands(int64(m.tree.root.files))),
		fmt.Sprintf("divergences %d", m.divs.Len()),
		fmt.Sprintf("findings %d", m.findings.Len()),
		fmt.Sprintf("operations %d", len(m.ops.rows)),
		"log",
		m.cover.Label(),
	}
	var parts []string
	for i, l := range labels {
		if i == m.focus {
			parts = append(parts, t.accent.Render("["+l+"]"))
		} else {
			parts = append(parts, t.dim.Render(" "+l+" "))
		}
	}
	return fitLine(" "+strings.Join(parts, " "), w)
}
