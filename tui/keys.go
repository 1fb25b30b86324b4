package tui

import "github.com/charmbracelet/bubbles/key"

// keyMap declares every key the interface answers to. Bindings are enabled
// and disabled as the run goes, so the help bar only offers what works now.
type keyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Home     key.Binding
	End      key.Binding

	Pause    key.Binding
	Build    key.Binding
	Skip     key.Binding
	Filter   key.Binding
	NextPane key.Binding
	PrevPane key.Binding
	Details  key.Binding
	Back     key.Binding
	Sort     key.Binding
	Collapse key.Binding
	Expand   key.Binding
	Help     key.Binding
	Quit     key.Binding

	Yes key.Binding
	No  key.Binding
}

func newKeyMap() *keyMap {
	return &keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),

		Pause:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Build:    key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "build now")),
		Skip:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "skip")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		NextPane: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "pane")),
		PrevPane: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Details:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Sort:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort")),
		Collapse: key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "collapse")),
		Expand:   key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "expand")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Yes: key.NewBinding(key.WithKeys("y", "Y", "ctrl+c"), key.WithHelp("y", "yes, stop")),
		No:  key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no, go on")),
	}
}

// navigation is the list movement every list pane shares.
func (k *keyMap) navigation() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}
}
