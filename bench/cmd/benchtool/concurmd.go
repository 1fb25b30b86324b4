package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/whittle-dev/whittle/report"
)

// concurFixtures are the fixtures of `scripts/bench.sh concur`, the
// latency-bound one first.
var concurFixtures = []string{"slowdb", "gopets", "pypets"}

// concurRun is what one fixture's concur step left in raw/.
type concurRun struct {
	capacity8, capacity1 *Rate
	adaptive, one        *report.Report
	step                 *Step
}

func loadConcur(in *inputs, fx string) (concurRun, bool) {
	var c concurRun
	path := func(name string) string { return filepath.Join(in.raw, name) }
	var r8, r1 Rate
	if readJSON(path(fx+"-capacity-8.json"), &r8) == nil {
		c.capacity8 = &r8
	}
	if readJSON(path(fx+"-capacity-1.json"), &r1) == nil {
		c.capacity1 = &r1
	}
	c.adaptive, _ = readReport(path(fx + "-concur-adaptive.json"))
	c.one, _ = readReport(path(fx + "-concur-1.json"))
	c.step = lastStep(in.steps, fx+"-concur")
	return c, c.capacity8 != nil || c.adaptive != nil || c.one != nil
}

func execsPerSecond(r *report.Report) float64 {
	if r == nil || r.Fuzz.Duration <= 0 {
		return 0
	}
	return float64(r.Fuzz.Requests) / r.Fuzz.Duration
}

// coverageAtEnd is the functions and files of the last timeline sample.
func coverageAtEnd(r *report.Report) (functions, files int, ok bool) {
	if r == nil || len(r.Fuzz.Timeline) == 0 {
		return 0, 0, false
	}
	s := r.Fuzz.Timeline[len(r.Fuzz.Timeline)-1]
	return s.Functions, s.Files, true
}

func renderConcurrency(in *inputs) *doc {
	d := &doc{}
	d.p("# Concurrent workers: executions/s against the target's capacity (issue 19)\n")
	d.p("`scripts/bench.sh concur`. For each fixture, in one step: its capacity, `benchtool rate` with 8 keep-alive")
	d.p("clients (and 1) for 10 s on its cheapest 2xx operation (`GET /health`) in a fresh untraced container of the")
	d.p("image; then whittle on the same image, 60 s with adaptive workers (`--workers 0`) and 60 s with `--workers 1`,")
	d.p("coverage feedback on. The machine is shared: the load during each step is in the last table.\n")
	var rows, cov, attr, load [][]string
	for _, fx := range concurFixtures {
		c, ok := loadConcur(in, fx)
		if !ok {
			rows = append(rows, []string{fx, "not measured", "", "", "", "", ""})
			continue
		}
		capacity, one := "-", "-"
		var cap8 float64
		if c.capacity8 != nil {
			cap8 = c.capacity8.RPS
			capacity = f0(cap8) + "/s"
		}
		if c.capacity1 != nil {
			one = f0(c.capacity1.RPS) + "/s"
		}
		ad, w1 := execsPerSecond(c.adaptive), execsPerSecond(c.one)
		ratio := "-"
		if cap8 > 0 && c.adaptive != nil {
			ratio = fmt.Sprintf("**%.0f%%**", 100*ad/cap8)
		}
		maxW := "-"
		if c.adaptive != nil && c.adaptive.Fuzz.Concurrency != nil {
			maxW = fmt.Sprint(c.adaptive.Fuzz.Concurrency.MaxWorkers)
		}
		rows = append(rows, []string{fx, capacity, one, f0(ad) + "/s", ratio, maxW, f0(w1) + "/s"})
		fa, fia, oka := coverageAtEnd(c.adaptive)
		f1w, fi1, ok1 := coverageAtEnd(c.one)
		if oka && ok1 {
			cov = append(cov, []string{fx, fmt.Sprint(f1w), fmt.Sprint(fa), fmt.Sprint(fi1), fmt.Sprint(fia),
				yesNo(fa >= f1w && fia >= fi1), verdict(c.one), verdict(c.adaptive)})
		}
		if c.adaptive != nil && c.adaptive.Fuzz.Concurrency != nil {
			cc := c.adaptive.Fuzz.Concurrency
			attr = append(attr, []string{fx, fmt.Sprint(c.adaptive.Fuzz.CorpusSize), fmt.Sprint(cc.Batches), fmt.Sprint(cc.Unattributed),
				fmt.Sprint(cc.Calibrated), fmt.Sprint(cc.Confirmed), lastChange(cc), orDash(c.adaptive.Fuzz.Connections)})
		}
		if s := c.step; s != nil {
			load = append(load, []string{fx, s.Started, f1(s.Seconds), f1(s.LoadStart), f1(s.LoadMax), fmt.Sprint(s.Others), undisturbed(s)})
		}
	}
	d.table("lrrrrrr", []string{"fixture", "capacity, 8 clients", "1 client", "whittle adaptive", "of capacity", "max workers", "whittle, 1 worker"}, rows)
	d.p("- whittle's executions/s = requests / fuzzing seconds of its report; the capacity is measured untraced, whittle")
	d.p("  runs under its tracer (uprobes or Python line probes cost the target time), on the same machine minutes apart.")
	d.p("- Acceptance (issue 19): on latency-bound services, executions/s at least half the 8-client capacity.\n")
	d.p("## Coverage after 60 s, 1 worker against adaptive\n")
	d.table("lrrrrlll", []string{"fixture", "functions, 1 worker", "adaptive", "files, 1 worker", "adaptive", "adaptive ≥ 1 worker", "verified, 1 worker", "adaptive"}, cov)
	d.p("Functions and files are the last timeline sample of each report (what the tracer saw, credited or not).\n")
	d.p("## Attribution\n")
	d.table("lrrrrrll", []string{"fixture", "corpus", "batches", "unattributed units", "calibrated", "confirmed", "last worker change", "connections"}, attr)
	d.p("- Coverage is credited to a request only when no other was in flight since the tracer was last asked; what came")
	d.p("  while several were is *unattributed*: the image keeps it, no corpus entry is credited with it. Those")
	d.p("  sequences are *calibrated* (re-run alone) and *confirmed* when that run earns them a place in the corpus.")
	d.p("  The tracer reports first hits only (a probe hit once is pruned), so a re-run cannot show that coverage again:")
	d.p("  calibration confirms what a request shows alone (a new status or shape), which is why confirmed stays low.")
	d.p("- False credits: none by construction; `TestConcurrentRunCreditsCoverageExactly` (fuzz) checks every credited")
	d.p("  entry of a 6-worker run against the ground truth of a first-hit tracer (and fails with naive attribution).\n")
	d.p("## Machine load during each step\n")
	d.table("llrrrrl", []string{"fixture", "started", "seconds", "load at start", "max load", "others' busy processes", "undisturbed"}, load)
	return d
}

func verdict(r *report.Report) string {
	if r == nil || r.Verification == nil {
		return "-"
	}
	return r.Verification.Result
}

func lastChange(c *report.Concurrency) string {
	if len(c.Changes) == 0 {
		return "-"
	}
	ch := c.Changes[len(c.Changes)-1]
	return fmt.Sprintf("%d → %d: %s", ch.From, ch.To, strings.ReplaceAll(ch.Reason, "|", "/"))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func undisturbed(s *Step) string {
	if s.Disturbed {
		return "no: others ran meanwhile"
	}
	return "yes"
}
