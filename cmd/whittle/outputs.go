package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/seccomp"
)

type output struct {
	format string
	path   string
}

var outputFormats = []string{"json", "junit", "sarif", "seccomp"}

func parseOutputs(specs []string) ([]output, error) {
	var outs []output
	for _, s := range specs {
		format, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("bad -o %q: want FORMAT=FILE with FORMAT one of %s", s, strings.Join(outputFormats, ", "))
		}
		known := false
		for _, f := range outputFormats {
			known = known || f == format
		}
		if !known {
			return nil, fmt.Errorf("unknown output format %q in -o %q: use one of %s", format, s, strings.Join(outputFormats, ", "))
		}
		outs = append(outs, output{format: format, path: path})
	}
	return outs, nil
}

// writeOutputs writes each requested report atomically (temp file + rename).
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
		default:
			err = fmt.Errorf("output format %s is not implemented yet", o.format)
		}
		if err != nil {
			return fmt.Errorf("writing %s report: %w", o.format, err)
		}
		if err := writeFileAtomic(o.path, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
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
