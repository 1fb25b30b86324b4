package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// detailPane shows one item in full (a finding, an operation, a file, a
// divergence), wrapped to the width and scrollable; esc closes it.
type detailPane struct {
	t     *theme
	k     *keyMap
	w, h  int
	title string
	body  string
	lines []string
	top   int
}

func newDetailPane(t *theme, k *keyMap, title, body string) *detailPane {
	return &detailPane{t: t, k: k, title: title, body: body}
}

func (d *detailPane) Init() tea.Cmd { return nil }

func (d *detailPane) SetSize(w, h int) {
	d.w, d.h = w, h
	d.lines = wrapText(d.body, w)
	d.clamp()
}

func (d *detailPane) Title() string {
	if len(d.lines) > d.h && d.h > 0 {
		return fmt.Sprintf("%s · %d-%d/%d", d.title, d.top+1, min(len(d.lines), d.top+d.h), len(d.lines))
	}
	return d.title
}

func (d *detailPane) ShortHelp() []key.Binding { return []key.Binding{d.k.Back} }
func (d *detailPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{append(d.k.navigation(), d.k.Back)}
}

func (d *detailPane) clamp() {
	d.top = max(0, min(d.top, len(d.lines)-d.h))
}

func (d *detailPane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(msg, d.k.Up):
			d.top--
		case key.Matches(msg, d.k.Down):
			d.top++
		case key.Matches(msg, d.k.PageUp):
			d.top -= d.h
		case key.Matches(msg, d.k.PageDown):
			d.top += d.h
		case key.Matches(msg, d.k.Home):
			d.top = 0
		case key.Matches(msg, d.k.End):
			d.top = len(d.lines)
		}
		d.clamp()
	}
	return d, nil
}

func (d *detailPane) View() string {
	end := min(len(d.lines), d.top+d.h)
	return fitBlock(strings.Join(d.lines[d.top:end], "\n"), d.w, d.h)
}
