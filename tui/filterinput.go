package tui

import (
	tea "github.com/charmbracelet/bubbletea"
)

// filterInput is the one-line text the / key edits: typed runes append,
// backspace deletes, ctrl+u and ctrl+w clear. A filter needs no more.
type filterInput struct {
	value []rune
	limit int
}

func (f *filterInput) Value() string     { return string(f.value) }
func (f *filterInput) SetValue(s string) { f.value = []rune(s) }

func (f *filterInput) Update(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyRunes, tea.KeySpace:
		r := msg.Runes
		if msg.Type == tea.KeySpace {
			r = []rune{' '}
		}
		if msg.Paste {
			// A pasted filter is one line.
			r = []rune(oneLine(string(r)))
		}
		if len(f.value)+len(r) <= f.limit {
			f.value = append(f.value, r...)
		}
	case tea.KeyBackspace:
		if len(f.value) > 0 {
			f.value = f.value[:len(f.value)-1]
		}
	case tea.KeyCtrlU, tea.KeyCtrlW:
		f.value = f.value[:0]
	}
}

func (f *filterInput) View(t *theme) string {
	return t.accent.Render("/") + string(f.value) + t.bold.Render("▏")
}
