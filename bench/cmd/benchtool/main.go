// Command benchtool is the Go half of scripts/bench.sh: it measures what the
// other tools do not (machine facts, keep-alive throughput of an untraced
// target) and turns the raw outputs in bench/results/raw into the markdown
// files of bench/results.
//
//	benchtool machine [-whittle BIN]          machine facts as JSON on stdout
//	benchtool rate -url URL... [-workers N]   requests/s of plain keep-alive GETs, JSON on stdout
//	benchtool trim IN OUT                     a whittle report without its per-file list
//	benchtool render -raw DIR -out DIR        README.md, tracer.md, fuzz.md, rebuild.md, stateful-shelf.md
//	benchtool endurance -raw DIR -out DIR     endurance-gopets.md
//	benchtool services -raw DIR -out DIR      services.md
//	benchtool hostile [-whittle BIN] [-label TEXT] [-case A,B] [-json FILE]
//	                                          the hostile targets (bench/hostile): each run's end, wall time, peak RSS
//	benchtool hostile-md -raw DIR -out DIR    hostile.md
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: benchtool machine|rate|trim|render|endurance|services|hostile|hostile-md [flags]")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("benchtool "+cmd, flag.ContinueOnError)
	raw := fs.String("raw", "bench/results/raw", "directory of the raw outputs")
	out := fs.String("out", "bench/results", "directory of the markdown files")
	switch cmd {
	case "machine":
		bin := fs.String("whittle", "", "whittle binary whose SHA-256 to record")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return writeJSON(stdout, collectMachine(*bin))
	case "rate":
		return runRate(ctx, fs, args, stdout)
	case "trim":
		if len(args) != 2 {
			return errors.New("usage: benchtool trim IN OUT")
		}
		return trimReport(args[0], args[1])
	case "render":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return renderAll(*raw, *out)
	case "endurance":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return renderEndurance(*raw, *out)
	case "services":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return renderServices(*raw, *out)
	case "hostile":
		return runHostile(ctx, fs, args, stdout)
	case "hostile-md":
		if err := fs.Parse(args); err != nil {
			return err
		}
		return renderHostile(*raw, *out)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// Machine is what bench/results says about where the figures come from.
type Machine struct {
	Date     time.Time  `json:"date"`
	CPUs     int        `json:"nproc"`
	CPUModel string     `json:"cpu_model"`
	MemBytes int64      `json:"mem_bytes"`
	Kernel   string     `json:"kernel"`
	Load     [3]float64 `json:"loadavg"`
	Go       string     `json:"go"`
	Docker   string     `json:"docker"`
	Commit   string     `json:"commit"`
	Dirty    int        `json:"dirty_tracked_files"`
	Whittle  string     `json:"whittle_sha256,omitempty"`
}

func collectMachine(whittleBin string) Machine {
	m := Machine{Date: time.Now().UTC().Truncate(time.Second), CPUs: runtime.NumCPU(), Go: runtime.Version()}
	m.Kernel = strings.TrimSpace(readString("/proc/sys/kernel/osrelease"))
	m.Load = loadAvg()
	for _, line := range strings.Split(readString("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			m.CPUModel = strings.TrimSpace(v)
			break
		}
	}
	for _, line := range strings.Split(readString("/proc/meminfo"), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			m.MemBytes = kb * 1024
		}
	}
	m.Docker = command("docker", "version", "--format", "{{.Server.Version}}")
	m.Commit = command("git", "rev-parse", "--short=12", "HEAD")
	// The results being rewritten are not a change to what is measured.
	if st := command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"); st != "" {
		m.Dirty = len(strings.Split(st, "\n"))
	}
	if whittleBin != "" {
		if b, err := os.ReadFile(whittleBin); err == nil {
			sum := sha256.Sum256(b)
			m.Whittle = hex.EncodeToString(sum[:])
		}
	}
	return m
}

func loadAvg() [3]float64 {
	var l [3]float64
	f := strings.Fields(readString("/proc/loadavg"))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func command(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// trimReport rewrites a whittle JSON report without the per-file list of the
// minimal image (hundreds of kilobytes for pypets, no figure of the
// benchmarks); the result still validates against the report schema.
func trimReport(in, out string) error {
	r, err := readReport(in)
	if err != nil {
		return err
	}
	r.Files = nil
	var buf bytes.Buffer
	if err := writeJSON(&buf, r); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func readReport(path string) (*report.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return &r, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Step is one row of raw/steps.tsv, written by scripts/bench.sh. Columns:
// step, attempt, started, seconds, exit, load1 at start, max load1, max
// running containers, containers the step runs itself, max busy processes
// of others (Go toolchain, test binaries, whittle), disturbed.
type Step struct {
	Name, Started               string
	Attempt, Exit               int
	Seconds, LoadStart, LoadMax float64
	Containers, Expected        int
	Others                      int
	Disturbed                   bool
}

// readSteps returns the rows of a steps file, the last attempt of each step
// last; a missing file is no error.
func readSteps(path string) ([]Step, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var steps []Step
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 11 || f[0] == "step" {
			continue
		}
		s := Step{Name: f[0], Started: f[2], Disturbed: f[10] == "yes"}
		s.Attempt, _ = strconv.Atoi(f[1])
		s.Seconds, _ = strconv.ParseFloat(f[3], 64)
		s.Exit, _ = strconv.Atoi(f[4])
		s.LoadStart, _ = strconv.ParseFloat(f[5], 64)
		s.LoadMax, _ = strconv.ParseFloat(f[6], 64)
		s.Containers, _ = strconv.Atoi(f[7])
		s.Expected, _ = strconv.Atoi(f[8])
		s.Others, _ = strconv.Atoi(f[9])
		steps = append(steps, s)
	}
	return steps, nil
}

// lastStep is the last row named name, or nil.
func lastStep(steps []Step, name string) *Step {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Name == name {
			return &steps[i]
		}
	}
	return nil
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}
