package main

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// GoBench is one benchmark of `go test -bench` output with every run's
// metrics (unit → values, one per -count run).
type GoBench struct {
	Name    string
	Metrics map[string][]float64
}

// Median of a metric, and whether the benchmark reported it.
func (b GoBench) Median(unit string) (float64, bool) {
	v := b.Metrics[unit]
	if len(v) == 0 {
		return 0, false
	}
	return median(v), true
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parseGoBench reads `go test -bench` output: benchmarks in order of first
// appearance, and the SKIP lines (a benchmark that skipped measured nothing).
func parseGoBench(r io.Reader) (benches []GoBench, skips []string) {
	idx := map[string]int{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.Contains(line, "SKIP") {
			skips = append(skips, line)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		i, ok := idx[m[1]]
		if !ok {
			i = len(benches)
			idx[m[1]] = i
			benches = append(benches, GoBench{Name: m[1], Metrics: map[string][]float64{}})
		}
		f := strings.Fields(m[2])
		for j := 0; j+1 < len(f); j += 2 {
			if v, err := strconv.ParseFloat(f[j], 64); err == nil {
				benches[i].Metrics[f[j+1]] = append(benches[i].Metrics[f[j+1]], v)
			}
		}
	}
	return benches, skips
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
