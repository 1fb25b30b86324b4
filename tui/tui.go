// Package tui is whittle's interactive interface: a Bubble Tea program that
// shows a run as it happens (phases, the fuzzing dashboard, findings, the
// log) and its results (sizes, verification, the minimal image's files).
//
// It does no I/O of its own: it renders the events it is given, a progress
// snapshot it pulls on a tick, and the run's outcome, and it steers the run
// through the small Controls interface.
package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/report"
)

// Controls steers a running pipeline. Calls come from the interface's event
// loop and must return at once.
type Controls interface {
	// Pause holds (true) or resumes (false) fuzzing.
	Pause(paused bool)
	// BuildNow ends fuzzing and builds the minimal image from what was seen.
	BuildNow()
	// Skip stops sending requests to an operation.
	Skip(operation string)
}

// EventSource hands out the run's events in order; *event.Bus is one. Next
// blocks until an event comes and reports false once the source is closed
// and drained; with a cancelled context it never waits.
type EventSource interface {
	Next(ctx context.Context) (event.Event, bool)
}

// Outcome is what the run returned.
type Outcome struct {
	Report *report.Report
	Err    error
}

// Config is what the interface is given.
type Config struct {
	Events   EventSource           // the run's events; nil: none
	Progress func() event.Progress // the counters, pulled every Interval
	Controls Controls              // nil: pause, build now and skip are unavailable
	// Stop cancels the run; it is called once the user confirms quitting
	// while the run is active. The interface then waits for Outcome.
	Stop func()
	// Outcome receives the run's result once; nil: the interface never
	// waits for a run and quits at once.
	Outcome <-chan Outcome

	Renderer *lipgloss.Renderer // nil: lipgloss's default (honours NO_COLOR)
	Interval time.Duration      // progress tick; default 250ms
	Now      func() time.Time   // the clock; default time.Now
}

type screen int

const (
	screenDashboard screen = iota
	screenResults
)

// Model is the root Bubble Tea model.
type Model struct {
	cfg   Config
	t     *theme
	keys  *keyMap
	help  help.Model
	spin  spinner.Model
	input filterInput
	pump  *pump

	width, height int
	start, end    time.Time
	now           time.Time
	progress      event.Progress
	phases        phaseTracker

	coverage *coveragePane
	ops      *operationsPane
	findings *findingsPane
	logs     *logPane
	tree     *fileTreePane
	divs     *divergencesPane
	cover    *coverExplorer
	detail   *detailPane // open detail view, nil when none

	screen     screen
	focus      int // index into ring()
	showHelp   bool
	confirming bool // asking whether to stop the run
	filtering  bool // the filter input has focus

	paused         bool
	buildRequested bool
	stopping       bool // the user confirmed: waiting for the run to return
	finished       bool
	outcome        Outcome

	flash   string
	flashAt time.Time
}

// New returns the root model for a run.
func New(cfg Config) *Model {
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := newTheme(cfg.Renderer)
	k := newKeyMap()
	m := &Model{
		cfg:      cfg,
		t:        t,
		keys:     k,
		help:     t.helpModel(),
		spin:     spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(t.accent)),
		input:    filterInput{limit: 80},
		phases:   newPhaseTracker(),
		coverage: newCoveragePane(t),
		ops:      newOperationsPane(t, k),
		findings: newFindingsPane(t, k),
		logs:     newLogPane(t, k),
		tree:     newFileTreePane(t, k),
		divs:     newDivergencesPane(t, k),
		cover:    newCoverExplorer(t, k),
	}
	if cfg.Events != nil {
		m.pump = &pump{src: cfg.Events, interval: 50 * time.Millisecond}
	}
	m.start = cfg.Now()
	m.now = m.start
	if cfg.Progress != nil {
		m.progress = cfg.Progress()
	}
	m.layout()
	m.updateKeys()
	return m
}

// Init starts the event pump, the progress tick, the wait for the outcome
// and the spinner.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(
		m.pump.next(),
		tick(m.cfg.Interval),
		waitOutcome(m.cfg.Outcome),
		m.spin.Tick,
	)
}

// Outcome reports the run's result once it is known.
func (m *Model) Outcome() (Outcome, bool) { return m.outcome, m.finished }

// ring is the panes tab cycles through on the current screen.
func (m *Model) ring() []Pane {
	if m.screen == screenResults {
		return []Pane{m.tree, m.divs, m.findings, m.ops, m.logs, m.cover}
	}
	return []Pane{m.ops, m.findings, m.logs}
}

func (m *Model) focused() Pane {
	r := m.ring()
	return r[m.focus%len(r)]
}

// panes is every pane that receives data messages.
func (m *Model) panes() []Pane {
	return []Pane{m.coverage, m.ops, m.findings, m.logs, m.tree, m.divs, m.cover}
}

// active reports whether a run is going on that quitting would stop.
func (m *Model) active() bool {
	return m.cfg.Outcome != nil && !m.finished
}

// phase is the current phase, from events or else the snapshot.
func (m *Model) phase() event.Phase {
	if m.phases.current != "" {
		return m.phases.current
	}
	return m.progress.Phase
}
