package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// theme holds every style the interface uses, all made by one renderer so
// that NO_COLOR (or a pinned profile in tests) applies everywhere. Colours are
// fixed ANSI-256 values: adaptive colours would query the terminal's
// background while Bubble Tea owns the input.
type theme struct {
	r *lipgloss.Renderer

	header   lipgloss.Style // the top bar
	brand    lipgloss.Style
	title    lipgloss.Style // pane titles
	focus    lipgloss.Style // border of the focused pane
	border   lipgloss.Style // border of other panes
	dim      lipgloss.Style
	bold     lipgloss.Style
	accent   lipgloss.Style
	good     lipgloss.Style
	warn     lipgloss.Style
	bad      lipgloss.Style
	selected lipgloss.Style // the row under the cursor
	status   lipgloss.Style // the status bar
	flash    lipgloss.Style
	bar      lipgloss.Style // filled part of progress bars and charts
	barEmpty lipgloss.Style
}

func newTheme(r *lipgloss.Renderer) *theme {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	c := func(s string) lipgloss.Color { return lipgloss.Color(s) }
	return &theme{
		r:        r,
		header:   r.NewStyle().Background(c("236")).Foreground(c("252")),
		brand:    r.NewStyle().Background(c("236")).Foreground(c("79")).Bold(true),
		title:    r.NewStyle().Bold(true),
		focus:    r.NewStyle().Foreground(c("79")),
		border:   r.NewStyle().Foreground(c("240")),
		dim:      r.NewStyle().Foreground(c("245")),
		bold:     r.NewStyle().Bold(true),
		accent:   r.NewStyle().Foreground(c("79")),
		good:     r.NewStyle().Foreground(c("42")),
		warn:     r.NewStyle().Foreground(c("214")),
		bad:      r.NewStyle().Foreground(c("203")),
		selected: r.NewStyle().Background(c("238")).Bold(true),
		status:   r.NewStyle().Background(c("235")).Foreground(c("250")),
		flash:    r.NewStyle().Background(c("235")).Foreground(c("214")).Bold(true),
		bar:      r.NewStyle().Foreground(c("79")),
		barEmpty: r.NewStyle().Foreground(c("238")),
	}
}

// helpModel is a help.Model styled by the theme.
func (t *theme) helpModel() help.Model {
	h := help.New()
	h.ShortSeparator = "  "
	key := t.r.NewStyle().Foreground(lipgloss.Color("79"))
	desc := t.r.NewStyle().Foreground(lipgloss.Color("245"))
	sep := t.r.NewStyle().Foreground(lipgloss.Color("240"))
	h.Styles = help.Styles{
		Ellipsis: sep, ShortKey: key, ShortDesc: desc, ShortSeparator: sep,
		FullKey: key, FullDesc: desc, FullSeparator: sep,
	}
	return h
}
