package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/whittle-dev/whittle/bench/hostile"
)

// HostileRun is raw/hostile*.json: each hostile case run once with one
// whittle binary.
type HostileRun struct {
	Machine  Machine          `json:"machine"`
	Binary   string           `json:"binary"` // what was measured, e.g. "main at 93c0a35"
	Duration string           `json:"duration"`
	Results  []hostile.Result `json:"results"`
}

// runHostile runs every hostile case (or those of -case) against -whittle
// and writes the measurements as JSON to -json.
func runHostile(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	bin := fs.String("whittle", "bin/whittle", "whittle binary to measure")
	label := fs.String("label", "", "what the binary is, for the markdown (default: this commit)")
	out := fs.String("json", "bench/results/raw/hostile.json", "where to write the measurements")
	only := fs.String("case", "", "comma-separated cases (default: all)")
	duration := fs.Duration("duration", 20*time.Second, "whittle's --duration")
	memCap := fs.Int64("memory-cap", 4<<30, "kill a run holding more (bytes; 0: no cap)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	repo, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	work, err := os.MkdirTemp("", "benchtool-hostile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	srv, err := hostile.BuildServer(ctx, repo, work)
	if err != nil {
		return err
	}
	run := HostileRun{Machine: collectMachine(*bin), Binary: *label, Duration: duration.String()}
	if run.Binary == "" {
		run.Binary = "commit " + run.Machine.Commit
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n != "" {
			want[n] = true
		}
	}
	for _, c := range hostile.Cases {
		if len(want) > 0 && !want[c.Name] {
			continue
		}
		if _, err := srv.Import(ctx, cli, c); err != nil {
			return err
		}
		dir, err := os.MkdirTemp(work, c.Name+"-")
		if err != nil {
			return err
		}
		res, err := srv.Run(ctx, cli, *bin, c, hostile.RunOptions{Duration: *duration, Dir: dir, MemoryCap: *memCap})
		hostile.RemoveImages(context.Background(), cli, c)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		fmt.Fprintf(os.Stderr, "benchtool: %s: exit %d, %.1fs, peak RSS %d MiB\n", c.Name, res.Exit, res.WallSeconds, res.MaxRSSBytes>>20)
		run.Results = append(run.Results, res)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeJSON(f, run)
}

// renderHostile writes hostile.md from raw/hostile.json and, when there,
// raw/hostile-before.json (the same cases with the binary before issue 18)
// and raw/hostile-round1.json (after its first round).
func renderHostile(raw, out string) error {
	var after, before, round1 HostileRun
	if err := readJSON(filepath.Join(raw, "hostile.json"), &after); err != nil {
		return err
	}
	haveBefore := readJSON(filepath.Join(raw, "hostile-before.json"), &before) == nil
	haveRound1 := readJSON(filepath.Join(raw, "hostile-round1.json"), &round1) == nil
	d := &doc{}
	d.p("# Hostile targets (issue 18)\n")
	d.p("`benchtool hostile` runs the real whittle binary as `whittle run IMAGE --auto --duration %s`", after.Duration)
	d.p("against each target of `testdata/hostile/server` (`bench/hostile`), once, and records how it")
	d.p("ended, its wall time and its peak RSS (its VmHWM, sampled every 50 ms). The acceptance: ending by")
	d.p("itself within the duration + 60 s, under 1.5 GB, with a clear message, no container left. A run")
	d.p("is killed at a 4 GB memory cap so that it cannot take the machine (shown as such).\n")
	d.p("Measured %s: %s, on %d CPUs, load %.1f at the start (others share the machine: wall times",
		after.Machine.Date.Format("2006-01-02"), after.Binary, after.Machine.CPUs, after.Machine.Load[0])
	d.p("are indicative).")
	if haveBefore {
		d.p("Before: %s, measured %s.", before.Binary, before.Machine.Date.Format("2006-01-02"))
	}
	if haveRound1 {
		d.p("After the first round (spec, generation and answer caps): %s, measured %s, load %.1f.",
			round1.Binary, round1.Machine.Date.Format("2006-01-02"), round1.Machine.Load[0])
	}
	d.p("")
	prev := map[string]hostile.Result{}
	for _, r := range before.Results {
		prev[r.Case] = r
	}
	first := map[string]hostile.Result{}
	for _, r := range round1.Results {
		first[r.Case] = r
	}
	dur, _ := time.ParseDuration(after.Duration)
	header := []string{"case", "what the target does", "passes", "ended", "wall", "peak RSS", "requests", "findings", "limits hit"}
	if haveRound1 {
		header = append(header, "round 1: peak RSS")
	}
	if haveBefore {
		header = append(header, "before: ended", "wall", "peak RSS")
	}
	var rows [][]string
	for _, r := range after.Results {
		c, _ := hostile.Find(r.Case)
		pass := "yes"
		if ok, why := r.Passes(dur); !ok {
			pass = "**no**: " + why
		}
		row := []string{"`" + r.Case + "`", c.What, pass, ended(r), fmt.Sprintf("%.0f s", r.WallSeconds), fmt.Sprintf("%d MiB", r.MaxRSSBytes>>20),
			fmt.Sprint(r.Requests), fmt.Sprint(r.Findings), limitsHit(r.LimitsHit)}
		if haveRound1 {
			if b, ok := first[r.Case]; ok {
				row = append(row, fmt.Sprintf("%d MiB", b.MaxRSSBytes>>20))
			} else {
				row = append(row, "-")
			}
		}
		if haveBefore {
			if b, ok := prev[r.Case]; ok {
				row = append(row, ended(b), fmt.Sprintf("%.0f s", b.WallSeconds), fmt.Sprintf("%d MiB", b.MaxRSSBytes>>20))
			} else {
				row = append(row, "-", "-", "-")
			}
		}
		rows = append(rows, row)
	}
	align := "llllrrrrl"
	if haveRound1 {
		align += "r"
	}
	if haveBefore {
		align += "lrr"
	}
	d.table(align, header, rows)
	d.p("\nHow each run ended (its summary, or its error line):\n")
	for _, r := range after.Results {
		d.p("- `%s`: %s", r.Case, "`"+strings.ReplaceAll(firstNonEmpty(r.ErrorLine, r.Summary, r.LastLine), "`", "'")+"`")
	}
	if haveRound1 {
		d.p("\nThe second round bounds what the fuzzer itself keeps: an answer's body is checked against its")
		d.p("schema only within a depth and a count of the validator's work (`oracle.validation_*`), findings")
		d.p("are counted per operation and check before minimising (`findings.per_check`), the crash history")
		d.p("keeps no header or body, the corpus store keeps an index with the answers on disk, and an")
		d.p("operation whose required value is over the generation budget is skipped after one request.")
	}
	var todo []string
	for _, c := range hostile.Cases {
		switch {
		case c.SecondRound != "":
			todo = append(todo, fmt.Sprintf("- `%s` (its end-to-end test is skipped until then): %s.", c.Name, c.SecondRound))
		case c.Note != "":
			todo = append(todo, fmt.Sprintf("- `%s` passes: %s.", c.Name, c.Note))
		}
	}
	if len(todo) > 0 {
		d.p("\nStill to come in issue 18's second round (the fuzzer's own budgets):\n")
		d.p("%s", strings.Join(todo, "\n"))
	}
	return d.save(out, "hostile.md")
}

// limitsHit names the limits a run reached (its report's limits_hit).
func limitsHit(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, ", ")
}

func ended(r hostile.Result) string {
	switch {
	case r.Capped:
		return "killed at the 4 GB cap"
	case r.Killed:
		return "did not end (interrupted)"
	case r.Leftovers > 0:
		return fmt.Sprintf("exit %d, %d container(s) left", r.Exit, r.Leftovers)
	}
	return fmt.Sprintf("exit %d", r.Exit)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
