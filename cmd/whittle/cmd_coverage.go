package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/cobertura"
	"github.com/whittle-dev/whittle/report/covdata"
	"github.com/whittle-dev/whittle/report/lcov"
)

// coverageExportFormats are the -o formats that export code coverage.
var coverageExportFormats = []string{"lcov", "cobertura"}

func addCoverPathMapFlag(fl *pflag.FlagSet, dst *[]string) {
	fl.StringArrayVar(dst, "cover-path-map", nil, "rewrite source paths in -o lcov/cobertura: FROM=TO replaces a leading FROM, e.g. /srv/app=. or github.com/acme/shop=src (repeatable; the longest FROM wins)")
}

// withCoverPathMap gives the coverage exports among outs the path map.
func withCoverPathMap(outs []output, rules []string) ([]output, error) {
	if len(rules) == 0 {
		return outs, nil
	}
	m, err := covdata.ParsePathMap(rules)
	if err != nil {
		return nil, fmt.Errorf("bad --cover-path-map: %w", err)
	}
	for i := range outs {
		outs[i].pathMap = m
	}
	return outs, nil
}

// reportCoverage is a report's coverage by function, nil when the run
// measured none.
func reportCoverage(r *report.Report) *covdata.Coverage {
	if cc := r.Trace.CodeCoverage; cc != nil {
		return cc.ByFunction
	}
	return nil
}

// errNoCoverage: a coverage export of a run that measured no code.
var errNoCoverage = errors.New("no code coverage was measured")

// writeCoverageExport writes c as lcov or Cobertura.
func writeCoverageExport(w io.Writer, format string, c *covdata.Coverage, m *covdata.PathMap) error {
	if c == nil {
		return fmt.Errorf("%w, so there is no %s file to write (the report's trace.code_coverage says why)", errNoCoverage, format)
	}
	var err error
	switch format {
	case "lcov":
		_, err = lcov.Write(w, c, m)
	case "cobertura":
		_, err = cobertura.Write(w, c, m, cobertura.Options{Version: version})
	default:
		err = fmt.Errorf("unknown coverage format %q", format)
	}
	return err
}

// newCoverageCommand groups the commands that read the coverage of runs:
// reports (-o json) and corpora (--corpus; merged shards included).
func newCoverageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "coverage",
		Short: "Compare and export the code coverage of runs (reports or corpora)",
	}
	cmd.AddCommand(newCoverageDiffCommand(), newCoverageExportCommand())
	return cmd
}

func newCoverageDiffCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "List the functions one run reached and the other did not",
		Long: "diff compares the code coverage of two runs, function by function: what A reached and B\n" +
			"did not, and the reverse, with the hit functions per package. A and B are JSON reports\n" +
			"(whittle run -o json=FILE) or corpus directories (whittle run --corpus DIR, merged\n" +
			"corpora included). For example: before and after a release, or with and without a driver.",
		Example: "  whittle coverage diff before.json after.json\n  whittle coverage diff shards/all ci/corpus --json",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadCoverage(args[0])
			if err != nil {
				return err
			}
			b, err := loadCoverage(args[1])
			if err != nil {
				return err
			}
			d := covdata.Diff(a, b)
			if asJSON {
				return encodeIndented(cmd.OutOrStdout(), diffJSON(args[0], args[1], d))
			}
			printDiff(cmd.OutOrStdout(), args[0], args[1], d)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the difference as JSON")
	return cmd
}

