package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/report"
)

// enduranceRun names the raw outputs of the run issue 7 asks for.
const enduranceRun = "endurance-gopets"

// renderEndurance writes endurance-gopets.md from the endurance run's raw
// outputs (make bench-endurance).
func renderEndurance(raw, out string) error {
	var m Machine
	if err := readJSON(filepath.Join(raw, "endurance-machine.json"), &m); err != nil {
		return err
	}
	steps, err := readSteps(filepath.Join(raw, "endurance-steps.tsv"))
	if err != nil {
		return err
	}
	full, err := readReport(filepath.Join(raw, enduranceRun+".json"))
	if err != nil {
		return err
	}
	d := &doc{}
	d.p("# Endurance: a long `--auto` run on gopets (issue 7)\n")
	d.p("`make bench-endurance` (`scripts/bench.sh endurance`) runs whittle on gopets for 20 minutes and keeps, from")
	d.p("the report's timeline (a sample every 10 s while fuzzing), one row per minute: whittle's own Go heap")
	d.p("(live: what the last garbage collection found reachable, `/gc/heap/live:bytes`; and all of it, garbage")
	d.p("included, at the sample), goroutines and open file descriptors. Steadiness is judged on the live heap:")
	d.p("the whole heap swings with the collector's pacing.\n")
	d.table("ll", []string{"", ""}, [][]string{
		{"started (UTC)", m.Date.Format(time.RFC3339)},
		{"machine", fmt.Sprintf("%d CPUs (%s), %.1f GiB, kernel %s", m.CPUs, m.CPUModel, float64(m.MemBytes)/(1<<30), m.Kernel)},
		{"load average at start", fmt.Sprintf("%.2f %.2f %.2f", m.Load[0], m.Load[1], m.Load[2])},
		{"commit", fmt.Sprintf("%s (%d tracked files modified, bench/results aside); bin/whittle sha256 %.12s", m.Commit, m.Dirty, m.Whittle)},
	})
	v := enduranceVerdict(full)
	d.p("**Result: %s.** %s\n", v.verdict(), v.measured)
	enduranceSection(d, raw, enduranceRun, full, steps)
	return d.save(out, "endurance-gopets.md")
}

// enduranceVerdict: met when the run lasted its 20 minutes with steady
// resources.
func enduranceVerdict(r *report.Report) *target {
	t := &target{what: "20-minute run on gopets: steady heap, goroutines, fds (make bench-endurance)", issue: "#7"}
	if r == nil || len(r.Fuzz.Timeline) == 0 {
		return t
	}
	t.known = true
	ok := true
	var parts []string
	for _, s := range steadiness(r.Fuzz.Timeline) {
		ok = ok && s.Steady
		parts = append(parts, fmt.Sprintf("%s %.0f→%.0f", s.Metric, s.Early, s.Late))
	}
	_, secs := fuzzTotals(r.Fuzz)
	if r.Error != "" {
		t.measured = fmt.Sprintf("the run ended after %.0f s: %s", secs, r.Error)
		return t
	}
	t.met = ok && secs >= 19.5*60
	t.measured = fmt.Sprintf("%.0f min, %s", secs/60, strings.Join(parts, ", "))
	return t
}

