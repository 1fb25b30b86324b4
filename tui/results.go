package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/report"
)

// summaryLines is the top of the results view: sizes before and after, the
// verification's outcome, the fuzzing totals, reports written and the error
// the run ended with, if any.
func summaryLines(t *theme, o Outcome, w int) []string {
	r := o.Report
	if r == nil {
		r = &report.Report{}
	}
	label := func(s string) string { return " " + t.dim.Render(fmt.Sprintf("%-9s", s)) + " " }
	var lines []string
	refW := min(60, max(10, w-36))
	lines = append(lines, label("original")+fitLine(r.Original.Ref, refW)+fmt.Sprintf(" %9s", report.HumanBytes(r.Original.Size))+
		filesCount(r.Original.Files))
	if m := r.Minimal; m != nil {
		files := m.Files
		if len(r.Files) > 0 {
			// Count files as the tree does: directories are not files.
			files = 0
			for _, f := range r.Files {
				if !strings.HasPrefix(f.Mode, "d") {
					files++
				}
			}
		}
		lines = append(lines, label("minimal")+fitLine(m.Ref, refW)+fmt.Sprintf(" %9s", report.HumanBytes(m.Size))+filesCount(files))
		frac := 0.0
		if r.Original.Size > 0 {
			frac = float64(m.Size) / float64(r.Original.Size)
		}
		ratio := r.Ratio
		if ratio == 0 && m.Size > 0 {
			ratio = float64(r.Original.Size) / float64(m.Size)
		}
		tail := fmt.Sprintf(" %.1f%% of the original, %s", 100*frac, t.good.Render(fmt.Sprintf("%.1f× smaller", ratio)))
		lines = append(lines, label("")+progressBar(t, frac, max(10, min(30, w-50)))+tail)
	} else {
		lines = append(lines, label("minimal")+t.dim.Render("not built"))
	}
	lines = append(lines, label("verified")+verification(t, r.Verification))
	fz := r.Fuzz
	lines = append(lines, label("fuzzing")+fmt.Sprintf("%s · %s · %s · corpus %d · seed %d",
		plural(fz.Requests, "request"), plural(int64(len(fz.Operations)), "operation"),
		plural(int64(len(fz.Findings)), "finding"), fz.CorpusSize, fz.Seed))
	if len(r.Outputs) > 0 {
		lines = append(lines, label("reports")+strings.Join(r.Outputs, " · "))
	}
	if o.Err != nil {
		// The error is what a failed run is about: wrap it, up to 3 lines.
		wrapped := wrapText("✗ "+oneLine(o.Err.Error()), max(10, w-12))
		if len(wrapped) > 3 {
			wrapped = append(wrapped[:2], ansi.Truncate(strings.Join(wrapped[2:], " "), max(10, w-12), "…"))
		}
		for i, l := range wrapped {
			name := ""
			if i == 0 {
				name = "error"
			}
			lines = append(lines, label(name)+t.bad.Render(l))
		}
	}
	for i := range lines {
		lines[i] = fitLine(lines[i], w)
	}
	return lines
}

func filesCount(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" %7s files", thousands(int64(n)))
}

func verification(t *theme, v *report.Verification) string {
	switch {
	case v == nil:
		return t.dim.Render("not run")
	case v.Result == "identical":
		s := t.good.Render("✓ identical") + fmt.Sprintf(": %s/%s answers", thousands(int64(v.Identical)), thousands(int64(v.Total)))
		if v.Volatile > 0 {
			s += fmt.Sprintf(" (%d volatile fields ignored)", v.Volatile)
		}
		return s
	case v.Result == "diverged":
		return t.bad.Render(fmt.Sprintf("✗ diverged: %d of %s answers differ", len(v.Divergences), thousands(int64(v.Total)))) +
			fmt.Sprintf(" (%s identical)", thousands(int64(v.Identical)))
	default:
		return t.bad.Render("✗ not completed: " + oneLine(v.Error))
	}
}

