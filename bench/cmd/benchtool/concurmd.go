package main

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/covdata"
)

// concurFixtures are the fixtures of `scripts/bench.sh concur`, the
// latency-bound one first.
var concurFixtures = []string{"slowdb", "gopets", "pypets", "jvmshop", "jvmnagle", "nodeviews", "pgnotes"}

// concurRun is what one fixture's concur step left in raw/: the untraced
// capacity (benchtool rate) and the two whittle runs, each with the
// capacity it measured on its traced container right before fuzzing.
type concurRun struct {
	untraced8, untraced1 *Rate
	adaptive, one        *report.Report
	step                 *Step
}

func loadConcur(in *inputs, fx string) (concurRun, bool) {
	var c concurRun
	path := func(name string) string { return filepath.Join(in.raw, name) }
	c.untraced8 = readRate(path(fx+"-capacity-untraced-8.json"), path(fx+"-capacity-8.json"))
	c.untraced1 = readRate(path(fx+"-capacity-untraced-1.json"), path(fx+"-capacity-1.json"))
	c.adaptive, _ = readReport(path(fx + "-concur-adaptive.json"))
	c.one, _ = readReport(path(fx + "-concur-1.json"))
	c.step = lastStep(in.steps, fx+"-concur")
	return c, c.untraced8 != nil || c.adaptive != nil || c.one != nil
}

// readRate reads the first of paths that holds a Rate (raw files of older
// runs have older names); nil: none.
func readRate(paths ...string) *Rate {
	for _, p := range paths {
		var r Rate
		if readJSON(p, &r) == nil {
			return &r
		}
	}
	return nil
}

// capacityOf is the requests/s of r's capacity measurement with conns
// connections, kept alive or fresh; ok is false when r has none (a run
// without --measure-capacity, an older report) or it failed (why says so).
func capacityOf(r *report.Report, conns int, fresh bool) (rps float64, why string, ok bool) {
	if r == nil || r.Fuzz.Capacity == nil {
		return 0, "", false
	}
	for _, m := range r.Fuzz.Capacity.Measurements {
		if m.Connections != conns || m.FreshConnections != fresh {
			continue
		}
		if m.Error != "" {
			return 0, m.Error, false
		}
		return m.RequestsPerSecond, "", true
	}
	return 0, "", false
}

func perSecond(rps float64, ok bool) string {
	if !ok {
		return "-"
	}
	return f0(rps) + "/s"
}

func execsPerSecond(r *report.Report) float64 {
	if r == nil || r.Fuzz.Duration <= 0 {
		return 0
	}
	return float64(r.Fuzz.Requests) / r.Fuzz.Duration
}

// coverageAtEnd is what a run covered: the functions requests reached and
// those run at start-up (the report's code coverage), and the files of the
// last timeline sample.
type coverageAtEnd struct {
	byRequests, atStartup, files int
	// used and failed split the report's files: those the target used and
	// the paths it looked up that do not exist (the latter grow with the
	// distinct values sent, so with the requests a run made).
	used, failed int
}

func coverageOf(r *report.Report) (coverageAtEnd, bool) {
	if r == nil || len(r.Fuzz.Timeline) == 0 {
		return coverageAtEnd{}, false
	}
	c := coverageAtEnd{files: r.Fuzz.Timeline[len(r.Fuzz.Timeline)-1].Files, used: r.Trace.Files, failed: r.Trace.FailedLookups}
	if cc := r.Trace.CodeCoverage; cc != nil {
		c.byRequests, c.atStartup = cc.FunctionsByRequests, cc.FunctionsAtStartup
	}
	return c, true
}

