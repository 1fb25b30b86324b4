package covdata

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxLine bounds a line number read back: a source file has fewer.
const maxLine = 1 << 24

// maxListLines bounds the lines one list may expand to when parsed: a
// function has fewer.
const maxListLines = 1 << 16

// FormatLines writes sorted, distinct lines as ranges: "3-5,9,12-13".
func FormatLines(lines []int) string {
	var b strings.Builder
	for i := 0; i < len(lines); {
		j := i
		for j+1 < len(lines) && lines[j+1] == lines[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(lines[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(lines[j]))
		}
		i = j + 1
	}
	return b.String()
}

// ParseLines reads what FormatLines writes; the result is sorted and
// distinct. Lines are positive; a list expands to at most 65536 lines.
func ParseLines(s string) ([]int, error) { return parseLines(s, maxListLines) }

func parseLines(s string, limit int) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseLine(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parseLine(hi); err != nil {
				return nil, err
			}
			if b < a || b-a >= limit {
				return nil, fmt.Errorf("bad line range %q", part)
			}
		}
		if len(out)+(b-a+1) > limit {
			return nil, fmt.Errorf("line list %q expands to more than %d lines", truncate(s, 40), limit)
		}
		for l := a; l <= b; l++ {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func parseLine(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > maxLine {
		return 0, fmt.Errorf("bad line number %q", truncate(s, 20))
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// addLines merges sorted distinct lines into sorted distinct lines.
func addLines(a, b []int) []int {
	if len(b) == 0 {
		return a
	}
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// removeLines drops from a the lines in b.
func removeLines(a, b []int) []int {
	if len(a) == 0 || len(b) == 0 {
		return a
	}
	out := a[:0:0]
	for _, l := range a {
		if _, found := slices.BinarySearch(b, l); !found {
			out = append(out, l)
		}
	}
	return out
}
