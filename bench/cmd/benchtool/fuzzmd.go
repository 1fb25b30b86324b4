package main

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/report"
)

func renderFuzz(in *inputs) *doc {
	d := &doc{}
	d.p("# Fuzzing: executions per second and coverage over time (issue 4)\n")
	d.p("Each fixture is run twice with the same binary and seed, coverage feedback on (commands as run, from")
	d.p("`raw/*.cmd`; `--tag` keeps the fixtures' usual `-whittled` tags out of it):\n")
	d.p("```")
	for _, fx := range fixtures {
		for _, kind := range []string{"fuzz", "once"} {
			if c := strings.TrimSpace(readString(filepath.Join(in.raw, fx+"-"+kind+".cmd"))); c != "" {
				d.p("%s", c)
			}
		}
	}
	d.p("```\n")
	d.p("`--once` sends each operation once instead of fuzzing: what simple minifiers do, the baseline.\n")

	d.p("## Executions per second\n")
	var rows [][]string
	for _, fx := range fixtures {
		r := in.fuzz[fx]
		if r == nil {
			rows = append(rows, []string{fx, "not measured", "", "", "", "", "", "", ""})
			continue
		}
		st := rateStats(r.Fuzz)
		ctx := "-"
		if rt := in.rate[fx+"-1"]; rt != nil {
			ctx = fmt.Sprintf("%.0f/s", rt.RPS)
		}
		rows = append(rows, []string{fx, r.Trace.Coverage, fmt.Sprint(r.Fuzz.Requests), f1(r.Fuzz.Duration), "**" + f0(st.Overall) + "**",
			f0(st.WhileSending), f0(st.Best5s), f0(st.Stalled), ctx})
	}
	d.table("llrrrrrrr", []string{"fixture", "coverage feedback", "requests", "fuzzing s", "executions/s", "while sending", "best 5 s", "s without a request", "untraced, 1 client"}, rows)
	d.p("- executions/s = requests / fuzzing seconds (`fuzz.requests / fuzz.duration_seconds` of the report).")
	d.p("- \"while sending\" leaves out the seconds in which the timeline saw no new request (target restarts after")
	d.p("  crashes, crash minimisation, start-up of coverage); \"best 5 s\" is the best rate over any 5-s stretch.")
	d.p("- \"untraced, 1 client\": plain keep-alive GETs to a fresh untraced container (below), for scale: runs use")
	d.p("  adaptive workers (the default; one at a time while coverage comes, more on what the run knows), so a")
	d.p("  latency-bound target can take more than one client's worth (concurrency.md sets runs against 8 connections).\n")
	if r := in.fuzz["gopets"]; r != nil {
		st := rateStats(r.Fuzz)
		d.p("Target (issue 4): ≥ 500 executions/s on gopets with coverage on (%d-core machine): **%s** — measured %.0f/s.",
			machineCPUs(in), yesNo(st.Overall >= 500), st.Overall)
		d.p("(For scale, the issue cites published spec-driven fuzzers at 2–40 requests/s.)\n")
	}
	if r := in.fuzz["pypets"]; r != nil {
		d.p("pypets is bounded by the application itself: a single uvicorn worker running FastAPI/pydantic under")
		d.p("CPython, which answers about %s plain GETs/s untraced over one connection; the fuzzer reached %.0f/s",
			rateOr(in.rate["pypets-1"]), rateStats(r.Fuzz).Overall)
		d.p("with Python line coverage (USDT `python:line`) switched on for part of the time only (`dutyCycle` in `pipeline/coverage.go`).\n")
	}

	d.p("### Untraced throughput for context (`benchtool rate`)\n")
	rows = nil
	for _, fx := range fixtures {
		for _, w := range []string{"1", "4"} {
			rt := in.rate[fx+"-"+w]
			if rt == nil {
				continue
			}
			var codes []string
			for c, n := range rt.Statuses {
				codes = append(codes, fmt.Sprintf("%s×%d", c, n))
			}
			sort.Strings(codes)
			paths := make([]string, len(rt.URLs))
			for i, u := range rt.URLs {
				paths[i] = "`" + urlPath(u) + "`"
			}
			rows = append(rows, []string{fx, w, f0(rt.RPS), f1(rt.Seconds), strings.Join(codes, " "), fmt.Sprint(rt.Errors), strings.Join(paths, " ")})
		}
	}
	if len(rows) > 0 {
		d.table("lrrrlrl", []string{"fixture", "clients", "req/s", "s", "statuses", "errors", "GETs (cycled)"}, rows)
		d.p("A fresh container of the fat image, no tracer, 2-s warm-up; keep-alive connections.\n")
	} else {
		missing(d, "*-rate-*.json")
	}

	d.p("## Fuzzing versus each operation once\n")
	rows = nil
	for _, fx := range fixtures {
		for _, c := range []struct {
			name string
			r    *report.Report
		}{{"fuzz", in.fuzz[fx]}, {"--once", in.once[fx]}} {
			if c.r == nil {
				rows = append(rows, []string{fx, c.name, "not measured"})
				continue
			}
			r := c.r
			ok2xx := 0
			for _, o := range r.Fuzz.Operations {
				if o.Status2xx > 0 {
					ok2xx++
				}
			}
			minFiles, verified := "-", "-"
			if r.Minimal != nil {
				minFiles = fmt.Sprint(r.Minimal.Files)
			}
			if v := r.Verification; v != nil {
				verified = fmt.Sprintf("%s %d/%d", v.Result, v.Identical, v.Total)
			}
			rows = append(rows, []string{fx, c.name, fmt.Sprint(r.Fuzz.Requests), f2(r.Fuzz.Duration),
				fmt.Sprintf("**%d** of %d", r.Trace.Functions, r.Trace.FunctionsTotal), fmt.Sprint(r.Trace.Files), fmt.Sprint(r.Trace.FailedLookups),
				fmt.Sprint(r.Fuzz.CorpusSize), fmt.Sprint(len(r.Fuzz.Findings)), fmt.Sprintf("%d of %d", ok2xx, len(r.Fuzz.Operations)), minFiles, verified})
		}
	}
	d.table("llrrrrrrrrrl", []string{"fixture", "strategy", "requests", "s", "functions hit", "files traced", "failed lookups", "corpus", "findings", "operations with a 2xx", "files in minimal image", "verification"}, rows)
	d.p("\"functions hit\" is `trace.functions` of `trace.functions_total` in scope (gopets: main-module Go functions by")
	d.p("uprobes; pypets: Python functions seen by line coverage); \"files traced\" is `trace.files`.\n")
	for _, fx := range fixtures {
		if r := in.fuzz[fx]; r != nil && r.Trace.FunctionsTotal > 0 && r.Trace.Functions > r.Trace.FunctionsTotal {
			d.p("Note: %s reports more functions hit (%d) than in scope (%d). For Python the total is an estimate from the", fx, r.Trace.Functions, r.Trace.FunctionsTotal)
			d.p("`def` statements of the in-scope files plus one `<module>` per file (`Coverage.Total` in `tracer/cover/cover.go`),")
			d.p("while hits count every function name line coverage sees; code objects without a `def` of their own")
			d.p("(comprehensions, lambdas, class bodies) are the likely surplus. The figures are printed as measured.\n")
		}
	}

	renderSelected(d, in)
	for _, fx := range fixtures {
		renderCurve(d, fx, in.fuzz[fx], in.once[fx])
	}

	d.p("## The fuzz loop alone\n")
	d.p("`go test ./fuzz -run '^$' -bench BenchmarkLoop -count 3` (raw/fuzzloop-bench.txt): the loop against an in-process")
	d.p("copy of a pets API, without a container or tracer: the fuzzer's own ceiling. Median of 3.\n")
	rows = nil
	for _, b := range in.loop {
		rps, _ := b.Median("req/s")
		ns, _ := b.Median("ns/op")
		rows = append(rows, []string{b.Name, f0(rps), f1(ns / 1000)})
	}
	if len(rows) > 0 {
		d.table("lrr", []string{"benchmark", "req/s", "µs/request"}, rows)
	} else {
		missing(d, "fuzzloop-bench.txt")
	}
	return d
}

