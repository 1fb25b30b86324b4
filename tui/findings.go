package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/whittle-dev/whittle/event"
)

// findingsPane lists what the oracles found, in the order found; enter shows
// one with its request, answer and curl reproducer.
type findingsPane struct {
	t    *theme
	k    *keyMap
	w, h int

	rows   []*event.Finding
	byID   map[string]*event.Finding
	view   []*event.Finding
	cur    listCursor
	filter string
}

func newFindingsPane(t *theme, k *keyMap) *findingsPane {
	return &findingsPane{t: t, k: k, byID: map[string]*event.Finding{}}
}

func (f *findingsPane) Init() tea.Cmd { return nil }

func (f *findingsPane) SetSize(w, h int) {
	f.w, f.h = w, h
	f.cur.setHeight(h)
}

func (f *findingsPane) Title() string {
	if f.filter != "" {
		return fmt.Sprintf("findings %d/%d · /%s", len(f.view), len(f.rows), f.filter)
	}
	return fmt.Sprintf("findings %d", len(f.rows))
}

func (f *findingsPane) ShortHelp() []key.Binding { return nil }
func (f *findingsPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{f.k.Details, f.k.Filter}}
}

func (f *findingsPane) SetFilter(s string) {
	f.filter = s
	f.refresh()
}

func (f *findingsPane) Len() int { return len(f.rows) }

// add records a finding, merging one already known by ID: a later source
// (the report) fills in what an earlier one (the event) lacked.
func (f *findingsPane) add(e event.Finding) {
	if e.ID != "" {
		if old := f.byID[e.ID]; old != nil {
			for _, p := range []struct {
				dst *string
				src string
			}{
				{&old.Operation, e.Operation}, {&old.Check, e.Check}, {&old.Summary, e.Summary},
				{&old.Curl, e.Curl}, {&old.Severity, e.Severity}, {&old.Request, e.Request}, {&old.Response, e.Response},
			} {
				if *p.dst == "" {
					*p.dst = p.src
				}
			}
			return
		}
	}
	c := e
	f.rows = append(f.rows, &c)
	if e.ID != "" {
		f.byID[e.ID] = &c
	}
}

func (f *findingsPane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case eventsMsg:
		n := len(f.rows)
		for _, e := range msg {
			if e, ok := e.(event.Finding); ok {
				f.add(e)
			}
		}
		if len(f.rows) != n {
			f.refresh()
		}
	case outcomeMsg:
		if msg.Report == nil {
			return f, nil
		}
		for _, r := range msg.Report.Fuzz.Findings {
			f.add(event.Finding{ID: r.ID, Operation: r.Operation, Check: r.Check, Summary: r.Summary,
				Curl: r.Curl, Severity: r.Severity, Request: r.Request, Response: r.Response})
		}
		f.refresh()
	case tea.KeyMsg:
		switch {
		case f.cur.move(f.k, msg):
		case key.Matches(msg, f.k.Details):
			if len(f.view) > 0 {
				r := f.view[f.cur.cursor]
				return f, openDetail("finding "+r.ID, f.detail(r))
			}
		}
	}
	return f, nil
}

func (f *findingsPane) refresh() {
	f.view = f.view[:0]
	for _, r := range f.rows {
		if matches(r.Check+" "+r.Operation+" "+r.Summary+" "+r.Severity, f.filter) {
			f.view = append(f.view, r)
		}
	}
	f.cur.setLen(len(f.view))
}

func (f *findingsPane) View() string {
	t := f.t
	if len(f.rows) == 0 {
		return fitBlock(t.dim.Render("none yet"), f.w, f.h)
	}
	if len(f.view) == 0 {
		return fitBlock(t.dim.Render("no finding matches /"+f.filter), f.w, f.h)
	}
	checkW := min(14, f.w/4)
	var lines []string
	from, to := f.cur.window()
	for i := from; i < to; i++ {
		r := f.view[i]
		line := marker(i == f.cur.cursor)
		if f.w >= 40 {
			line += fitLine(r.Check, checkW) + " "
		}
		line += oneLine(r.Operation) + "  " + oneLine(r.Summary)
		line = fitLine(line, f.w)
		switch {
		case i == f.cur.cursor:
			line = t.selected.Render(line)
		case r.Severity == "critical" || r.Severity == "high":
			line = t.bad.Render(line)
		default:
			line = t.warn.Render(line)
		}
		lines = append(lines, line)
	}
	return fitBlock(strings.Join(lines, "\n"), f.w, f.h)
}

func (f *findingsPane) detail(r *event.Finding) string {
	var b strings.Builder
	check := r.Check
	if r.Severity != "" {
		check += " (" + r.Severity + ")"
	}
	fmt.Fprintf(&b, "check      %s\n", check)
	fmt.Fprintf(&b, "operation  %s\n", r.Operation)
	if !r.At.IsZero() {
		fmt.Fprintf(&b, "found      %s\n", r.At.Format(time.TimeOnly))
	}
	fmt.Fprintf(&b, "summary    %s\n", r.Summary)
	section := func(title, body string) {
		if body == "" {
			body = "(not recorded)"
		}
		b.WriteString("\n" + title + "\n")
		for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	section("request", r.Request)
	section("answer", r.Response)
	section("reproduce", r.Curl)
	return strings.TrimRight(b.String(), "\n")
}
