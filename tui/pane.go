package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// Pane is the contract every part of the screen follows: a Bubble Tea model
// that is told its size and declares the keys it answers to. The root model
// draws the box and title around View, forwards data messages (progress,
// events, the outcome) to every pane and keys to the focused one only.
type Pane interface {
	tea.Model
	SetSize(width, height int)
	help.KeyMap
}

// titled panes name their box.
type titled interface{ Title() string }

// filterable panes narrow what they show to rows containing a text.
type filterable interface{ SetFilter(text string) }

// openDetailMsg asks the root model to show a scrollable detail view.
type openDetailMsg struct{ title, body string }

func openDetail(title, body string) tea.Cmd {
	return func() tea.Msg { return openDetailMsg{title: title, body: body} }
}

// boxChars are the borders of a pane: light for others, heavy when focused,
// so focus is visible without colour too.
type boxChars struct{ tl, tr, bl, br, h, v string }

var (
	lightBox = boxChars{"╭", "╮", "╰", "╯", "─", "│"}
	heavyBox = boxChars{"┏", "┓", "┗", "┛", "━", "┃"}
)

// box draws content (already fitted to w-4 by h-2) inside a border of w by h
// with the title in the top edge.
func (t *theme) box(title, content string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return fitBlock("", w, h)
	}
	bc, bs := lightBox, t.border
	if focused {
		bc, bs = heavyBox, t.focus
	}
	title = ansi.Truncate(title, w-6, "…")
	tw := ansi.StringWidth(title)
	var b strings.Builder
	b.WriteString(bs.Render(bc.tl + bc.h))
	if tw > 0 {
		b.WriteString(" " + t.title.Render(title) + " ")
		b.WriteString(bs.Render(strings.Repeat(bc.h, max(0, w-tw-5)) + bc.tr))
	} else {
		b.WriteString(bs.Render(strings.Repeat(bc.h, w-3) + bc.tr))
	}
	inner := strings.Split(fitBlock(content, w-4, h-2), "\n")
	for _, l := range inner {
		b.WriteString("\n" + bs.Render(bc.v) + " " + l + " " + bs.Render(bc.v))
	}
	b.WriteString("\n" + bs.Render(bc.bl+strings.Repeat(bc.h, w-2)+bc.br))
	return b.String()
}

// listCursor is the selection and scroll position of a list of n rows shown
// height rows at a time.
type listCursor struct {
	cursor, offset, n, height int
}

func (c *listCursor) setLen(n int) {
	c.n = n
	c.clamp()
}

func (c *listCursor) setHeight(h int) {
	c.height = max(1, h)
	c.clamp()
}

func (c *listCursor) clamp() {
	if c.cursor >= c.n {
		c.cursor = c.n - 1
	}
	if c.cursor < 0 {
		c.cursor = 0
	}
	if c.cursor < c.offset {
		c.offset = c.cursor
	}
	if c.height > 0 && c.cursor >= c.offset+c.height {
		c.offset = c.cursor - c.height + 1
	}
	if c.offset > max(0, c.n-c.height) {
		c.offset = max(0, c.n-c.height)
	}
	if c.offset < 0 {
		c.offset = 0
	}
}

// move handles the navigation keys; it reports whether msg was one.
func (c *listCursor) move(k *keyMap, msg tea.KeyMsg) bool {
	switch {
	case key.Matches(msg, k.Up):
		c.cursor--
	case key.Matches(msg, k.Down):
		c.cursor++
	case key.Matches(msg, k.PageUp):
		c.cursor -= c.height
	case key.Matches(msg, k.PageDown):
		c.cursor += c.height
	case key.Matches(msg, k.Home):
		c.cursor = 0
	case key.Matches(msg, k.End):
		c.cursor = c.n - 1
	default:
		return false
	}
	c.clamp()
	return true
}

// window returns the visible range [from, to).
func (c *listCursor) window() (from, to int) {
	return c.offset, min(c.n, c.offset+c.height)
}

// marker is the cursor column of a row: visible without colour.
func marker(selected bool) string {
	if selected {
		return "▸ "
	}
	return "  "
}

// matches reports whether s contains filter, ignoring case.
func matches(s, filter string) bool {
	return filter == "" || strings.Contains(strings.ToLower(s), strings.ToLower(filter))
}

// Every part of the screen follows the Pane contract.
var (
	_ Pane = (*coveragePane)(nil)
	_ Pane = (*operationsPane)(nil)
	_ Pane = (*findingsPane)(nil)
	_ Pane = (*logPane)(nil)
	_ Pane = (*fileTreePane)(nil)
	_ Pane = (*divergencesPane)(nil)
	_ Pane = (*detailPane)(nil)
	_ Pane = (*coverExplorer)(nil)
)
