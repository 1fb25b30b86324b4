package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/report"
)

// fixtures are the fixtures whittle runs on; rated those whose untraced
// rate is measured too.
var (
	fixtures = []string{"gopets", "pypets", "pyplugins", "nego"}
	rated    = []string{"gopets", "pypets"}
)

// TracerReport mirrors what tracer/cmd/tracebench -json writes.
type TracerReport struct {
	Target   string   `json:"target"`
	Mix      []string `json:"mix"`
	Workers  int      `json:"workers"`
	Duration string   `json:"duration_per_round"`
	Rounds   int      `json:"rounds"`
	Results  []struct {
		Mode        string    `json:"mode"`
		RPS         float64   `json:"requests_per_second"`
		Rounds      []float64 `json:"rounds"`
		OfUntraced  float64   `json:"fraction_of_untraced"`
		Probed      int       `json:"probed_functions"`
		Functions   int       `json:"functions"`
		Hit         int       `json:"functions_hit"`
		Errors      int64     `json:"errors"`
		Description string    `json:"description"`
	} `json:"results"`
}

// inputs are the raw outputs of one make bench; missing ones stay nil.
type inputs struct {
	raw      string
	machine  *Machine
	steps    []Step
	tracer   *TracerReport
	fuzz     map[string]*report.Report // fixture → 60-s fuzzing run
	once     map[string]*report.Report // fixture → --once run
	rate     map[string]*Rate          // "gopets-1" → plain keep-alive GETs, 1 client
	rebuild  []GoBench
	rbSkips  []string
	loop     []GoBench
	endure   *report.Report            // endurance run
	stateful map[string]*report.Report // statefulRun, statefulKeptRun → 2-minute runs on shelf
	problems []string                  // inputs that could not be read
}

func loadInputs(raw string) *inputs {
	in := &inputs{raw: raw, fuzz: map[string]*report.Report{}, once: map[string]*report.Report{}, rate: map[string]*Rate{},
		stateful: map[string]*report.Report{}}
	note := func(name string, err error) {
		if err != nil {
			in.problems = append(in.problems, fmt.Sprintf("%s: %v", name, err))
		}
	}
	path := func(name string) string { return filepath.Join(raw, name) }
	var m Machine
	if err := readJSON(path("machine.json"), &m); err == nil {
		in.machine = &m
	} else {
		note("machine.json", err)
	}
	var err error
	in.steps, err = readSteps(path("steps.tsv"))
	note("steps.tsv", err)
	var t TracerReport
	if err := readJSON(path("tracer.json"), &t); err == nil {
		in.tracer = &t
	} else {
		note("tracer.json", err)
	}
	for _, fx := range fixtures {
		if r, err := readReport(path(fx + "-fuzz.json")); err == nil {
			in.fuzz[fx] = r
		} else {
			note(fx+"-fuzz.json", err)
		}
		if r, err := readReport(path(fx + "-once.json")); err == nil {
			in.once[fx] = r
		} else {
			note(fx+"-once.json", err)
		}
		for _, w := range []string{"1", "4"} {
			if !slices.Contains(rated, fx) {
				break
			}
			var r Rate
			if err := readJSON(path(fx+"-rate-"+w+".json"), &r); err == nil {
				in.rate[fx+"-"+w] = &r
			} else {
				note(fx+"-rate-"+w+".json", err)
			}
		}
	}
	if f, err := os.Open(path("rebuild-bench.txt")); err == nil {
		in.rebuild, in.rbSkips = parseGoBench(f)
		f.Close()
	} else {
		note("rebuild-bench.txt", err)
	}
	if f, err := os.Open(path("fuzzloop-bench.txt")); err == nil {
		in.loop, _ = parseGoBench(f)
		f.Close()
	} else {
		note("fuzzloop-bench.txt", err)
	}
	for _, name := range []string{statefulRun, statefulKeptRun} {
		if r, err := readReport(path(name + ".json")); err == nil {
			in.stateful[name] = r
		} else {
			note(name+".json", err)
		}
	}
	if r, err := readReport(path(enduranceRun + ".json")); err == nil {
		in.endure = r
	} else if !errors.Is(err, os.ErrNotExist) {
		note(enduranceRun+".json", err)
	}
	return in
}

