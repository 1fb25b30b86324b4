package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/report"
)

var phases = []string{"inspect", "start", "fuzz", "build", "verify"}

func renderRebuild(in *inputs) *doc {
	d := &doc{}
	d.p("# Rebuild: sizes and time to build and verify (issue 5)\n")
	d.p("## From the pipeline runs\n")
	d.p("The runs of [fuzz.md](fuzz.md) (fuzzing, and `--once`). Sizes as the engine reports them; phase times are")
	d.p("the report's `timings` (seconds). \"after fuzzing\" is the report's `finished_at − started_at` minus the")
	d.p("inspect, start and fuzz phases: everything from the end of fuzzing to a verified image, including what no")
	d.p("phase accounts for (recording the corpus' reference answers on the original, waiting for the export of")
	d.p("the fat image, writing outputs). Wall is the whole `whittle run` as `bench.sh` timed it.\n")
	var rows [][]string
	var notes []string
	for _, fx := range fixtures {
		for _, c := range []struct {
			name, step string
			r          *report.Report
		}{{"fuzz", fx + "-fuzz", in.fuzz[fx]}, {"--once", fx + "-once", in.once[fx]}} {
			r := c.r
			if r == nil {
				rows = append(rows, []string{fx, c.name, "not measured"})
				continue
			}
			if r.Minimal == nil {
				rows = append(rows, []string{fx, c.name, report.HumanBytes(r.Original.Size), "no minimal image: " + r.Error})
				continue
			}
			tm := r.Timings
			sum := 0.0
			for _, p := range phases {
				sum += tm[p]
			}
			after := r.FinishedAt.Sub(r.StartedAt).Seconds() - tm["inspect"] - tm["start"] - tm["fuzz"]
			wall := "-"
			if s := lastStep(in.steps, c.step); s != nil {
				wall = f1(s.Seconds)
			}
			verified := "-"
			if v := r.Verification; v != nil {
				verified = fmt.Sprintf("%s %d/%d", v.Result, v.Identical, v.Total)
				if v.Seccomp != "" {
					notes = append(notes, fmt.Sprintf("%s, %s: seccomp check: %s", fx, c.name, v.Seccomp))
				}
			}
			rows = append(rows, []string{fx, c.name, report.HumanBytes(r.Original.Size), report.HumanBytes(r.Minimal.Size), fmt.Sprintf("**%.1f×**", r.Ratio),
				fmt.Sprint(r.Minimal.Files), f2(tm["build"]), f2(tm["verify"]), "**" + f2(tm["build"]+tm["verify"]) + "**", "**" + f1(after) + "**",
				f2(tm["inspect"]), f2(tm["start"]), f1(tm["fuzz"]), f1(sum), wall, verified})
		}
	}
	d.table("llrrrrrrrrrrrrrl", []string{"fixture", "run", "fat", "minimal", "ratio", "files", "build s", "verify s", "build+verify s",
		"after fuzzing s", "inspect s", "start s", "fuzz s", "sum of phases s", "wall s", "verification"}, rows)
	if r := in.fuzz["gopets"]; r != nil && r.Minimal != nil {
		d.p("Target (issue 5): gopets minimal image at least 20× smaller: **%s** — measured %.1f×.\n", yesNo(r.Ratio >= 20), r.Ratio)
	}
	for _, n := range notes {
		d.p("- %s", n)
	}
	if len(notes) > 0 {
		d.p("")
	}
	d.p("The pipeline exports the fat image in the background while the target starts and runs")
	d.p("(`pipeline/imageexport.go`), so its build phase is mostly select + layer + load; the package benchmark")
	d.p("below includes the export.\n")

	d.p("## Rebuild package benchmark\n")
	d.p("`go test ./rebuild -run '^$' -bench . -benchtime 1x -count 3` (raw/rebuild-bench.txt): export of the fat image, and")
	d.p("a build from each fixture's typical needs (fixed in the test, not from a run), loaded into the engine. Medians of 3.\n")
	rows = nil
	for _, b := range in.rebuild {
		cell := func(unit string, f func(float64) string) string {
			if v, ok := b.Median(unit); ok {
				return f(v)
			}
			return "-"
		}
		bytes := func(v float64) string { return report.HumanBytes(int64(v)) }
		rows = append(rows, []string{b.Name, cell("ns/op", func(v float64) string { return f2(v / 1e9) }),
			cell("fat-bytes", bytes), cell("min-bytes", bytes), cell("ratio", func(v float64) string { return f1(v) + "×" }),
			cell("entries", f0), cell("export-ms", f0), cell("select-ms", f0), cell("layer-ms", f0), cell("load-ms", f0),
			fmt.Sprint(len(b.Metrics["ns/op"]))})
	}
	if len(rows) > 0 {
		d.table("lrrrrrrrrrr", []string{"benchmark", "s/op", "fat", "minimal", "ratio", "entries", "export ms", "select ms", "layer ms", "load ms", "runs"}, rows)
	} else {
		missing(d, "rebuild-bench.txt (or every benchmark skipped)")
	}
	if len(in.rbSkips) > 0 {
		d.p("Skipped: %s\n", strings.Join(in.rbSkips, "; "))
	}
	d.p("## What the minimal images hold (bytes by first reason)\n")
	rows = nil
	for _, fx := range fixtures {
		r := in.fuzz[fx]
		if r == nil || len(r.Reasons) == 0 {
			continue
		}
		kinds := make([]string, 0, len(r.Reasons))
		for k := range r.Reasons {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool { // largest first; equal sizes by name, so renders do not churn
			a, b := r.Reasons[kinds[i]], r.Reasons[kinds[j]]
			return a > b || a == b && kinds[i] < kinds[j]
		})
		for _, k := range kinds {
			rows = append(rows, []string{fx, k, report.HumanBytes(r.Reasons[k])})
		}
	}
	if len(rows) > 0 {
		d.table("llr", []string{"fixture", "reason", "bytes"}, rows)
	}
	return d
}
