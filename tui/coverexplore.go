package tui

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/whittle-dev/whittle/report/covdata"
)

// coverExplorer browses a run's coverage function by function: its
// packages (or source directories) with hit/total and a bar, the least
// covered first; enter opens one into its functions, the never-hit first,
// then those hit at start-up, then those requests reached (with the
// operation that reached them first); enter on a function shows it in
// full. / filters: on the package list it finds functions by name or file
// across every package.
type coverExplorer struct {
	t    *theme
	k    *keyMap
	w, h int

	cov    *covdata.Coverage
	why    string // why there is no coverage by function
	byPkg  map[string][]*covdata.Function
	sortBy coverSort

	open   string // the package opened; "" for the package list
	pkgs   []covdata.PackageSummary
	fns    []*covdata.Function // the functions listed: the open package's, or the filter's finds
	cur    listCursor
	back   int // the package list's cursor, restored on esc
	filter string
}

type coverSort int

const (
	leastCoveredFirst coverSort = iota
	byName
)

func newCoverExplorer(t *theme, k *keyMap) *coverExplorer {
	return &coverExplorer{t: t, k: k, why: "no coverage by function: the run measured no code"}
}

func (c *coverExplorer) Init() tea.Cmd { return nil }

func (c *coverExplorer) SetSize(w, h int) {
	c.w, c.h = w, h
	c.cur.setHeight(h - 1)
}

// setCoverage shows the coverage of a finished run (nil: why there is none).
func (c *coverExplorer) setCoverage(cov *covdata.Coverage, why string) {
	c.cov, c.open, c.filter = cov, "", ""
	if why != "" {
		c.why = why
	}
	c.byPkg = map[string][]*covdata.Function{}
	if cov != nil {
		for i := range cov.Functions {
			f := &cov.Functions[i]
			c.byPkg[f.Package] = append(c.byPkg[f.Package], f)
		}
	}
	c.refresh()
}

// Label is the tab's label: hit/total functions.
func (c *coverExplorer) Label() string {
	if c.cov == nil {
		return "coverage –"
	}
	total, hit, _, _ := c.cov.Totals()
	return fmt.Sprintf("coverage %s/%s", thousands(int64(hit)), thousands(int64(total)))
}

func (c *coverExplorer) Title() string {
	if c.cov == nil {
		return "coverage"
	}
	total, hit, startup, requests := c.cov.Totals()
	s := fmt.Sprintf("coverage · %s of %s functions hit · %d at start-up · %d by requests", thousands(int64(hit)), thousands(int64(total)), startup, requests)
	if c.open != "" {
		s = "coverage · " + c.open
		if p, ok := c.pkg(c.open); ok {
			s += fmt.Sprintf(" · %d/%d", p.Hit, p.Functions)
		}
	}
	if c.filter != "" {
		s += " · /" + c.filter
	}
	return s
}

func (c *coverExplorer) ShortHelp() []key.Binding { return []key.Binding{c.k.Sort} }
func (c *coverExplorer) FullHelp() [][]key.Binding {
	return [][]key.Binding{{c.k.Details, c.k.Back, c.k.Filter, c.k.Sort}}
}

func (c *coverExplorer) SetFilter(s string) {
	c.filter = s
	c.refresh()
	c.cur.cursor = 0
	c.cur.clamp()
}

// CanGoBack reports whether esc returns to the package list.
func (c *coverExplorer) CanGoBack() bool { return c.open != "" }

// GoBack returns to the package list.
func (c *coverExplorer) GoBack() {
	c.open, c.filter = "", ""
	c.refresh()
	c.cur.cursor = c.back
	c.cur.clamp()
}

func (c *coverExplorer) pkg(name string) (covdata.PackageSummary, bool) {
	for _, p := range c.cov.Packages {
		if p.Package == name {
			return p, true
		}
	}
	return covdata.PackageSummary{}, false
}

// listingFunctions: the rows are functions (a package opened, or a
// filter finding them), else packages.
func (c *coverExplorer) listingFunctions() bool { return c.open != "" || c.filter != "" }

