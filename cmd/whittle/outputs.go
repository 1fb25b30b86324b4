package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/whittle-dev/whittle/internal/atomicfile"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/covdata"
	"github.com/whittle-dev/whittle/seccomp"
)

type output struct {
	format string
	path   string
	// pathMap rewrites source paths in coverage exports (--cover-path-map).
	pathMap *covdata.PathMap
}

// Formats of -o FORMAT=FILE, per command: the flag means the same in each.
var (
	runOutputFormats    = []string{"json", "junit", "sarif", "seccomp", "lcov", "cobertura"}
	replayOutputFormats = []string{"json"}
)

// parseOutputs reads -o FORMAT=FILE values; formats lists what the command
// writes.
func parseOutputs(specs []string, formats []string) ([]output, error) {
	var outs []output
	for _, s := range specs {
		format, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("bad -o %q: want FORMAT=FILE with FORMAT one of %s, e.g. -o %s=%s", s, strings.Join(formats, ", "), formats[0], exampleFile(s, formats[0]))
		}
		if !slices.Contains(formats, format) {
			return nil, fmt.Errorf("unknown output format %q in -o %q: use one of %s", format, s, strings.Join(formats, ", "))
		}
		outs = append(outs, output{format: format, path: path})
	}
	return outs, nil
}

// exampleFile is the file a malformed -o value most likely meant.
func exampleFile(value, format string) string {
	if value != "" && !strings.Contains(value, "=") && value != format {
		return value
	}
	return "whittle." + format
}

// writeOutputs writes each requested report atomically (internal/atomicfile).
func writeOutputs(r *report.Report, outs []output) error {
	for _, o := range outs {
		r.Outputs = append(r.Outputs, o.format+"="+o.path)
	}
	for _, o := range outs {
		var buf bytes.Buffer
		var err error
		switch o.format {
		case "json":
			err = report.WriteJSON(&buf, r)
		case "junit":
			err = report.WriteJUnit(&buf, r)
		case "sarif":
			err = report.WriteSARIF(&buf, r)
		case "seccomp":
			err = writeSeccomp(&buf, r)
		case "lcov", "cobertura":
			err = writeCoverageExport(&buf, o.format, reportCoverage(r), o.pathMap)
		default:
			err = fmt.Errorf("output format %s is not implemented yet", o.format)
		}
		if err != nil {
			return fmt.Errorf("writing %s report: %w", o.format, err)
		}
		if err := writeOutput(o.path, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// writeOutput writes an output file of any command: its directory is made
// when missing, the file replaced atomically with mode 0644 less the umask.
func writeOutput(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return atomicfile.WriteFile(path, data)
}

// writeSeccomp writes the docker seccomp profile of the observed syscalls.
func writeSeccomp(w io.Writer, r *report.Report) error {
	if len(r.Trace.Syscalls) == 0 {
		return fmt.Errorf("no syscalls were traced, so there is no profile to write")
	}
	p, _ := seccomp.Generate(r.Trace.Syscalls)
	b, err := p.JSON()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