func renderAll(raw, out string) error {
	in := loadInputs(raw)
	for _, r := range []struct {
		name string
		fn   func(*inputs) *doc
	}{{"tracer.md", renderTracer}, {"fuzz.md", renderFuzz}, {"rebuild.md", renderRebuild}, {"stateful-shelf.md", renderStateful}, {"runtimes.md", renderRuntimes}, {"concurrency.md", renderConcurrency}, {"jvm-coverage.md", renderJVM}, {"README.md", renderReadme}} {
		if err := r.fn(in).save(out, r.name); err != nil {
			return err
		}
	}
	if len(in.problems) > 0 {
		fmt.Fprintf(os.Stderr, "benchtool: missing or unreadable inputs (shown as such in the markdown):\n  %s\n", strings.Join(in.problems, "\n  "))
	}
	return nil
}

func missing(d *doc, what string) { d.p("_Not measured: %s missing in bench/results/raw._\n", what) }

// --- tracer ----------------------------------------------------------------------------

func renderTracer(in *inputs) *doc {
	d := &doc{}
	d.p("# Tracer overhead on gopets (issue 3)\n")
	t := in.tracer
	if t == nil {
		missing(d, "tracer.json")
		return d
	}
	d.p("`go run ./tracer/cmd/tracebench -rounds %d -json bench/results/raw/tracer.json` (table as printed: raw/tracer.txt).", t.Rounds)
	d.p("%d keep-alive clients send a fixed mix to %s for %s per mode and round after a warm-up; every", t.Workers, t.Target, t.Duration)
	d.p("measurement starts a fresh container; rounds interleave the modes and the median is reported.")
	d.p("Mix: `%s`.\n", strings.Join(t.Mix, "`, `"))
	var rows [][]string
	var base []float64 // untraced, per round
	for _, r := range t.Results {
		if r.Mode == "untraced" {
			base = r.Rounds
		}
	}
	for _, r := range t.Results {
		paired := "-"
		if len(base) == len(r.Rounds) && len(base) > 0 {
			ratios := make([]float64, len(base))
			for i := range base {
				if base[i] > 0 {
					ratios[i] = r.Rounds[i] / base[i]
				}
			}
			paired = fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*median(ratios), 100*slices.Min(ratios), 100*slices.Max(ratios))
		}
		probes, hit := "-", "-"
		if r.Functions > 0 {
			probes, hit = fmt.Sprintf("%d of %d", r.Probed, r.Functions), fmt.Sprint(r.Hit)
		}
		rounds := make([]string, len(r.Rounds))
		for i, v := range r.Rounds {
			rounds[i] = f0(v)
		}
		rows = append(rows, []string{r.Mode, r.Description, f0(r.RPS), f1(100*r.OfUntraced) + "%", paired, probes, hit, fmt.Sprint(r.Errors), strings.Join(rounds, " ")})
	}
	d.table("llrrrrrrl", []string{"mode", "what is on", "req/s (median)", "of untraced", "per round: median (range)", "probes in place", "functions hit", "errors", "rounds (req/s)"}, rows)
	d.p("\"of untraced\" divides the medians; \"per round\" divides each round by the untraced measurement of the")
	d.p("same round (the modes run one after another within a round) and gives the median and range of those")
	d.p("ratios. The load generator, the target, dockerd and docker-proxy share the machine's CPUs, so single")
	if len(base) > 1 {
		m := median(base)
		d.p("measurements are noisy: the untraced rounds alone span %.0f to %.0f req/s (%+.0f%% to %+.0f%% of their median);",
			slices.Min(base), slices.Max(base), 100*(slices.Min(base)/m-1), 100*(slices.Max(base)/m-1))
	}
	d.p("a mode measured above 100%% of untraced is within that noise, not tracing making gopets faster.\n")
	if tg := tracerTarget(in); tg != nil {
		d.p("Target (issue 3): coverage after warm-up ≥ 80%% of the untraced rate: **%s** — measured %s.", tg.verdict(), tg.measured)
	}
	return d
}

