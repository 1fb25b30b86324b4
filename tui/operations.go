package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/whittle-dev/whittle/event"
)

// opRow is one operation's counters (from the snapshot) and what events said
// about it.
type opRow struct {
	event.OperationProgress
	findings int
	coverage []string // the latest NewCoverage descriptions, oldest first
	skipping bool     // the user asked to skip it
}

const (
	sortByName = iota
	sortByRequests
	sortBy5xx
	sortByCoverage
	sortModes
)

var sortNames = [sortModes]string{"name", "requests", "5xx", "new coverage"}

// operationsPane is the table of the spec's operations: requests by answer
// class and new coverage, sortable and filterable.
type operationsPane struct {
	t    *theme
	k    *keyMap
	w, h int

	rows   []*opRow
	byName map[string]*opRow
	view   []*opRow // filtered and sorted
	cur    listCursor
	sortBy int
	filter string
}

func newOperationsPane(t *theme, k *keyMap) *operationsPane {
	return &operationsPane{t: t, k: k, byName: map[string]*opRow{}, sortBy: sortByRequests}
}

func (o *operationsPane) Init() tea.Cmd { return nil }

func (o *operationsPane) SetSize(w, h int) {
	o.w, o.h = w, h
	o.cur.setHeight(h - 1)
}

func (o *operationsPane) Title() string {
	s := fmt.Sprintf("operations %d · by %s", len(o.rows), sortNames[o.sortBy])
	if o.filter != "" {
		s = fmt.Sprintf("operations %d/%d · by %s · /%s", len(o.view), len(o.rows), sortNames[o.sortBy], o.filter)
	}
	return s
}

func (o *operationsPane) ShortHelp() []key.Binding {
	return []key.Binding{o.k.Sort}
}

func (o *operationsPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{o.k.Sort, o.k.Details, o.k.Skip, o.k.Filter}}
}

func (o *operationsPane) SetFilter(s string) {
	o.filter = s
	o.refresh()
}

// Selected is the operation under the cursor, "" when none.
func (o *operationsPane) Selected() string {
	if len(o.view) == 0 {
		return ""
	}
	return o.view[o.cur.cursor].Operation
}

func (o *operationsPane) row(name string) *opRow {
	r := o.byName[name]
	if r == nil {
		r = &opRow{OperationProgress: event.OperationProgress{Operation: name}}
		o.byName[name] = r
		o.rows = append(o.rows, r)
	}
	return r
}

// markSkipping shows the operation as skipped before the snapshot does.
func (o *operationsPane) markSkipping(name string) {
	o.row(name).skipping = true
}

func (o *operationsPane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case progressMsg:
		if len(msg.p.Operations) == 0 {
			return o, nil
		}
		for _, op := range msg.p.Operations {
			o.row(op.Operation).OperationProgress = op
		}
		o.refresh()
	case eventsMsg:
		changed := false
		for _, e := range msg {
			switch e := e.(type) {
			case event.Finding:
				if e.Operation != "" {
					o.row(e.Operation).findings++
					changed = true
				}
			case event.NewCoverage:
				if e.Operation != "" {
					r := o.row(e.Operation)
					r.coverage = append(r.coverage, e.What)
					if len(r.coverage) > 5 {
						r.coverage = r.coverage[len(r.coverage)-5:]
					}
					changed = true
				}
			}
		}
		if changed {
			o.refresh()
		}
	case outcomeMsg:
		if msg.Report == nil {
			return o, nil
		}
		for _, op := range msg.Report.Fuzz.Operations {
			r := o.row(op.Operation)
			if r.Requests == 0 {
				r.Requests, r.Status2xx, r.Status4xx, r.Status5xx, r.Errors =
					op.Requests, op.Status2xx, op.Status4xx, op.Status5xx, op.Errors
			}
		}
		o.refresh()
	case tea.KeyMsg:
		switch {
		case o.cur.move(o.k, msg):
		case key.Matches(msg, o.k.Sort):
			o.sortBy = (o.sortBy + 1) % sortModes
			o.refresh()
		case key.Matches(msg, o.k.Details):
			if len(o.view) > 0 {
				r := o.view[o.cur.cursor]
				return o, openDetail(r.Operation, o.detail(r))
			}
		}
	}
	return o, nil
}