// selectionFixtures are the fixtures of issue 11 whose files a request
// value selects where no failed lookup gives it away, with what selects them.
var selectionFixtures = []struct{ fixture, title, what string }{
	{"pyplugins", "Names listed before the request: pyplugins",
		"pyplugins imports a codec or renderer module named by a request value from a package directory Python\n" +
			"listed at start-up: a name that does not exist touches no file."},
	{"nego", "Files chosen by request headers: nego",
		"nego picks a template by `Accept`, a message catalog by `Accept-Language` and a precompressed asset by\n" +
			"`Accept-Encoding`; its spec declares the response media types only."},
}

// renderSelected lists, for each fixture of selectionFixtures, the
// directories the fuzzing run kept whole because request values select
// their entries, which the --once baseline does not find.
func renderSelected(d *doc, in *inputs) {
	for _, sf := range selectionFixtures {
		d.p("## %s\n", sf.title)
		r := in.fuzz[sf.fixture]
		if r == nil {
			missing(d, sf.fixture+"-fuzz.json")
			continue
		}
		d.p("%s Directories the run kept whole:\n", sf.what)
		var rows [][]string
		for _, s := range r.Fuzz.SelectedDirs {
			rows = append(rows, []string{"`" + s.Dir + "`", s.Operation, s.Parameter, s.Names})
		}
		if len(rows) == 0 {
			d.p("**none** — the run did not find that request values select files.\n")
		} else {
			d.table("llll", []string{"directory", "operation", "parameter", "names"}, rows)
		}
		if once := in.once[sf.fixture]; once != nil && once.Verification != nil {
			d.p("The `--once` baseline kept %d directories whole and %d files; its own verification: %s %d/%d.\n",
				len(once.Fuzz.SelectedDirs), minimalFiles(once), once.Verification.Result, once.Verification.Identical, once.Verification.Total)
		}
	}
}

