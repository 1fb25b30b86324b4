package tui

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/whittle-dev/whittle/report"
)

// treeNode is a directory or file of the minimal image.
type treeNode struct {
	name     string
	path     string
	dir      bool
	file     *report.File // nil for directories only implied by their contents
	size     int64        // a file's size, a directory's total
	files    int          // files below a directory
	children []*treeNode
	parent   *treeNode
	expanded bool
	visible  bool // under the current filter
}

// buildTree makes the tree of files (paths are absolute in the image).
func buildTree(files []report.File) *treeNode {
	root := &treeNode{name: "/", path: "/", dir: true, expanded: true}
	index := map[string]*treeNode{"/": root}
	var node func(p string) *treeNode
	node = func(p string) *treeNode {
		if n := index[p]; n != nil {
			return n
		}
		parent := node(path.Dir(p))
		n := &treeNode{name: path.Base(p), path: p, parent: parent, dir: true}
		parent.children = append(parent.children, n)
		index[p] = n
		return n
	}
	for i := range files {
		f := &files[i]
		p := path.Clean("/" + f.Path)
		if p == "/" {
			continue
		}
		n := node(p)
		n.file = f
		n.dir = strings.HasPrefix(f.Mode, "d")
	}
	var walk func(n *treeNode, depth int) (int64, int)
	count := 0
	walk = func(n *treeNode, depth int) (int64, int) {
		count++
		sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
		if !n.dir {
			if n.file != nil {
				n.size = n.file.Size
			}
			return n.size, 1
		}
		for _, c := range n.children {
			s, k := walk(c, depth+1)
			n.size += s
			n.files += k
		}
		return n.size, n.files
	}
	walk(root, 0)
	// Small trees open fully; large ones show three levels to start with.
	var open func(n *treeNode, depth int)
	open = func(n *treeNode, depth int) {
		n.expanded = count <= 400 || depth < 3
		for _, c := range n.children {
			open(c, depth+1)
		}
	}
	open(root, 0)
	return root
}

// fileTreePane browses the minimal image's files, like dive's tree, with
// the reason each was kept.
type fileTreePane struct {
	t    *theme
	k    *keyMap
	w, h int

	root   *treeNode
	dirs   int         // directories in the tree
	rows   []*treeNode // visible nodes in order
	cur    listCursor
	filter string
}

func newFileTreePane(t *theme, k *keyMap) *fileTreePane {
	return &fileTreePane{t: t, k: k, root: buildTree(nil)}
}

func (f *fileTreePane) Init() tea.Cmd { return nil }

func (f *fileTreePane) SetSize(w, h int) {
	f.w, f.h = w, h
	f.cur.setHeight(h - 1)
}

func (f *fileTreePane) Title() string {
	s := fmt.Sprintf("files %s · %s", thousands(int64(f.root.files)), report.HumanBytes(f.root.size))
	if f.dirs > 0 {
		s = fmt.Sprintf("files %s in %s · %s", thousands(int64(f.root.files)), plural(int64(f.dirs), "directory"), report.HumanBytes(f.root.size))
	}
	if f.filter != "" {
		s += " · /" + f.filter
	}
	return s
}

func (f *fileTreePane) ShortHelp() []key.Binding { return []key.Binding{f.k.Collapse, f.k.Expand} }
func (f *fileTreePane) FullHelp() [][]key.Binding {
	return [][]key.Binding{{f.k.Details, f.k.Collapse, f.k.Expand, f.k.Filter}}
}

func (f *fileTreePane) SetFilter(s string) {
	f.filter = s
	f.refresh()
	f.cur.cursor = 0
	f.cur.clamp()
}

func (f *fileTreePane) setFiles(files []report.File) {
	f.root = buildTree(files)
	f.dirs = 0
	var count func(n *treeNode)
	count = func(n *treeNode) {
		for _, c := range n.children {
			if c.dir {
				f.dirs++
				count(c)
			}
		}
	}
	count(f.root)
	f.refresh()
}

// refresh recomputes the visible rows; under a filter, a node shows when its
// path or a descendant's matches, and directories open.
func (f *fileTreePane) refresh() {
	var mark func(n *treeNode) bool
	mark = func(n *treeNode) bool {
		n.visible = f.filter == "" || matches(n.path, f.filter)
		for _, c := range n.children {
			if mark(c) {
				n.visible = true
			}
		}
		return n.visible
	}
	mark(f.root)
	f.rows = f.rows[:0]
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		for _, c := range n.children {
			if !c.visible {
				continue
			}
			f.rows = append(f.rows, c)
			if c.dir && (c.expanded || f.filter != "") {
				walk(c)
			}
		}
	}
	walk(f.root)
	f.cur.setLen(len(f.rows))
}