// --- targets -----------------------------------------------------------------------------

type target struct {
	what, issue, measured string
	met                   bool
	known                 bool // false: not measured
}

func (t *target) verdict() string {
	if !t.known {
		return "not measured"
	}
	if t.met {
		return "met"
	}
	return "NOT met"
}

func tracerTarget(in *inputs) *target {
	t := &target{what: "coverage after warm-up ≥ 80% of untraced req/s (gopets, keep-alive)", issue: "#3"}
	if in.tracer == nil {
		return t
	}
	var un, warm float64
	for _, r := range in.tracer.Results {
		switch r.Mode {
		case "untraced":
			un = r.RPS
		case "coverage-warm":
			warm = r.RPS
		}
	}
	if un > 0 {
		t.known, t.met = true, warm >= 0.8*un
		t.measured = fmt.Sprintf("%.1f%% (%.0f of %.0f req/s)", 100*warm/un, warm, un)
	}
	return t
}

func targets(in *inputs) []*target {
	ts := []*target{tracerTarget(in)}
	ex := &target{what: "fuzzing executions/s on gopets with coverage on ≥ 500", issue: "#4"}
	if r := in.fuzz["gopets"]; r != nil {
		st := rateStats(r.Fuzz)
		ex.known, ex.met = true, st.Overall >= 500
		ex.measured = fmt.Sprintf("%.0f/s over %.0f s (%.0f/s while sending)", st.Overall, r.Fuzz.Duration, st.WhileSending)
	}
	ts = append(ts, ex)
	for _, fx := range fixtures {
		t := &target{what: "fuzzing covers strictly more functions than --once: " + fx, issue: "#4"}
		if f, o := in.fuzz[fx], in.once[fx]; f != nil && o != nil {
			t.known, t.met = true, f.Trace.Functions > o.Trace.Functions
			t.measured = fmt.Sprintf("%d vs %d of %d", f.Trace.Functions, o.Trace.Functions, f.Trace.FunctionsTotal)
		}
		ts = append(ts, t)
	}
	sz := &target{what: "gopets minimal image ≥ 20× smaller than fat", issue: "#5"}
	if r := in.fuzz["gopets"]; r != nil && r.Minimal != nil {
		sz.known, sz.met = true, r.Ratio >= 20
		sz.measured = fmt.Sprintf("%.1f× (%s → %s)", r.Ratio, report.HumanBytes(r.Original.Size), report.HumanBytes(r.Minimal.Size))
	}
	ts = append(ts, sz)
	for _, fx := range fixtures {
		t := &target{what: "minimal image verified identical on the whole corpus: " + fx, issue: "#5"}
		if r := in.fuzz[fx]; r != nil && r.Verification != nil {
			v := r.Verification
			t.known, t.met = true, v.Result == "identical"
			t.measured = fmt.Sprintf("%s, %d/%d", v.Result, v.Identical, v.Total)
		}
		ts = append(ts, t)
	}
	ts = append(ts, selectionTargets(in)...)
	ts = append(ts, scopeTarget(in), statefulTarget(in))
	en := enduranceVerdict(in.endure)
	if en.known {
		en.measured += " ([endurance-gopets.md](endurance-gopets.md))"
	}
	return append(ts, en)
}

