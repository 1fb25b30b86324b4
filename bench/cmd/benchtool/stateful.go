package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/whittle-dev/whittle/report"
)

// The stateful benchmark (issue 11): two 2-minute runs on shelf, whose
// lists walk everything created. One with whittle's defaults (what the run
// created is deleted, a target whose latency keeps growing is restarted),
// one with --keep-state (neither), which shows that the fixture slows down.
const (
	statefulRun     = "shelf-stateful"
	statefulKeptRun = "shelf-stateful-kept"
	statefulSpan    = 30.0 // seconds compared at the start and the end
)

// Throughput is how a run's executions/s evolved.
type Throughput struct {
	Windows         []float64 // executions/s in each 10-s window from the start
	First30, Last30 float64   // executions/s over the first and the last 30 s
	Seconds         float64   // fuzzing seconds
}

// Ratio is the last 30 s over the first 30 s.
func (t Throughput) Ratio() float64 {
	if t.First30 == 0 {
		return 0
	}
	return t.Last30 / t.First30
}

// rateBetween is the request rate between the samples at (or just before) a and b.
func rateBetween(tl []report.Sample, a, b float64) float64 {
	x, okA := sampleAt(tl, a)
	y, okB := sampleAt(tl, b)
	if !okA || !okB || y.Seconds <= x.Seconds {
		return 0
	}
	return float64(y.Requests-x.Requests) / (y.Seconds - x.Seconds)
}

func throughput(f report.FuzzInfo) Throughput {
	_, secs := fuzzTotals(f)
	tl := f.Timeline
	if len(tl) == 0 || tl[0].Seconds > 0.5 {
		tl = append([]report.Sample{{}}, tl...) // reports without a sample at the start
	}
	t := Throughput{Seconds: secs}
	for a := 0.0; a+10 <= secs+0.5; a += 10 {
		t.Windows = append(t.Windows, rateBetween(tl, a, a+10))
	}
	if secs >= 2*statefulSpan {
		t.First30 = rateBetween(tl, 0, statefulSpan)
		t.Last30 = rateBetween(tl, secs-statefulSpan, secs)
	}
	return t
}

func statefulTarget(in *inputs) *target {
	t := &target{what: "stateful service (shelf): executions/s of the last 30 s within 2× of the first 30 s of a 2-minute run", issue: "#11"}
	if r := in.stateful[statefulRun]; r != nil {
		tp := throughput(r.Fuzz)
		if tp.First30 > 0 {
			t.known, t.met = true, tp.Ratio() >= 0.5
			t.measured = fmt.Sprintf("%.0f/s → %.0f/s (×%.2f); %s", tp.First30, tp.Last30, tp.Ratio(), statefulActions(r.Fuzz))
		}
	}
	return t
}

func statefulActions(f report.FuzzInfo) string {
	return fmt.Sprintf("%d latency restarts, %d DELETEs of what the run created", f.LatencyRestarts, f.GCDeletes)
}

