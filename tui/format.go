package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// thousands formats n with thousands separators: 12,345.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// compact formats a count in at most five columns: 999, 12.3k, 4.5M.
func compact(n int64) string {
	switch {
	case n < 10_000:
		return strconv.FormatInt(n, 10)
	case n < 1_000_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.1fG", float64(n)/1e9)
	}
}

// plural formats a count and a noun: "1 file", "12,345 files".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return thousands(n) + " " + strings.TrimSuffix(noun, "y") + "ies"
	}
	return thousands(n) + " " + noun + "s"
}

// clock formats an elapsed time as 04:05 or 1:02:03.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// ago formats how long ago something happened: 3s, 2m10s, 1h5m.
func ago(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
	}
}

// fitLine truncates s to w columns, with an ellipsis when cut, and pads it
// with spaces to exactly w columns.
func fitLine(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// fitBlock makes s exactly h lines of exactly w columns.
func fitBlock(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = fitLine(l, w)
	}
	return strings.Join(lines, "\n")
}

// spread puts left and right on one line of w columns, right-aligned; left
// is cut first when both do not fit.
func spread(left, right string, w int) string {
	rw := ansi.StringWidth(right)
	if rw >= w {
		return fitLine(right, w)
	}
	return fitLine(left, w-rw-1) + " " + right
}

// oneLine flattens whitespace so a message fits a table cell.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// wrapText wraps s to w columns, keeping its line breaks.
func wrapText(s string, w int) []string {
	if w < 1 {
		w = 1
	}
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\t", "    "), "\n") {
		// Continuation lines keep the line's indentation.
		body := strings.TrimLeft(l, " ")
		indent := strings.Repeat(" ", min(len(l)-len(body), w/2))
		wrapped := ansi.Hardwrap(ansi.Wordwrap(body, w-len(indent), " /&?,"), w-len(indent), true)
		for _, part := range strings.Split(wrapped, "\n") {
			out = append(out, indent+part)
		}
	}
	return out
}
