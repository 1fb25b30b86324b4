package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/whittle-dev/whittle/event"
)

// Update handles a message; see the Config for where messages come from.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.updateKeys()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.layout()
	case tickMsg:
		if m.finished {
			return nil
		}
		m.now = m.cfg.Now()
		m.pullProgress()
		return tick(m.cfg.Interval)
	case eventsMsg:
		deps := m.phases.depLines()
		for _, e := range msg {
			m.phases.apply(e)
		}
		if m.phases.depLines() != deps {
			m.layout() // the companion services' line takes a line of the panes
		}
		if m.finished {
			m.phases.finish(m.outcome.Err != nil)
		}
		m.broadcast(msg)
		return m.pump.next()
	case eventsClosedMsg:
		return nil
	case outcomeMsg:
		m.finish(Outcome(msg))
		if m.stopping {
			return tea.Quit
		}
	case openDetailMsg:
		m.detail = newDetailPane(m.t, m.keys, msg.title, msg.body)
		m.layout()
	case spinner.TickMsg:
		if m.finished {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return cmd
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

// broadcast forwards a data message to every pane.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, p := range m.panes() {
		_, cmd := p.Update(msg)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

func (m *Model) pullProgress() {
	if m.cfg.Progress != nil {
		m.progress = m.cfg.Progress()
	}
	m.broadcast(progressMsg{p: m.progress, now: m.now})
}

// finish switches to the results once the run has returned.
func (m *Model) finish(o Outcome) {
	m.finished, m.outcome = true, o
	m.now = m.cfg.Now()
	m.end = m.now
	if m.cfg.Progress != nil {
		m.progress = m.cfg.Progress()
	}
	m.phases.finish(o.Err != nil)
	m.broadcast(outcomeMsg(o))
	m.screen, m.focus = screenResults, 0
	if o.Report == nil || o.Report.Minimal == nil {
		m.focus = 4 // no image to browse: the log says what happened
	}
	m.detail, m.confirming, m.showHelp = nil, false, false
	if m.filtering {
		m.filtering = false
	}
	m.layout()
}

func (m *Model) setFlash(s string) {
	m.flash, m.flashAt = s, m.cfg.Now()
}

// updateKeys enables the bindings that work in the current state, so the
// help bar offers only those.
func (m *Model) updateKeys() {
	k := m.keys
	fuzzing := m.active() && !m.stopping && m.cfg.Controls != nil && !m.buildRequested &&
		m.phase() == event.PhaseFuzz
	k.Pause.SetEnabled(fuzzing)
	if m.paused {
		k.Pause.SetHelp("p", "resume")
	} else {
		k.Pause.SetHelp("p", "pause")
	}
	k.Build.SetEnabled(fuzzing)
	f := m.focused()
	k.Skip.SetEnabled(fuzzing && f == Pane(m.ops) && m.ops.Selected() != "")
	_, canFilter := f.(filterable)
	k.Filter.SetEnabled(canFilter && m.detail == nil)
	k.Sort.SetEnabled((f == Pane(m.ops) || f == Pane(m.cover)) && m.detail == nil)
	k.Collapse.SetEnabled(f == Pane(m.tree) && m.detail == nil)
	k.Expand.SetEnabled(f == Pane(m.tree) && m.detail == nil)
	k.Back.SetEnabled(m.detail != nil || m.showHelp || m.filterOf(f) != "" || f == Pane(m.cover) && m.cover.CanGoBack())
}

func (m *Model) filterOf(p Pane) string {
	switch p := p.(type) {
	case *operationsPane:
		return p.filter
	case *findingsPane:
		return p.filter
	case *logPane:
		return p.filter
	case *fileTreePane:
		return p.filter
	case *divergencesPane:
		return p.filter
	case *coverExplorer:
		return p.filter
	}
	return ""
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	switch {
	case m.stopping:
		return nil
	case m.confirming:
		switch {
		case key.Matches(msg, k.Yes):
			m.confirming = false
			return m.stop()
		case key.Matches(msg, k.No):
			m.confirming = false
		}
		return nil
	case m.filtering:
		return m.filterKey(msg)
	}

	switch {
	case key.Matches(msg, k.Quit):
		if !m.active() {
			return tea.Quit
		}
		m.confirming = true
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
	case key.Matches(msg, k.Back):
		switch {
		case m.showHelp:
			m.showHelp = false
		case m.detail != nil:
			m.detail = nil
		case m.filterOf(m.focused()) == "" && m.focused() == Pane(m.cover) && m.cover.CanGoBack():
			m.cover.GoBack()
		default:
			if fp, ok := m.focused().(filterable); ok {
				fp.SetFilter("")
			}
		}
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		m.cfg.Controls.Pause(m.paused)
		if m.paused {
			m.setFlash("fuzzing paused · p resumes")
		} else {
			m.setFlash("fuzzing resumed")
		}
	case key.Matches(msg, k.Build):
		m.buildRequested = true
		m.cfg.Controls.BuildNow()
		m.setFlash("building now")
	case key.Matches(msg, k.Skip):
		op := m.ops.Selected()
		m.ops.markSkipping(op)
		m.cfg.Controls.Skip(op)
		m.setFlash("skipping " + op)
	case key.Matches(msg, k.NextPane), key.Matches(msg, k.PrevPane):
		n := len(m.ring())
		if key.Matches(msg, k.NextPane) {
			m.focus = (m.focus + 1) % n
		} else {
			m.focus = (m.focus + n - 1) % n
		}
		m.detail, m.showHelp = nil, false
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.showHelp = false
		m.input.SetValue(m.filterOf(m.focused()))
	case m.detail != nil:
		_, cmd := m.detail.Update(msg)
		return cmd
	default:
		_, cmd := m.focused().Update(msg)
		return cmd
	}
	return nil
}

// filterKey edits the focused pane's filter: it applies as typed, enter
// keeps it, esc clears it. q types a q; ctrl+c still quits.
func (m *Model) filterKey(msg tea.KeyMsg) tea.Cmd {
	fp, _ := m.focused().(filterable)
	switch msg.Type {
	case tea.KeyEnter:
		m.filtering = false
		return nil
	case tea.KeyEsc:
		m.filtering = false
		m.input.SetValue("")
		if fp != nil {
			fp.SetFilter("")
		}
		return nil
	case tea.KeyCtrlC:
		m.filtering = false
		if !m.active() {
			return tea.Quit
		}
		m.confirming = true
		return nil
	}
	m.input.Update(msg)
	if fp != nil {
		fp.SetFilter(m.input.Value())
	}
	return nil
}

// stop cancels the run after the user confirmed; the program quits when the
// run has returned (cleanup happens there).
func (m *Model) stop() tea.Cmd {
	m.stopping = true
	m.setFlash("stopping the run: removing its containers…")
	if m.cfg.Stop != nil {
		m.cfg.Stop()
	}
	if m.cfg.Outcome == nil {
		return tea.Quit
	}
	return nil
}