func enduranceSection(d *doc, raw, name string, r *report.Report, steps []Step) {
	cmd := strings.TrimSpace(readString(filepath.Join(raw, name+".cmd")))
	if cmd == "" {
		cmd = "(raw/" + name + ".cmd missing)"
	}
	d.p("```")
	d.p("%s", cmd)
	d.p("```\n")
	var rows [][]string
	if s := lastStep(steps, name); s != nil {
		rows = append(rows, []string{"started (UTC), wall time, exit", fmt.Sprintf("%s, %.0f s, exit %d", s.Started, s.Seconds, s.Exit)},
			[]string{"load while running", fmt.Sprintf("load1 %.2f at start, max %.2f; at most %d containers running (the run's own: ≤ %d); at most %d busy processes of others",
				s.LoadStart, s.LoadMax, s.Containers, s.Expected, s.Others)})
	}
	reqs, secs := fuzzTotals(r.Fuzz)
	st := rateStats(r.Fuzz)
	corpus, findings := r.Fuzz.CorpusSize, len(r.Fuzz.Findings)
	empty := r.Fuzz.Duration == 0 && len(r.Fuzz.Timeline) > 0 // a failed run's report
	if empty {
		last := r.Fuzz.Timeline[len(r.Fuzz.Timeline)-1]
		corpus, findings = last.CorpusSize, last.Findings
	}
	fz := fmt.Sprintf("%.0f s, %d requests (%.0f/s; %.0f s without a request), corpus %d, %d findings", secs, reqs, st.Overall, st.Stalled, corpus, findings)
	if r.Fuzz.StopReason != "" {
		fz += ", stop: " + r.Fuzz.StopReason
	}
	rows = append(rows, []string{"fuzzing", fz})
	if r.Trace.FunctionsTotal > 0 {
		rows = append(rows, []string{"coverage", fmt.Sprintf("%d of %d functions, %d files traced, %d events, %d lost",
			r.Trace.Functions, r.Trace.FunctionsTotal, r.Trace.Files, r.Trace.Events, r.Trace.Lost)})
	}
	if r.Minimal != nil {
		rows = append(rows, []string{"minimal image", fmt.Sprintf("%s, %d files, %.1f× smaller", report.HumanBytes(r.Minimal.Size), r.Minimal.Files, r.Ratio)})
	}
	if v := r.Verification; v != nil {
		rows = append(rows, []string{"verification", fmt.Sprintf("%s %d/%d (seccomp: %s)", v.Result, v.Identical, v.Total, v.Seccomp)})
	}
	if len(r.Timings) > 0 {
		var ph []string
		for _, p := range phases {
			if t, ok := r.Timings[p]; ok {
				ph = append(ph, fmt.Sprintf("%s %.1f", p, t))
			}
		}
		rows = append(rows, []string{"phases (s)", strings.Join(ph, ", ")})
	}
	if r.Error != "" {
		rows = append(rows, []string{"**error**", r.Error})
		if empty {
			rows = append(rows, []string{"note", "a failed run's report has empty fuzz totals and trace; the fuzzing figures above come from its last timeline sample"})
		}
	}
	d.table("ll", []string{"", ""}, rows)

	d.p("Steady when the largest value of the last 6 minutes stays at or under the largest value of minutes 2–7")
	d.p("plus a slack: goroutines +3, fds +3, live heap ×1.25 + 8 MiB (the corpus the heap holds keeps growing). The")
	d.p("first minute is warm-up; the slope is a least-squares trend over every sample after it. (On a run shorter")
	d.p("than 13 minutes the two windows overlap and the verdict means little.)\n")
	var srows [][]string
	all := true
	for _, s := range steadiness(r.Fuzz.Timeline) {
		all = all && s.Steady
		v := "steady"
		if !s.Steady {
			v = "**GROWING**"
		}
		srows = append(srows, []string{s.Metric, f1(s.Early), f1(s.Late), f1(s.Limit), fmt.Sprintf("%+.2f", s.Slope), v})
	}
	d.table("lrrrrl", []string{"metric", "max, minutes 2–7", "max, last 6 minutes", "limit", "slope per minute", "verdict"}, srows)
	d.p("Resources: **%s**.\n", map[bool]string{true: "steady", false: "NOT steady"}[all])

	var mrows [][]string
	for _, x := range perMinute(r.Fuzz.Timeline) {
		mrows = append(mrows, []string{fmt.Sprint(x.Minute), f0(x.Seconds), fmt.Sprint(x.Requests), f0(x.Rate), fmt.Sprint(x.Functions),
			fmt.Sprint(x.Files), fmt.Sprint(x.CorpusSize), fmt.Sprint(x.Findings), mib(x.LiveHeapBytes), mib(x.HeapBytes), mib(x.HeapMax), fmt.Sprint(x.Goroutines), fmt.Sprint(x.FDs)})
	}
	d.table("rrrrrrrrrrrrr", []string{"min", "t (s)", "requests", "req/s since previous row", "functions", "new-file signals", "corpus",
		"findings", "live heap MiB", "heap MiB", "heap max MiB since previous row", "goroutines", "fds"}, mrows)
}