func renderStateful(in *inputs) *doc {
	d := &doc{}
	d.p("# Stateful service: throughput over a 2-minute run on shelf (issue 11)\n")
	d.p("shelf (`testdata/targets/shelf`) keeps items and an activity log in memory; its lists sort and hash")
	d.p("everything they hold, its log is parsed whole on every read and its activity summary compares every")
	d.p("event with every other, so each item or event created makes the service slower (the summary")
	d.p("quadratically). Items can be deleted, events cannot. Two runs with the same binary and seed (commands")
	d.p("as run, from `raw/*.cmd`):\n")
	var cmds []string
	for _, name := range []string{statefulKeptRun, statefulRun} {
		if c := strings.TrimSpace(readString(filepath.Join(in.raw, name+".cmd"))); c != "" {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) > 0 {
		d.p("```\n%s\n```\n", strings.Join(cmds, "\n"))
	}
	if r := in.stateful[statefulRun]; r != nil && r.Trace.CoverageScope != nil {
		sc := r.Trace.CoverageScope
		d.p("shelf is built in GOPATH mode: its build info has a `path` line and no `mod` line. Coverage scope chosen")
		d.p("(issue 11, item 3): `%s` (%s), %d functions in %d packages: %s.\n", sc.Root, sc.From, sc.Functions, len(sc.Packages), sc.Detail)
	}
	d.p("`--keep-state` turns off what issue 11 added (deleting what the run created, restarting a target whose")
	d.p("latency keeps growing): the baseline that shows the fixture slowing down.\n")
	runs := []struct{ name, label string }{
		{statefulKeptRun, "--keep-state (baseline)"},
		{statefulRun, "defaults (cleanup, latency restarts)"},
	}
	var rows [][]string
	tps := map[string]Throughput{}
	for _, run := range runs {
		r := in.stateful[run.name]
		if r == nil {
			rows = append(rows, []string{run.label, "not measured", "", "", "", "", "", "", ""})
			continue
		}
		tp := throughput(r.Fuzz)
		tps[run.name] = tp
		overall := 0.0
		if tp.Seconds > 0 {
			reqs, _ := fuzzTotals(r.Fuzz)
			overall = float64(reqs) / tp.Seconds
		}
		verified := "-"
		if v := r.Verification; v != nil {
			verified = fmt.Sprintf("%s %d/%d", v.Result, v.Identical, v.Total)
		}
		rows = append(rows, []string{run.label, fmt.Sprint(r.Fuzz.Requests), f0(overall), f0(tp.First30), f0(tp.Last30),
			"**×" + f2(tp.Ratio()) + "**", fmt.Sprintf("%d (%d for latency)", r.Fuzz.Restarts, r.Fuzz.LatencyRestarts),
			fmt.Sprint(r.Fuzz.GCDeletes), verified})
	}
	d.table("lrrrrrrrl", []string{"run", "requests", "executions/s", "first 30 s", "last 30 s", "last / first", "restarts", "DELETEs of what the run created", "verification"}, rows)
	d.p("Executions/s come from the report's timeline (a sample a second for runs of 2 minutes, the first one")
	d.p("before any request): requests between the samples at the window's ends over the seconds between them.")
	d.p("Cleanup DELETEs are not counted as executions.\n")
	if len(tps) > 0 {
		d.p("## Executions/s per 10 s\n")
		n := 0
		for _, tp := range tps {
			n = max(n, len(tp.Windows))
		}
		var wrows [][]string
		for i := 0; i < n; i++ {
			row := []string{fmt.Sprintf("%d–%d", 10*i, 10*i+10)}
			for _, run := range runs {
				v := "-"
				if tp, ok := tps[run.name]; ok && i < len(tp.Windows) {
					v = f0(tp.Windows[i]) + " `" + bar(tp.Windows[i], maxWindow(tps), 20) + "`"
				}
				row = append(row, v)
			}
			wrows = append(wrows, row)
		}
		d.table("lll", []string{"seconds", runs[0].label, runs[1].label}, wrows)
	}
	if tp, ok := tps[statefulKeptRun]; ok && tp.First30 > 0 {
		d.p("Baseline: the fixture slows down by itself: **%s** — the last 30 s ran at ×%.2f of the first 30 s.",
			map[bool]string{true: "reproduced", false: "NOT reproduced"}[tp.Ratio() < 0.5], tp.Ratio())
	}
	if t := statefulTarget(in); t.known {
		d.p("Target (issue 11): executions/s of the last 30 s within 2× of the first 30 s: **%s** — %s.\n", t.verdict(), t.measured)
	}
	for _, run := range runs {
		if s := lastStep(in.steps, run.name); s != nil {
			d.p("- %s: started %s, load1 %.2f at start, max %.2f, max %d containers (own ≤ %d), others' busy processes %d%s.",
				run.name, s.Started, s.LoadStart, s.LoadMax, s.Containers, s.Expected, s.Others,
				map[bool]string{true: " — **disturbed**", false: ""}[s.Disturbed])
		}
	}
	return d
}

func maxWindow(tps map[string]Throughput) float64 {
	m := 0.0
	for _, tp := range tps {
		for _, v := range tp.Windows {
			m = max(m, v)
		}
	}
	return m
}