func renderConcurrency(in *inputs) *doc {
	d := &doc{}
	d.p("# Concurrent workers: executions/s against the target's capacity (issue 19)\n")
	d.p("`scripts/bench.sh concur`. For each fixture, in one step: whittle on its image, 60 s with adaptive workers")
	d.p("(`--workers 0`, the default) and 60 s with `--workers 1`, coverage feedback on, each run with `--measure-capacity /health`:")
	d.p("right before fuzzing, on the traced container with the tracer attached, whittle sends GETs of the")
	d.p("fixture's cheapest 2xx operation (`GET /health`) as fast as they are answered: 8 keep-alive connections for 10 s,")
	d.p("1 for 5 s, then 8 clients opening a connection per request for 5 s; it drains what they made the target do")
	d.p("(no fuzzed request is credited with it). Before the runs,")
	d.p("for context, the same load untraced: `benchtool rate` with 8 keep-alive clients for 10 s in a fresh")
	d.p("container of the image. The machine is shared: the load during each step is in the last table.\n")
	var rows, cov, attr, load [][]string
	var notes, fileNotes []string
	for _, fx := range concurFixtures {
		c, ok := loadConcur(in, fx)
		if !ok {
			rows = append(rows, []string{fx, "not measured", "", "", "", "", "", "", ""})
			continue
		}
		capKept, why8, okKept := capacityOf(c.adaptive, 8, false)
		capFresh, _, okFresh := capacityOf(c.adaptive, 8, true)
		cap1, _, ok1 := capacityOf(c.adaptive, 1, false)
		cap8, ok8 := max(capKept, capFresh), okKept || okFresh
		if why8 != "" {
			notes = append(notes, fmt.Sprintf("%s: the capacity was not measured: %s", fx, why8))
		}
		if c.adaptive != nil && c.adaptive.Fuzz.Connections != "" {
			notes = append(notes, fmt.Sprintf("%s: whittle chose: %s", fx, c.adaptive.Fuzz.Connections))
		}
		if c.adaptive != nil && c.adaptive.Fuzz.Capacity != nil && c.adaptive.Fuzz.Capacity.CodeCoverage != "" {
			notes = append(notes, fmt.Sprintf("%s: code coverage during the load: %s", fx, coverageDuringLoad(c.adaptive.Fuzz.Capacity.CodeCoverage)))
		}
		untraced := "-"
		if c.untraced8 != nil {
			untraced = f0(c.untraced8.RPS) + "/s"
		}
		ad, w1 := execsPerSecond(c.adaptive), execsPerSecond(c.one)
		ratio := "-"
		if ok8 && cap8 > 0 && c.adaptive != nil {
			ratio = fmt.Sprintf("**%.0f%%**", 100*ad/cap8)
		}
		maxW := "-"
		if c.adaptive != nil && c.adaptive.Fuzz.Concurrency != nil {
			maxW = fmt.Sprint(c.adaptive.Fuzz.Concurrency.MaxWorkers)
		}
		rows = append(rows, []string{fx, perSecond(capKept, okKept), perSecond(capFresh, okFresh), perSecond(cap1, ok1),
			perSecond(ad, c.adaptive != nil), ratio, maxW, perSecond(w1, c.one != nil), untraced})
		ca, oka := coverageOf(c.adaptive)
		c1, ok1w := coverageOf(c.one)
		if oka && ok1w {
			cov = append(cov, []string{fx, fmt.Sprint(c1.byRequests), fmt.Sprint(ca.byRequests), fmt.Sprint(c1.files), fmt.Sprint(ca.files),
				yesNo(ca.byRequests >= c1.byRequests && ca.files >= c1.files), fmt.Sprint(c1.atStartup), fmt.Sprint(ca.atStartup),
				verdict(c.one), verdict(c.adaptive)})
			if ca.files < c1.files {
				fileNotes = append(fileNotes, fmt.Sprintf("%s, files by kind (1 worker / adaptive): used %d / %d, failed lookups %d / %d; requests %d / %d",
					fx, c1.used, ca.used, c1.failed, ca.failed, c.one.Fuzz.Requests, c.adaptive.Fuzz.Requests))
			}
		}
		if c.adaptive != nil && c.adaptive.Fuzz.Concurrency != nil {
			cc := c.adaptive.Fuzz.Concurrency
			attr = append(attr, []string{fx, fmt.Sprint(c.adaptive.Fuzz.CorpusSize), fmt.Sprint(cc.Batches), fmt.Sprint(cc.Unattributed),
				threadCredit(cc), fmt.Sprint(cc.Calibrated), fmt.Sprint(cc.Confirmed), fmt.Sprint(coverageCuts(cc)), lastChange(cc), orDash(c.adaptive.Fuzz.Connections)})
		}
		if s := c.step; s != nil {
			load = append(load, []string{fx, s.Started, f1(s.Seconds), f1(s.LoadStart), f1(s.LoadMax), fmt.Sprint(s.Others), undisturbed(s)})
		}
	}
	d.table("lrrrrrrrr", []string{"fixture", "capacity, 8 keep-alive", "8 fresh connections", "1 keep-alive", "whittle adaptive", "of capacity", "max workers", "whittle, 1 worker", "untraced, 8 keep-alive"}, rows)
	d.p("- The capacity is the adaptive run's own (`fuzz.capacity` of its report): the same traced container, measured")
	d.p("  right before the fuzzing whose executions/s (requests / fuzzing seconds of the report) it is set against.")
	d.p("  \"of capacity\" sets them against the higher of the two 8-client loads: kept-alive connections (wrk's way) and")
	d.p("  a fresh connection per request (whittle's way where keep-alive answers are slow).")
	d.p("  \"untraced\" is the same 8-client load on a fresh untraced container of the image, a few minutes earlier, for")
	d.p("  context: the difference is what the tracer costs, and how the machine's load differed.")
	d.p("- jvmnagle is jvmshop's image run with `--cmd 'java -jar /app/jvmshop.jar'`: without the fixture's")
	d.p("  `-Dsun.net.httpserver.nodelay=true`, the JDK's HttpServer writes headers and body apart and Nagle's algorithm")
	d.p("  holds the body until the client's delayed ACK, about 40 ms a kept-alive request: issue 19's first case.")
	d.p("- pgnotes is FastAPI with PostgreSQL beside it (`--compose testdata/targets/pgnotes/compose.yaml --service api`);")
	d.p("  its capacity is measured on `GET /tags`, its cheapest operation that reads the database (`/health` does not), and")
	d.p("  it has no untraced figure (it needs its database). Its pool keeps one connection (psycopg2's")
	d.p("  `ThreadedConnectionPool(1, 8)`): every request beyond the first in flight opens and closes a PostgreSQL")
	d.p("  connection of its own, so the service takes less with more clients (see its 1-connection figure), and the")
	d.p("  adaptive count stays low.")
	d.p("- Acceptance (issue 19): on latency-bound services, executions/s at least half the 8-connection capacity.")
	for _, n := range notes {
		d.p("- %s", n)
	}
	d.p("")
	d.p("## Coverage after 60 s, 1 worker against adaptive\n")
	d.table("lrrrrlrrll", []string{"fixture", "functions requests reached, 1 worker", "adaptive", "files, 1 worker", "adaptive", "adaptive ≥ 1 worker",
		"functions at start-up, 1 worker", "adaptive", "verified, 1 worker", "adaptive"}, cov)
	d.p("Functions requests reached (credited or not) and functions run at start-up are the report's code coverage")
	d.p("(`functions_by_requests`, `functions_at_startup`); files are the last timeline sample (what the tracer saw).")
	d.p("Start-up code is not what fuzzing reaches: probes attach to a running container, so a module body shows only")
	d.p("when a later container (a restart, a spare) starts, and the first of those starts with the costly coverage")
	d.p("on. The tracer tells their hits by mount namespace and kernel time, so they count as start-up, in no request's")
	d.p("credit. A run that restarted its target more often can show more of them; they are not compared.")
	for _, n := range fileNotes {
		d.p("- %s", n)
	}
	for _, fx := range concurFixtures {
		if c, ok := loadConcur(in, fx); ok {
			if diff := functionsOnlyOneSaw(c.one, c.adaptive); diff != "" {
				d.p("- %s, functions only one run saw (state, first hit): %s", fx, diff)
			}
		}
	}
	d.p("")
	d.p("## Attribution\n")
	d.table("lrrrlrrrll", []string{"fixture", "corpus", "batches", "unattributed units", "credited by thread (heads matched/seen)", "calibrated", "confirmed", "back to 1 for coverage", "last worker change", "connections"}, attr)
	d.p("- Coverage is credited to a request when no other was in flight since the tracer was last asked, or, with")
	d.p("  several in flight, when the thread that first ran a function was serving that request alone (*credited by")
	d.p("  thread*: the tracer sees the request line each thread reads; heads matched are those lines that name one")
	d.p("  request in flight; `-` where the runtime tells no thread or moves requests between threads). What is left")
	d.p("  is *unattributed*: the image keeps it, no corpus entry is credited with it. Those")
	d.p("  sequences are *calibrated* (re-run alone) and *confirmed* when that run earns them a place in the corpus.")
	d.p("  The tracer reports first hits only (a probe hit once is pruned), so a re-run cannot show that coverage again:")
	d.p("  calibration confirms what a request shows alone (a new status or shape), which is why confirmed stays low.")
	d.p("- New coverage in such a window sends the count back to one worker (*back to 1 for coverage*, among the last 64")
	d.p("  changes), and it rises only after a window that found nothing new: a run explores alone, and what comes then")
	d.p("  is credited exactly. New files of a shared window are shown to every request that was in flight in it (the")
	d.p("  correlation of values with files attributes them by name).")
	d.p("- False credits: none by construction; `TestConcurrentRunCreditsCoverageExactly` (fuzz) checks every credited")
	d.p("  entry of a 6-worker run against the ground truth of a first-hit tracer (and fails with naive attribution);")
	d.p("  `TestFlightsCreditSharedWindowsExactly` does the same with crediting by request; on a real JDK thread pool,")
	d.p("  `TestThreadCreditOnAJVMThreadPool` (pipeline) checks every method that serves one route is credited to it.\n")
	d.p("## Machine load during each step\n")
	d.table("llrrrrl", []string{"fixture", "started", "seconds", "load at start", "max load", "others' busy processes", "undisturbed"}, load)
	return d
}

