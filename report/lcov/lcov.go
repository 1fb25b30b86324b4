// Package lcov writes a run's coverage as an lcov tracefile, the format
// geninfo(1) describes and genhtml, Codecov, Coveralls and most IDEs read:
// per source file (SF) its functions (FN, FNDA, FNF, FNH) and measured
// lines (DA, LF, LH).
//
// Counts are 1 for hit and 0 for never hit: whittle knows whether a unit
// ran, not how often.
package lcov

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/whittle-dev/whittle/report/covdata"
)

// TestName is the TN of the records.
const TestName = "whittle"

// Write writes c's functions that have a source file, their paths mapped
// with m (nil: as recorded). It returns how many functions had no file
// and were left out.
func Write(w io.Writer, c *covdata.Coverage, m *covdata.PathMap) (noFile int, err error) {
	files, noFile := c.Files(m)
	bw := bufio.NewWriter(w)
	for _, sf := range files {
		fmt.Fprintf(bw, "TN:%s\nSF:%s\n", TestName, oneLine(sf.Path))
		hit := 0
		for _, ff := range sf.Functions {
			fmt.Fprintf(bw, "FN:%d,%s\n", max(ff.Line, 1), name(ff.Name))
		}
		for _, ff := range sf.Functions {
			n := 0
			if ff.State.Hit() {
				n = 1
				hit++
			}
			fmt.Fprintf(bw, "FNDA:%d,%s\n", n, name(ff.Name))
		}
		fmt.Fprintf(bw, "FNF:%d\nFNH:%d\n", len(sf.Functions), hit)
		lh := 0
		for _, l := range sf.Lines {
			n := 0
			if l.Hit {
				n = 1
				lh++
			}
			fmt.Fprintf(bw, "DA:%d,%d\n", l.Line, n)
		}
		fmt.Fprintf(bw, "LF:%d\nLH:%d\nend_of_record\n", len(sf.Lines), lh)
	}
	if err := bw.Flush(); err != nil {
		return noFile, fmt.Errorf("writing lcov: %w", err)
	}
	return noFile, nil
}

// name is a function name as FN and FNDA records can carry it: genhtml
// reads a name up to the next comma and the record up to the line's end,
// so commas (Go generic instantiations: "F[go.shape.int,go.shape.string]")
// become semicolons and newlines spaces.
func name(s string) string { return strings.ReplaceAll(oneLine(s), ",", ";") }

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}
