package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/covdata/covtest"
	"github.com/whittle-dev/whittle/verify"
)

// Output files are read by other users: in CI whittle runs under sudo and
// the upload steps run as the runner user. Every output (run's -o reports,
// replay's -o) gets 0644 less the umask, as a file made with os.WriteFile.
func TestOutputFileModes(t *testing.T) {
	rep := &report.Report{}
	rep.Trace.Syscalls = []string{"read", "write", "exit_group"}
	rep.Trace.CodeCoverage = &report.CodeCoverage{ByFunction: covtest.Coverage()}
	for _, c := range []struct {
		umask int
		want  fs.FileMode
	}{{0o022, 0o644}, {0o027, 0o640}} {
		dir := t.TempDir()
		var outs []output
		for _, format := range runOutputFormats {
			outs = append(outs, output{format: format, path: filepath.Join(dir, "reports", "whittle."+format)})
		}
		replayOut := filepath.Join(dir, "replay.json")
		old := syscall.Umask(c.umask)
		err := writeOutputs(rep, outs)
		if err == nil {
			err = writeReplayReport(replayOut, &verify.Report{Corpus: "c", Image: "i"}, nil)
		}
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		paths := []string{replayOut}
		for _, o := range outs {
			paths = append(paths, o.path)
		}
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != c.want {
				t.Errorf("umask %03o: %s has mode %03o, want %03o", c.umask, filepath.Base(p), got, c.want)
			}
		}
		// Overwriting keeps the rule (a rename of a new file, not a rewrite).
		if err := writeOutputs(rep, outs[:1]); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(outs[0].path); st.Mode().Perm() != 0o644&^fs.FileMode(old) {
			t.Errorf("rewritten under umask %03o: mode %03o", old, st.Mode().Perm())
		}
	}
}