// refresh filters and sorts the rows, keeping the cursor on the same
// operation.
func (o *operationsPane) refresh() {
	sel := o.Selected()
	o.view = o.view[:0]
	for _, r := range o.rows {
		if matches(r.Operation, o.filter) {
			o.view = append(o.view, r)
		}
	}
	sortKey := func(r *opRow) int64 {
		switch o.sortBy {
		case sortByRequests:
			return r.Requests
		case sortBy5xx:
			return r.Status5xx
		case sortByCoverage:
			return r.NewCoverage
		}
		return 0
	}
	sort.SliceStable(o.view, func(i, j int) bool {
		a, b := o.view[i], o.view[j]
		if ka, kb := sortKey(a), sortKey(b); ka != kb {
			return ka > kb
		}
		return a.Operation < b.Operation
	})
	o.cur.setLen(len(o.view))
	for i, r := range o.view {
		if r.Operation == sel {
			o.cur.cursor = i
			o.cur.clamp()
			break
		}
	}
}

func (o *operationsPane) View() string {
	t := o.t
	if len(o.rows) == 0 {
		return fitBlock(t.dim.Render("no requests yet"), o.w, o.h)
	}
	cols := []string{"req", "2xx", "4xx", "5xx", "cov"}
	wide := o.w >= 64
	if wide {
		cols = []string{"req", "2xx", "4xx", "5xx", "err", "cov", "find"}
	}
	nameW := o.w - 2 - 6*len(cols)
	var b strings.Builder
	head := "  " + fitLine("operation", nameW)
	for _, c := range cols {
		head += fmt.Sprintf("%6s", c)
	}
	b.WriteString(t.dim.Render(head))
	from, to := o.cur.window()
	for i := from; i < to; i++ {
		r := o.view[i]
		name := r.Operation
		if r.Skipped || r.skipping {
			name += " ⊘"
		}
		nums := []int64{r.Requests, r.Status2xx, r.Status4xx, r.Status5xx, r.NewCoverage}
		if wide {
			nums = []int64{r.Requests, r.Status2xx, r.Status4xx, r.Status5xx, r.Errors, r.NewCoverage, int64(r.findings)}
		}
		line := marker(i == o.cur.cursor) + fitLine(name, nameW)
		for _, n := range nums {
			line += fmt.Sprintf("%6s", compact(n))
		}
		switch {
		case i == o.cur.cursor:
			line = t.selected.Render(line)
		case r.Skipped || r.skipping:
			line = t.dim.Render(line)
		case r.Status5xx > 0:
			line = t.warn.Render(line)
		}
		b.WriteString("\n" + line)
	}
	if len(o.view) == 0 {
		b.WriteString("\n" + t.dim.Render("no operation matches /"+o.filter))
	}
	return fitBlock(b.String(), o.w, o.h)
}

func (o *operationsPane) detail(r *opRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests      %s\n", thousands(r.Requests))
	fmt.Fprintf(&b, "2xx           %s\n", thousands(r.Status2xx))
	fmt.Fprintf(&b, "4xx           %s\n", thousands(r.Status4xx))
	fmt.Fprintf(&b, "5xx           %s\n", thousands(r.Status5xx))
	fmt.Fprintf(&b, "errors        %s\n", thousands(r.Errors))
	fmt.Fprintf(&b, "new coverage  %s\n", thousands(r.NewCoverage))
	fmt.Fprintf(&b, "findings      %d\n", r.findings)
	if r.Skipped || r.skipping {
		b.WriteString("status        skipped\n")
	}
	if len(r.coverage) > 0 {
		b.WriteString("\nlatest new coverage:\n")
		for _, c := range r.coverage {
			b.WriteString("  + " + c + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