func newCoverageExportCommand() *cobra.Command {
	var outputs, pathMap []string
	cmd := &cobra.Command{
		Use:   "export SOURCE -o FORMAT=FILE...",
		Short: "Write the code coverage of a report or corpus as lcov or Cobertura",
		Long: "export writes the coverage a JSON report or a corpus directory holds (merged shards\n" +
			"included) in the formats coverage tools read: lcov (genhtml, Codecov, Coveralls, IDEs)\n" +
			"and Cobertura XML (GitLab, Jenkins, Azure DevOps).",
		Example: "  whittle coverage export report.json -o lcov=cover.info --cover-path-map github.com/acme/shop=.\n" +
			"  whittle coverage export shards/all -o cobertura=coverage.xml",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			outs, err := parseOutputs(outputs, coverageExportFormats)
			if err != nil {
				return err
			}
			if len(outs) == 0 {
				return fmt.Errorf("nothing to write: name at least one -o lcov=FILE or -o cobertura=FILE")
			}
			if outs, err = withCoverPathMap(outs, pathMap); err != nil {
				return err
			}
			c, err := loadCoverage(args[0])
			if err != nil {
				return err
			}
			for _, o := range outs {
				var buf strings.Builder
				if err := writeCoverageExport(&buf, o.format, c, o.pathMap); err != nil {
					return err
				}
				if err := writeOutput(o.path, []byte(buf.String())); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote:     %s=%s\n", o.format, o.path)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&outputs, "output", "o", nil, "write the coverage: lcov=FILE, cobertura=FILE (repeatable)")
	addCoverPathMapFlag(cmd.Flags(), &pathMap)
	return cmd
}

// loadCoverage reads the coverage by function of a JSON report or a corpus
// directory.
func loadCoverage(path string) (*covdata.Coverage, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading coverage: %w", err)
	}
	if fi.IsDir() {
		c, err := corpus.LoadCoverage(path)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, fmt.Errorf("%s holds no coverage (%s): runs store it when they measure code and keep a corpus there (--corpus)", path, filepath.Join(path, "coverage.json"))
		}
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading coverage: %w", err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a whittle JSON report: %w", path, err)
	}
	if r.Schema != report.SchemaVersion {
		return nil, fmt.Errorf("%s: not a whittle JSON report (schema %q, want %q)", path, r.Schema, report.SchemaVersion)
	}
	c := reportCoverage(&r)
	if c == nil {
		why := "this whittle predates coverage by function"
		if cc := r.Trace.CodeCoverage; cc != nil && cc.Why != "" {
			why = cc.Why
		}
		return nil, fmt.Errorf("%s: %w by function (%s)", path, errNoCoverage, why)
	}
	return c, nil
}

// printDiff says what each run reached that the other did not.
func printDiff(w io.Writer, nameA, nameB string, d covdata.Difference) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "package\tA hit\tB hit\tfunctions\n")
	for _, p := range d.Packages {
		mark := ""
		switch {
		case p.HitA > p.HitB:
			mark = "  A+"
		case p.HitB > p.HitA:
			mark = "  B+"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d%s\n", p.Package, p.HitA, p.HitB, p.Functions, mark)
	}
	tw.Flush()
	section := func(title string, fns []covdata.Function) {
		fmt.Fprintf(w, "\n%s (%d):\n", title, len(fns))
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, f := range fns {
			where := f.File
			if f.Line > 0 {
				where = fmt.Sprintf("%s:%d", f.File, f.Line)
			}
			how := string(f.State)
			if f.Operation != "" {
				how = "by " + f.Operation
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Name, where, how)
		}
		tw.Flush()
	}
	section("reached by A ("+nameA+") only", d.OnlyA)
	section("reached by B ("+nameB+") only", d.OnlyB)
}

type diffFunction struct {
	Name      string `json:"name"`
	Package   string `json:"package"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	State     string `json:"state"`
	Operation string `json:"operation,omitempty"`
}

func diffJSON(a, b string, d covdata.Difference) any {
	conv := func(fns []covdata.Function) []diffFunction {
		out := []diffFunction{}
		for _, f := range fns {
			out = append(out, diffFunction{Name: f.Name, Package: f.Package, File: f.File, Line: f.Line, State: string(f.State), Operation: f.Operation})
		}
		return out
	}
	return struct {
		A        string                 `json:"a"`
		B        string                 `json:"b"`
		OnlyA    []diffFunction         `json:"only_a"`
		OnlyB    []diffFunction         `json:"only_b"`
		Packages []covdata.PackageDelta `json:"packages"`
	}{a, b, conv(d.OnlyA), conv(d.OnlyB), d.Packages}
}
