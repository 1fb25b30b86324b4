package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/whittle-dev/whittle/event"
)

// logLine is one message of the log pane.
type logLine struct {
	at    time.Time
	level event.Level
	msg   string
}

const (
	logLimit = 2000 // lines kept
	logTrim  = 500  // lines dropped at once when over the limit
)

// logPane shows the run's messages and events as lines, following the tail
// unless the cursor was moved up.
type logPane struct {
	t    *theme
	k    *keyMap
	w, h int

	lines  []logLine
	view   []int // indices of lines matching the filter; nil: all
	cur    listCursor
	filter string
}

func newLogPane(t *theme, k *keyMap) *logPane { return &logPane{t: t, k: k} }

func (l *logPane) Init() tea.Cmd { return nil }

func (l *logPane) SetSize(w, h int) {
	l.w, l.h = w, h
	follow := l.following()
	l.cur.setHeight(h)
	if follow {
		l.cur.cursor = l.cur.n - 1
		l.cur.clamp()
	}
}

func (l *logPane) Title() string {
	if l.filter != "" {
		return fmt.Sprintf("log · /%s", l.filter)
	}
	return "log"
}

func (l *logPane) ShortHelp() []key.Binding { return nil }
func (l *logPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{l.k.Details, l.k.Filter, l.k.End}}
}

func (l *logPane) SetFilter(s string) {
	l.filter = s
	l.refresh(true)
}

func (l *logPane) following() bool { return l.cur.n == 0 || l.cur.cursor >= l.cur.n-1 }

func (l *logPane) len() int {
	if l.view != nil {
		return len(l.view)
	}
	return len(l.lines)
}

func (l *logPane) at(i int) logLine {
	if l.view != nil {
		return l.lines[l.view[i]]
	}
	return l.lines[i]
}

// refresh recomputes the filtered view; follow moves the cursor to the end.
func (l *logPane) refresh(follow bool) {
	l.view = nil
	if l.filter != "" {
		l.view = []int{}
		for i, ln := range l.lines {
			if matches(ln.msg, l.filter) {
				l.view = append(l.view, i)
			}
		}
	}
	l.cur.setLen(l.len())
	if follow {
		l.cur.cursor = l.cur.n - 1
		l.cur.clamp()
	}
}

// lineOf turns an event into a log line; false for events the log skips
// (steps come many per second and have their own line).
func lineOf(e event.Event) (logLine, bool) {
	ln := logLine{at: e.When(), level: event.LevelInfo}
	switch e := e.(type) {
	case event.Log:
		ln.level, ln.msg = e.Level, e.Msg
	case event.PhaseStarted:
		ln.msg = fmt.Sprintf("[%s] %s", e.Phase, e.Detail)
	case event.PhaseFinished:
		if e.Err != nil {
			ln.level, ln.msg = event.LevelError, fmt.Sprintf("[%s] failed: %v", e.Phase, e.Err)
		} else if e.Detail != "" {
			ln.msg = fmt.Sprintf("[%s] %s", e.Phase, e.Detail)
		} else {
			return ln, false
		}
	case event.Finding:
		ln.level, ln.msg = event.LevelWarn, fmt.Sprintf("finding %s %s: %s", e.Operation, e.Check, e.Summary)
	case event.NewCoverage:
		ln.msg = fmt.Sprintf("+ coverage %s: %s", e.Operation, e.What)
	case event.Divergence:
		ln.level, ln.msg = event.LevelError, fmt.Sprintf("diverged %s %s", e.Operation, e.Request)
	default:
		return ln, false
	}
	return ln, true
}

func (l *logPane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case eventsMsg:
		follow := l.following()
		added := false
		for _, e := range msg {
			if ln, ok := lineOf(e); ok {
				l.lines = append(l.lines, ln)
				added = true
			}
		}
		if !added {
			return l, nil
		}
		if over := len(l.lines) - logLimit; over > 0 {
			drop := max(over, logTrim)
			l.lines = append(l.lines[:0], l.lines[drop:]...)
			if l.view == nil {
				l.cur.cursor -= drop
			}
		}
		if l.view == nil {
			l.cur.setLen(len(l.lines))
			if follow {
				l.cur.cursor = l.cur.n - 1
				l.cur.clamp()
			}
		} else {
			l.refresh(follow)
		}
	case tea.KeyMsg:
		switch {
		case l.cur.move(l.k, msg):
		case key.Matches(msg, l.k.Details):
			if l.len() > 0 {
				ln := l.at(l.cur.cursor)
				return l, openDetail("log · "+ln.at.Format(time.TimeOnly), ln.level.String()+": "+ln.msg)
			}
		}
	}
	return l, nil
}

func (l *logPane) View() string {
	t := l.t
	if l.len() == 0 {
		if l.filter != "" {
			return fitBlock(t.dim.Render("no line matches /"+l.filter), l.w, l.h)
		}
		return fitBlock(t.dim.Render("nothing yet"), l.w, l.h)
	}
	var out []string
	from, to := l.cur.window()
	for i := from; i < to; i++ {
		ln := l.at(i)
		prefix := "  "
		switch ln.level {
		case event.LevelWarn:
			prefix = "! "
		case event.LevelError:
			prefix = "✗ "
		}
		line := fitLine(ln.at.Format(time.TimeOnly)+" "+prefix+oneLine(ln.msg), l.w-2)
		switch {
		case i == l.cur.cursor && !l.following():
			line = t.selected.Render(marker(true) + line)
		case ln.level == event.LevelError:
			line = "  " + t.bad.Render(line)
		case ln.level == event.LevelWarn:
			line = "  " + t.warn.Render(line)
		default:
			line = "  " + line
		}
		out = append(out, line)
	}
	return fitBlock(strings.Join(out, "\n"), l.w, l.h)
}