func (c *coverExplorer) refresh() {
	c.pkgs, c.fns = nil, nil
	if c.cov == nil {
		c.cur.setLen(0)
		return
	}
	switch {
	case c.open != "":
		for _, f := range c.byPkg[c.open] {
			if matches(f.Name, c.filter) || matches(f.File, c.filter) {
				c.fns = append(c.fns, f)
			}
		}
		c.sortFunctions()
		c.cur.setLen(len(c.fns))
	case c.filter != "":
		for i := range c.cov.Functions {
			f := &c.cov.Functions[i]
			if matches(f.Name, c.filter) || matches(f.File, c.filter) {
				c.fns = append(c.fns, f)
			}
		}
		c.sortFunctions()
		c.cur.setLen(len(c.fns))
	default:
		c.pkgs = append(c.pkgs, c.cov.Packages...)
		sort.SliceStable(c.pkgs, func(i, j int) bool {
			a, b := c.pkgs[i], c.pkgs[j]
			if c.sortBy == leastCoveredFirst {
				if ra, rb := ratio(a.Hit, a.Functions), ratio(b.Hit, b.Functions); ra != rb {
					return ra < rb
				}
			}
			return a.Package < b.Package
		})
		c.cur.setLen(len(c.pkgs))
	}
}

// stateOrder puts what was never reached first.
func stateOrder(s covdata.State) int {
	switch s {
	case covdata.Never:
		return 0
	case covdata.Startup:
		return 1
	case covdata.Background:
		return 2
	}
	return 3
}