// selectionTargets are issue 11's items 1 and 2: the fuzzing run finds that
// request headers (nego) and names listed before the request (pyplugins)
// select files, and keeps those directories whole.
func selectionTargets(in *inputs) []*target {
	headers := &target{what: "directories chosen by Accept, Accept-Language and Accept-Encoding kept whole: nego", issue: "#11"}
	if r := in.fuzz["nego"]; r != nil {
		by := map[string][]string{}
		for _, s := range r.Fuzz.SelectedDirs {
			by[s.Parameter] = append(by[s.Parameter], s.Dir)
		}
		var parts []string
		headers.known, headers.met = true, true
		for _, h := range []string{"header.Accept", "header.Accept-Language", "header.Accept-Encoding"} {
			headers.met = headers.met && len(by[h]) > 0
			parts = append(parts, fmt.Sprintf("%s: %s", h, strings.Join(by[h], ", ")))
		}
		headers.measured = strings.Join(parts, "; ")
	}
	listed := &target{what: "directories of names listed before the request kept whole: pyplugins", issue: "#11"}
	if r := in.fuzz["pyplugins"]; r != nil {
		var dirs []string
		for _, s := range r.Fuzz.SelectedDirs {
			if strings.Contains(s.Names, "listed") {
				dirs = append(dirs, s.Dir)
			}
		}
		listed.known, listed.met = true, len(dirs) > 0
		listed.measured = fmt.Sprintf("%d: %s", len(dirs), strings.Join(dirs, ", "))
	}
	return []*target{headers, listed}
}

// scopeTarget is issue 11's item 3: the coverage scope of shelf, a Go
// binary built without module information, is its application's packages.
func scopeTarget(in *inputs) *target {
	t := &target{what: "coverage scope of a module-less Go binary is the application's packages: shelf", issue: "#11"}
	if r := in.stateful[statefulRun]; r != nil && r.Trace.CoverageScope != nil {
		sc := r.Trace.CoverageScope
		t.known, t.met = true, sc.Root != "" && sc.From != "main only" && len(sc.Packages) > 1
		t.measured = fmt.Sprintf("%s (%s), %d functions in %d packages", sc.Root, sc.From, sc.Functions, len(sc.Packages))
	}
	return t
}

// --- README ------------------------------------------------------------------------------