func minimalFiles(r *report.Report) int {
	if r.Minimal == nil {
		return 0
	}
	return r.Minimal.Files
}

// renderCurve writes the coverage of a fuzzing run every 5 s, as a table and
// as bars, with the --once run's final figures to compare.
func renderCurve(d *doc, fx string, r, once *report.Report) {
	d.p("## Coverage over time: %s\n", fx)
	if r != nil {
		d.p("Seed %d, %.0f s of fuzzing.\n", r.Fuzz.Seed, r.Fuzz.Duration)
	}
	if r == nil || len(r.Fuzz.Timeline) == 0 {
		missing(d, fx+"-fuzz.json with a timeline")
		return
	}
	tl := r.Fuzz.Timeline
	var rows [][]string
	var chart []string
	// The scale: the functions in scope, or more when more were hit (the
	// Python total is an estimate, see below).
	full := float64(max(r.Trace.FunctionsTotal, r.Trace.Functions, tl[len(tl)-1].Functions))
	end := math.Ceil(tl[len(tl)-1].Seconds)
	for t := 5.0; t <= end; t += 5 {
		s, ok := sampleAt(tl, t)
		if !ok {
			continue
		}
		rows = append(rows, []string{f0(t), fmt.Sprint(s.Requests), fmt.Sprint(s.Functions), fmt.Sprint(s.Files), fmt.Sprint(s.CorpusSize), fmt.Sprint(s.Findings)})
		chart = append(chart, fmt.Sprintf("%7s |%s| %d", fmt.Sprintf("%.0f s", t), bar(float64(s.Functions), full, 50), s.Functions))
	}
	if once != nil {
		rows = append(rows, []string{fmt.Sprintf("--once (%.2f s)", once.Fuzz.Duration), fmt.Sprint(once.Fuzz.Requests), fmt.Sprint(once.Trace.Functions), "-", fmt.Sprint(once.Fuzz.CorpusSize), fmt.Sprint(len(once.Fuzz.Findings))})
		chart = append([]string{fmt.Sprintf("%7s |%s| %d", "--once", bar(float64(once.Trace.Functions), full, 50), once.Trace.Functions)}, chart...)
	}
	d.table("lrrrrr", []string{"t (s)", "requests", "functions hit", "new-file signals", "corpus", "findings"}, rows)
	d.p("Functions hit (full bar: %.0f), 5-s steps:\n", full)
	d.p("```")
	for _, c := range chart {
		d.p("%s", c)
	}
	d.p("```\n")
	d.p("\"new-file signals\" counts the files (opened, looked up or failed lookups) the fuzzer was credited with as new")
	d.p("coverage; it is not the traced file set. Samples are those of the report's `fuzz.timeline` (1 s apart).\n")
}

func machineCPUs(in *inputs) int {
	if in.machine != nil {
		return in.machine.CPUs
	}
	return 0
}

func rateOr(r *Rate) string {
	if r == nil {
		return "(not measured)"
	}
	return f0(r.RPS)
}

func urlPath(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.Index(u, "/"); j >= 0 {
			return u[j:]
		}
		return "/"
	}
	return u
}