func (c *coverExplorer) sortFunctions() {
	sort.SliceStable(c.fns, func(i, j int) bool {
		a, b := c.fns[i], c.fns[j]
		if c.sortBy == leastCoveredFirst && stateOrder(a.State) != stateOrder(b.State) {
			return stateOrder(a.State) < stateOrder(b.State)
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
}

func ratio(hit, total int) float64 {
	if total == 0 {
		return 1
	}
	return float64(hit) / float64(total)
}

func (c *coverExplorer) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case outcomeMsg:
		if r := msg.Report; r != nil {
			why := ""
			if cc := r.Trace.CodeCoverage; cc != nil && cc.ByFunction == nil && cc.Why != "" {
				why = "no code coverage: " + cc.Why
			}
			var cov *covdata.Coverage
			if cc := r.Trace.CodeCoverage; cc != nil {
				cov = cc.ByFunction
			}
			c.setCoverage(cov, why)
		}
	case tea.KeyMsg:
		switch {
		case c.cur.move(c.k, msg):
		case key.Matches(msg, c.k.Sort):
			c.sortBy = 1 - c.sortBy
			c.refresh()
		case key.Matches(msg, c.k.Details):
			if c.listingFunctions() {
				if len(c.fns) > 0 {
					f := c.fns[c.cur.cursor]
					return c, openDetail(f.Name, functionDetail(f))
				}
			} else if len(c.pkgs) > 0 {
				c.back = c.cur.cursor
				c.open = c.pkgs[c.cur.cursor].Package
				c.refresh()
				c.cur.cursor = 0
				c.cur.clamp()
			}
		}
	}
	return c, nil
}

// stateLabel says how a function was reached, in a few columns.
func stateLabel(f *covdata.Function) string {
	switch f.State {
	case covdata.Never:
		return "✗ never"
	case covdata.Startup:
		return "● start-up"
	case covdata.Background:
		return "● background"
	}
	if f.Operation != "" {
		return "✓ " + f.Operation
	}
	return "✓ requests"
}

func where(f *covdata.Function) string {
	switch {
	case f.File == "":
		return "(no source file)"
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// shortWhere is where with the file's base name only.
func shortWhere(f *covdata.Function) string {
	if f.File == "" {
		return where(f)
	}
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", path.Base(f.File), f.Line)
	}
	return path.Base(f.File)
}

// fitLeft fits s in w columns keeping its end (a path's file name).
func fitLeft(s string, w int) string {
	if ansi.StringWidth(s) > w {
		s = ansi.TruncateLeft(s, ansi.StringWidth(s)-w+1, "…")
	}
	return fitLine(s, w)
}

func functionDetail(f *covdata.Function) string {
	var b strings.Builder
	fmt.Fprintf(&b, "function   %s\n", f.Name)
	fmt.Fprintf(&b, "package    %s\n", f.Package)
	fmt.Fprintf(&b, "source     %s\n", where(f))
	if f.EndLine > f.Line {
		fmt.Fprintf(&b, "lines      %d-%d\n", f.Line, f.EndLine)
	}
	switch f.State {
	case covdata.Never:
		b.WriteString("\nnever hit during the run\n")
	case covdata.Startup:
		fmt.Fprintf(&b, "\nhit at start-up, %s into the run\n", clock(f.FirstHit.Round(time.Second)))
	case covdata.Background:
		fmt.Fprintf(&b, "\nfirst hit %s into the run by no request (a timer, a later container's start)\n", clock(f.FirstHit.Round(time.Second)))
	default:
		by := "a request outside the fuzzing loop"
		if f.Operation != "" {
			by = "a request of " + f.Operation
		}
		fmt.Fprintf(&b, "\nfirst hit %s into the run, by %s\n", clock(f.FirstHit.Round(time.Second)), by)
	}
	if len(f.LinesHit) > 0 || len(f.LinesMissed) > 0 {
		fmt.Fprintf(&b, "\nlines hit     %s\n", orNone(covdata.FormatLines(f.LinesHit)))
		fmt.Fprintf(&b, "lines missed  %s\n", orNone(covdata.FormatLines(f.LinesMissed)))
	}
	return strings.TrimRight(b.String(), "\n")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (c *coverExplorer) View() string {
	t := c.t
	if c.cov == nil {
		return fitBlock(t.dim.Render(c.why), c.w, c.h)
	}
	var lines []string
	from, to := c.cur.window()
	if c.listingFunctions() {
		stateW := min(30, max(12, c.w/4))
		whereW := min(40, max(10, c.w/3))
		nameW := max(10, c.w-2-whereW-1-2-stateW)
		lines = append(lines, t.dim.Render(fitLine("  "+fitLine("function", nameW)+" "+fitLine("source", whereW)+"  "+"reached", c.w)))
		for i := from; i < to; i++ {
			f := c.fns[i]
			name, src := f.Name, where(f)
			if c.open != "" {
				// In one package: names without it, files by their base.
				name = strings.TrimPrefix(name, f.Package+".")
				src = shortWhere(f)
			}
			line := marker(i == c.cur.cursor) + fitLine(name, nameW) + " " + fitLeft(src, whereW) + "  " + fitLine(stateLabel(f), stateW)
			line = fitLine(line, c.w)
			switch {
			case i == c.cur.cursor:
				line = t.selected.Render(line)
			case f.State == covdata.Never:
				line = t.bad.Render(line)
			case f.State == covdata.Startup || f.State == covdata.Background:
				line = t.dim.Render(line)
			}
			lines = append(lines, line)
		}
		if len(c.fns) == 0 {
			lines = append(lines, t.dim.Render("no function matches /"+c.filter))
		}
		return fitBlock(strings.Join(lines, "\n"), c.w, c.h)
	}
	barW := min(24, max(6, c.w/5))
	split := c.w >= 100 // room for the start-up and requests columns
	extraW := 0
	head := ""
	if split {
		extraW, head = 20, "  start-up  requests"
	}
	nameW := max(10, c.w-2-10-1-barW-6-extraW)
	lines = append(lines, t.dim.Render(fitLine("  "+fitLine("package", nameW)+fmt.Sprintf(" %9s ", "hit/total")+fitLine("", barW)+"      "+head, c.w)))
	for i := from; i < to; i++ {
		p := c.pkgs[i]
		r := ratio(p.Hit, p.Functions)
		line := marker(i == c.cur.cursor) + fitLeft(p.Package, nameW) + fmt.Sprintf(" %9s ", fmt.Sprintf("%d/%d", p.Hit, p.Functions))
		rest := fmt.Sprintf(" %4.0f%%", 100*r)
		if split {
			rest += fmt.Sprintf("  %8d  %8d", p.AtStartup, p.ByRequests)
		}
		if i == c.cur.cursor {
			lines = append(lines, t.selected.Render(fitLine(line+ansi.Strip(progressBar(t, r, barW))+rest, c.w)))
			continue
		}
		lines = append(lines, fitLine(line+progressBar(t, r, barW)+rest, c.w))
	}
	return fitBlock(strings.Join(lines, "\n"), c.w, c.h)
}