// functionsOnlyOneSaw lists the functions one run hit and the other never
// did, with the state (start-up or requests) and first hit of the run that
// did: whether a difference is code a request reached, or a module body
// run when an instance started.
func functionsOnlyOneSaw(one, adaptive *report.Report) string {
	hits := func(r *report.Report) map[string]covdata.Function {
		out := map[string]covdata.Function{}
		if r == nil || r.Trace.CodeCoverage == nil || r.Trace.CodeCoverage.ByFunction == nil {
			return out
		}
		for _, fn := range r.Trace.CodeCoverage.ByFunction.Functions {
			if fn.State != covdata.Never {
				out[fmt.Sprintf("%s:%d %s", path.Base(fn.File), fn.Line, fn.Name)] = fn
			}
		}
		return out
	}
	a, b := hits(one), hits(adaptive)
	var parts []string
	for _, side := range []struct {
		name       string
		mine, them map[string]covdata.Function
	}{{"1 worker only", a, b}, {"adaptive only", b, a}} {
		var names []string
		for k, fn := range side.mine {
			if _, ok := side.them[k]; !ok {
				names = append(names, fmt.Sprintf("`%s` (%s, %.1f s)", k, fn.State, fn.FirstHit.Seconds()))
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			const show = 6
			if len(names) > show {
				names = append(names[:show], fmt.Sprintf("and %d more", len(names)-show))
			}
			parts = append(parts, side.name+": "+strings.Join(names, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func coverageDuringLoad(state string) string {
	if state == "paused" {
		return "paused (a costly one, Python's line probe or V8's, that the fuzzer has on one second in four); the file tracer stayed attached"
	}
	return state
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

// coverageCuts counts the changes back to one worker for new coverage seen
// while several requests were in flight.
func coverageCuts(c *report.Concurrency) int {
	n := 0
	for _, ch := range c.Changes {
		if strings.HasPrefix(ch.Reason, "new coverage while") {
			n++
		}
	}
	return n
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

// threadCredit is the attribution table's cell for crediting by thread.
func threadCredit(cc *report.Concurrency) string {
	if cc.ThreadCredit == "" || strings.HasPrefix(cc.ThreadCredit, "not") {
		return "-"
	}
	return fmt.Sprintf("%d (%d/%d)", cc.ThreadCredited, cc.HeadsMatched, cc.Heads)
}
