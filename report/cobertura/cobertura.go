// Package cobertura writes a run's coverage as Cobertura XML (the
// coverage-04.dtd format that GitLab, Jenkins, Azure DevOps and
// ReportGenerator read): a package per Go package or source directory, a
// class per source file, its functions as methods, its measured lines.
//
// Hits are 1 or 0: whittle knows whether a unit ran, not how often.
// Branches are not measured: branch-rate is 0 and no line is a branch.
package cobertura

import (
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"time"

	"github.com/whittle-dev/whittle/report/covdata"
)

// DocType is the document type declaration of coverage-04.dtd.
const DocType = `<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">`

type coverage struct {
	XMLName         xml.Name `xml:"coverage"`
	LineRate        string   `xml:"line-rate,attr"`
	BranchRate      string   `xml:"branch-rate,attr"`
	LinesCovered    int      `xml:"lines-covered,attr"`
	LinesValid      int      `xml:"lines-valid,attr"`
	BranchesCovered int      `xml:"branches-covered,attr"`
	BranchesValid   int      `xml:"branches-valid,attr"`
	Complexity      string   `xml:"complexity,attr"`
	Version         string   `xml:"version,attr"`
	Timestamp       int64    `xml:"timestamp,attr"`
	Sources         *sources `xml:"sources,omitempty"`
	Packages        packages `xml:"packages"`
}

// The wrappers are elements the DTD requires even when empty (a ">" path
// in a tag omits them then).
type (
	packages struct {
		Package []pkg `xml:"package"`
	}
	classes struct {
		Class []class `xml:"class"`
	}
	methods struct {
		Method []method `xml:"method"`
	}
	lines struct {
		Line []line `xml:"line"`
	}
)

type sources struct {
	Source []string `xml:"source"`
}

type pkg struct {
	Name       string  `xml:"name,attr"`
	LineRate   string  `xml:"line-rate,attr"`
	BranchRate string  `xml:"branch-rate,attr"`
	Complexity string  `xml:"complexity,attr"`
	Classes    classes `xml:"classes"`
}

type class struct {
	Name       string  `xml:"name,attr"`
	Filename   string  `xml:"filename,attr"`
	LineRate   string  `xml:"line-rate,attr"`
	BranchRate string  `xml:"branch-rate,attr"`
	Complexity string  `xml:"complexity,attr"`
	Methods    methods `xml:"methods"`
	Lines      lines   `xml:"lines"`
}

type method struct {
	Name       string `xml:"name,attr"`
	Signature  string `xml:"signature,attr"`
	LineRate   string `xml:"line-rate,attr"`
	BranchRate string `xml:"branch-rate,attr"`
	Complexity string `xml:"complexity,attr"`
	Lines      lines  `xml:"lines"`
}

type line struct {
	Number int    `xml:"number,attr"`
	Hits   int    `xml:"hits,attr"`
	Branch string `xml:"branch,attr"`
}

// Options say what the document's header records.
type Options struct {
	// Version is the producer's version (whittle's).
	Version string
	// Sources are the source roots the file names are relative to, when
	// they are (a checkout after a path map); none: names as recorded.
	Sources []string
	// Time is the timestamp; default: the coverage's start.
	Time time.Time
}

// Write writes c's functions that have a source file, their paths mapped
// with m (nil: as recorded). It returns how many functions had no file
// and were left out.
func Write(w io.Writer, c *covdata.Coverage, m *covdata.PathMap, opts Options) (noFile int, err error) {
	files, noFile := c.Files(m)
	ts := opts.Time
	if ts.IsZero() {
		ts = c.Started
	}
	doc := coverage{BranchRate: "0", Complexity: "0", Version: opts.Version, Timestamp: ts.UnixMilli()}
	if doc.Version == "" {
		doc.Version = "whittle"
	}
	if len(opts.Sources) > 0 {
		doc.Sources = &sources{Source: opts.Sources}
	}
	byPkg := map[string][]covdata.SourceFile{}
	for _, sf := range files {
		byPkg[sf.Package] = append(byPkg[sf.Package], sf)
	}
	names := make([]string, 0, len(byPkg))
	for n := range byPkg {
		names = append(names, n)
	}
	sort.Strings(names)
	totalHit, totalValid := 0, 0
	for _, n := range names {
		p := pkg{Name: n, BranchRate: "0", Complexity: "0"}
		pHit, pValid := 0, 0
		for _, sf := range byPkg[n] {
			cl, hit, valid := fileClass(sf)
			p.Classes.Class = append(p.Classes.Class, cl)
			pHit, pValid = pHit+hit, pValid+valid
		}
		p.LineRate = rate(pHit, pValid)
		doc.Packages.Package = append(doc.Packages.Package, p)
		totalHit, totalValid = totalHit+pHit, totalValid+pValid
	}
	doc.LinesCovered, doc.LinesValid, doc.LineRate = totalHit, totalValid, rate(totalHit, totalValid)
	if _, err := io.WriteString(w, xml.Header+DocType+"\n"); err != nil {
		return noFile, fmt.Errorf("writing Cobertura XML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return noFile, fmt.Errorf("writing Cobertura XML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return noFile, fmt.Errorf("writing Cobertura XML: %w", err)
	}
	return noFile, nil
}

// fileClass is a source file as a class: its methods with their lines.
func fileClass(sf covdata.SourceFile) (class, int, int) {
	cl := class{Name: path.Base(sf.Path), Filename: sf.Path, BranchRate: "0", Complexity: "0"}
	byFunc := map[*covdata.Function][]line{}
	hit := 0
	for _, l := range sf.Lines {
		ln := line{Number: l.Line, Branch: "false"}
		if l.Hit {
			ln.Hits = 1
			hit++
		}
		cl.Lines.Line = append(cl.Lines.Line, ln)
		byFunc[l.Function] = append(byFunc[l.Function], ln)
	}
	for _, ff := range sf.Functions {
		ls := byFunc[ff.Function]
		mh := 0
		for _, l := range ls {
			if l.Hits > 0 {
				mh++
			}
		}
		r := rate(mh, len(ls))
		if len(ls) == 0 {
			r = rate(b2i(ff.State.Hit()), 1)
		}
		cl.Methods.Method = append(cl.Methods.Method, method{Name: ff.Name, Signature: "", LineRate: r, BranchRate: "0", Complexity: "0", Lines: lines{ls}})
	}
	cl.LineRate = rate(hit, len(sf.Lines))
	return cl, hit, len(sf.Lines)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rate is hit/valid as Cobertura writes rates; 1 when nothing was valid.
func rate(hit, valid int) string {
	if valid == 0 {
		return "1"
	}
	return strconv.FormatFloat(float64(hit)/float64(valid), 'f', 4, 64)
}
