package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// doc builds a markdown file.
type doc struct{ strings.Builder }

// p writes a line (go vet checks its format like fmt.Printf's).
func (d *doc) p(format string, a ...any) {
	fmt.Fprintf(&d.Builder, format, a...)
	d.WriteByte('\n')
}

// table writes a markdown table; align has one letter per column, l or r.
func (d *doc) table(align string, header []string, rows [][]string) {
	d.p("| %s |", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
		if i < len(align) && align[i] == 'r' {
			seps[i] = "---:"
		}
	}
	d.p("| %s |", strings.Join(seps, " | "))
	for _, r := range rows {
		d.p("| %s |", strings.Join(r, " | "))
	}
	d.p("")
}

func (d *doc) save(dir, name string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(d.String()), 0o644)
}

func mib(n uint64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

func yesNo(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func f0(v float64) string { return fmt.Sprintf("%.0f", v) }
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

// bar is an ASCII bar of v out of full, width characters wide.
func bar(v, full float64, width int) string {
	n := 0
	if full > 0 {
		n = int(v / full * float64(width))
	}
	n = min(max(n, 0), width)
	return strings.Repeat("#", n) + strings.Repeat(" ", width-n)
}