func (f *fileTreePane) selected() *treeNode {
	if len(f.rows) == 0 {
		return nil
	}
	return f.rows[f.cur.cursor]
}

func (f *fileTreePane) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case outcomeMsg:
		if msg.Report != nil {
			f.setFiles(msg.Report.Files)
		}
	case tea.KeyMsg:
		n := f.selected()
		switch {
		case f.cur.move(f.k, msg):
		case n == nil:
		case key.Matches(msg, f.k.Details):
			if n.dir {
				n.expanded = !n.expanded
				f.refresh()
			} else {
				return f, openDetail(n.path, fileDetail(n))
			}
		case key.Matches(msg, f.k.Expand):
			if n.dir && !n.expanded {
				n.expanded = true
				f.refresh()
			}
		case key.Matches(msg, f.k.Collapse):
			if n.dir && n.expanded && f.filter == "" {
				n.expanded = false
				f.refresh()
			} else if n.parent != nil && n.parent != f.root {
				for i, r := range f.rows {
					if r == n.parent {
						f.cur.cursor = i
						f.cur.clamp()
					}
				}
			}
		}
	}
	return f, nil
}

func fileDetail(n *treeNode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "path    %s\n", n.path)
	if n.file != nil {
		fmt.Fprintf(&b, "mode    %s\n", n.file.Mode)
		if n.file.Linkname != "" {
			fmt.Fprintf(&b, "link    → %s\n", n.file.Linkname)
		}
	}
	fmt.Fprintf(&b, "size    %s (%s bytes)\n", report.HumanBytes(n.size), thousands(n.size))
	b.WriteString("\nkept because\n")
	if n.file == nil || len(n.file.Reasons) == 0 {
		b.WriteString("  (no reason recorded)\n")
	} else {
		for _, r := range n.file.Reasons {
			b.WriteString("  • " + r + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// prefix draws the tree branches in front of n.
func (f *fileTreePane) prefix(n *treeNode) string {
	var parts []string
	for a := n.parent; a != nil && a != f.root; a = a.parent {
		if f.lastVisible(a) {
			parts = append(parts, "   ")
		} else {
			parts = append(parts, "│  ")
		}
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	if f.lastVisible(n) {
		b.WriteString("└─ ")
	} else {
		b.WriteString("├─ ")
	}
	return b.String()
}

// lastVisible reports whether n is the last visible child of its parent.
func (f *fileTreePane) lastVisible(n *treeNode) bool {
	sib := n.parent.children
	for i := len(sib) - 1; i >= 0; i-- {
		if sib[i].visible {
			return sib[i] == n
		}
	}
	return true
}

func (f *fileTreePane) View() string {
	t := f.t
	if f.root.files == 0 && len(f.root.children) == 0 {
		return fitBlock(t.dim.Render("no minimal image was built"), f.w, f.h)
	}
	withMode := f.w >= 90
	reasonW := max(12, f.w*2/5)
	lead := 2 + 9
	if withMode {
		lead += 11
	}
	nameW := f.w - lead - reasonW - 1
	head := "  "
	if withMode {
		head += fitLine("mode", 11)
	}
	head += fmt.Sprintf("%8s ", "size") + fitLine("path", nameW) + " kept because"
	lines := []string{t.dim.Render(fitLine(head, f.w))}
	from, to := f.cur.window()
	for i := from; i < to; i++ {
		n := f.rows[i]
		name := n.name
		reason := ""
		switch {
		case n.dir:
			icon := "▾ "
			if !n.expanded && f.filter == "" {
				icon = "▸ "
			}
			name = icon + name + "/"
			reason = plural(int64(n.files), "file")
		case n.file != nil:
			if n.file.Linkname != "" {
				name += " → " + n.file.Linkname
			}
			if len(n.file.Reasons) > 0 {
				reason = n.file.Reasons[0]
				if len(n.file.Reasons) > 1 {
					reason += fmt.Sprintf(" +%d", len(n.file.Reasons)-1)
				}
			}
		}
		line := marker(i == f.cur.cursor)
		if withMode {
			mode := ""
			if n.file != nil {
				mode = n.file.Mode
			}
			line += fitLine(mode, 11)
		}
		line += fmt.Sprintf("%8s ", report.HumanBytes(n.size)) + fitLine(f.prefix(n)+name, nameW) + " " + fitLine(reason, reasonW)
		if i == f.cur.cursor {
			line = t.selected.Render(line)
		} else if n.dir {
			line = t.accent.Render(line)
		}
		lines = append(lines, line)
	}
	if len(f.rows) == 0 && f.filter != "" {
		lines = append(lines, t.dim.Render("no path matches /"+f.filter))
	}
	return fitBlock(strings.Join(lines, "\n"), f.w, f.h)
}