func renderReadme(in *inputs) *doc {
	d := &doc{}
	d.p("# Benchmark results\n")
	d.p("Written by `make bench` (`scripts/bench.sh`; the markdown is generated by `bench/cmd/benchtool` from")
	d.p("the raw outputs in `raw/`) and `make bench-endurance` (`scripts/bench.sh endurance`). Speed and size")
	d.p("targets are checked here, never by timed assertions in tests. Figures are single measurements on a")
	d.p("shared machine: the steps table below says how loaded it was while each step ran.\n")
	if m := in.machine; m != nil {
		d.p("## Machine and date\n")
		d.table("ll", []string{"", ""}, [][]string{
			{"date (UTC, start of make bench)", m.Date.Format(time.RFC3339)},
			{"commit", fmt.Sprintf("%s (%d tracked files modified, bench/results aside)", m.Commit, m.Dirty)},
			{"nproc", fmt.Sprint(m.CPUs)},
			{"CPU", m.CPUModel},
			{"memory", fmt.Sprintf("%.1f GiB", float64(m.MemBytes)/(1<<30))},
			{"kernel", m.Kernel},
			{"load average at start (1, 5, 15 min)", fmt.Sprintf("%.2f %.2f %.2f", m.Load[0], m.Load[1], m.Load[2])},
			{"Go, Docker", m.Go + ", " + m.Docker},
			{"bin/whittle sha256", m.Whittle},
		})
	} else {
		missing(d, "machine.json")
	}
	d.p("## Targets\n")
	var rows [][]string
	for _, t := range targets(in) {
		v := t.verdict()
		if t.known && !t.met {
			v = "**NOT met**"
		}
		rows = append(rows, []string{t.what, t.issue, t.measured, v})
	}
	d.table("llll", []string{"target", "issue", "measured", "verdict"}, rows)
	d.p("## Files\n")
	d.table("ll", []string{"file", "what"}, [][]string{
		{"[tracer.md](tracer.md)", "tracer overhead: req/s untraced, file tracing, coverage cold and warm"},
		{"[fuzz.md](fuzz.md)", "fuzzing executions/s, coverage over time vs `--once`, untraced throughput, fuzz loop alone"},
		{"[rebuild.md](rebuild.md)", "fat and minimal sizes, time to build and verify, rebuild package benchmark"},
		{"[stateful-shelf.md](stateful-shelf.md)", "executions/s over 2 minutes on a service the fuzzer fills, with and without cleanup and latency restarts"},
		{"[runtimes.md](runtimes.md)", "executions/s with code coverage on and off per runtime (Go, Python, packaged Python under gunicorn, Node.js)"},
		{"[endurance-gopets.md](endurance-gopets.md)", "20-minute run: heap, goroutines, fds per minute (`make bench-endurance`)"},
		{"[jvm-coverage.md](jvm-coverage.md)", "JVM method coverage on jvmshop: the mechanisms measured (req/s, start-up), the one used and why; fuzzing executions/s with coverage on and off"},
		{"[services.md](services.md)", "start-up of a compose service beside its companions (database, migration) against the same service alone"},
		{"[concurrency.md](concurrency.md)", "concurrent workers: executions/s against the 8-connection capacity measured on the traced container in the same run, coverage with 1 worker and adaptive, attribution"},
		{"`raw/machine.json`, `raw/steps.tsv`", "machine facts; per step: start, wall time, load, containers running"},
		{"`raw/*-fuzz.json`, `raw/*-once.json`, `raw/shelf-stateful*.json`", "whittle JSON reports (schema whittle.report/v1) without the per-file list (`files`)"},
		{"`raw/*.cmd`, `raw/*.log`", "each whittle run's command line and its output (progress lines and summary)"},
		{"`raw/tracer.json`, `raw/tracer.txt`", "tracebench output"},
		{"`raw/*-rate-N.json`, `raw/*-capacity-untraced-N.json`", "plain keep-alive GETs to an untraced container, N clients"},
		{"`raw/rebuild-bench.txt`, `raw/fuzzloop-bench.txt`", "`go test -bench` output"},
		{"`raw/endurance-*`", "the endurance run's report, command, log, machine facts, step rows"},
	})
	d.p("## Steps\n")
	d.p("The machine is shared. Before each step `bench.sh` waits (up to `BENCH_QUIET_WAIT` s) until no container")
	d.p("runs and nobody else builds, tests or runs whittle; while the step runs it samples every 2 s the load")
	d.p("average, the running containers and others' busy processes (Go toolchain, `*.test`, whittle, apt). A step")
	d.p("during which more containers ran than it starts itself, or others' processes were busy, is marked")
	d.p("disturbed and run once more (`BENCH_RERUN=1`); the last attempt is the one reported, earlier ones stay in")
	d.p("`raw/steps.tsv`.\n")
	rows = nil
	seen := map[string]bool{}
	for i := len(in.steps) - 1; i >= 0; i-- {
		s := in.steps[i]
		if seen[s.Name] {
			continue
		}
		seen[s.Name] = true
		dist := "no"
		if s.Disturbed {
			dist = "**yes**"
		}
		rows = append(rows, []string{s.Name, s.Started, f0(s.Seconds), fmt.Sprint(s.Exit), f2(s.LoadStart), f2(s.LoadMax),
			fmt.Sprintf("%d (own ≤ %d)", s.Containers, s.Expected), fmt.Sprint(s.Others), fmt.Sprint(s.Attempt), dist})
	}
	slices.Reverse(rows)
	if len(rows) > 0 {
		d.table("llrrrrrrrl", []string{"step", "started (UTC)", "wall s", "exit", "load1 at start", "max load1", "max containers", "others' busy processes", "attempt", "disturbed"}, rows)
	} else {
		missing(d, "steps.tsv")
	}
	if len(in.problems) > 0 {
		d.p("Inputs missing when this was generated: %s.\n", strings.Join(in.problems, "; "))
	}
	return d
}