// divergencesPane lists the requests the minimal image answered differently;
// enter shows both answers.
type divergencesPane struct {
	t    *theme
	k    *keyMap
	w, h int

	rows   []report.Divergence
	final  bool // the report's list arrived: later events are already in it
	view   []int
	cur    listCursor
	filter string
}

func newDivergencesPane(t *theme, k *keyMap) *divergencesPane {
	return &divergencesPane{t: t, k: k}
}

func (d *divergencesPane) Init() tea.Cmd { return nil }

func (d *divergencesPane) SetSize(w, h int) {
	d.w, d.h = w, h
	d.cur.setHeight(h)
}

func (d *divergencesPane) Title() string {
	if d.filter != "" {
		return fmt.Sprintf("divergences %d/%d · /%s", len(d.view), len(d.rows), d.filter)
	}
	return fmt.Sprintf("divergences %d", len(d.rows))
}

func (d *divergencesPane) ShortHelp() []key.Binding { return nil }
func (d *divergencesPane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{d.k.Details, d.k.Filter}}
}

func (d *divergencesPane) SetFilter(s string) {
	d.filter = s
	d.refresh()
}

func (d *divergencesPane) Len() int { return len(d.rows) }

func (d *divergencesPane) refresh() {
	d.view = d.view[:0]
	for i, r := range d.rows {
		if matches(r.Operation+" "+r.Request+" "+r.Reason, d.filter) {
			d.view = append(d.view, i)
		}
	}
	d.cur.setLen(len(d.view))
}

func (d *divergencesPane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case eventsMsg:
		if d.final {
			return d, nil
		}
		n := len(d.rows)
		for _, e := range msg {
			if e, ok := e.(event.Divergence); ok {
				d.rows = append(d.rows, report.Divergence{Operation: e.Operation, Request: e.Request,
					Original: e.Original, Minimal: e.Minimal})
			}
		}
		if len(d.rows) != n {
			d.refresh()
		}
	case outcomeMsg:
		// The report's list is complete and says why each answer differs.
		if msg.Report != nil && msg.Report.Verification != nil {
			d.rows = append([]report.Divergence(nil), msg.Report.Verification.Divergences...)
			d.final = true
			d.refresh()
		}
	case tea.KeyMsg:
		switch {
		case d.cur.move(d.k, msg):
		case key.Matches(msg, d.k.Details):
			if len(d.view) > 0 {
				r := d.rows[d.view[d.cur.cursor]]
				return d, openDetail("divergence · "+r.Operation, divergenceDetail(r))
			}
		}
	}
	return d, nil
}

func divergenceDetail(r report.Divergence) string {
	var b strings.Builder
	fmt.Fprintf(&b, "operation  %s\nrequest    %s\n", r.Operation, r.Request)
	if r.Reason != "" {
		fmt.Fprintf(&b, "reason     %s\n", r.Reason)
	}
	for _, s := range []struct{ title, body string }{{"original answered", r.Original}, {"minimal answered", r.Minimal}} {
		b.WriteString("\n" + s.title + "\n")
		for _, l := range strings.Split(strings.TrimRight(s.body, "\n"), "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func (d *divergencesPane) View() string {
	t := d.t
	if len(d.rows) == 0 {
		return fitBlock(t.good.Render("none: the minimal image answered every request as the original did"), d.w, d.h)
	}
	if len(d.view) == 0 {
		return fitBlock(t.dim.Render("no divergence matches /"+d.filter), d.w, d.h)
	}
	var lines []string
	from, to := d.cur.window()
	for i := from; i < to; i++ {
		r := d.rows[d.view[i]]
		line := fitLine(marker(i == d.cur.cursor)+oneLine(r.Operation)+"  "+oneLine(r.Request)+"  "+oneLine(r.Reason), d.w)
		if i == d.cur.cursor {
			line = t.selected.Render(line)
		} else {
			line = t.bad.Render(line)
		}
		lines = append(lines, line)
	}
	return fitBlock(strings.Join(lines, "\n"), d.w, d.h)
}
