package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// JVMReport mirrors what tracer/cmd/jvmbench -json writes.
type JVMReport struct {
	Target   string   `json:"target"`
	Mix      []string `json:"mix"`
	Workers  int      `json:"workers"`
	Warmup   string   `json:"warmup"`
	Duration string   `json:"duration_per_round"`
	Rounds   int      `json:"rounds"`
	Results  []struct {
		Mode        string    `json:"mode"`
		Description string    `json:"description"`
		RPS         float64   `json:"requests_per_second"`
		Rounds      []float64 `json:"rounds"`
		OfNone      float64   `json:"fraction_of_none"`
		CPU         float64   `json:"cpu_us_per_request"`
		CPURounds   []float64 `json:"cpu_us_rounds"`
		CPUOfNone   float64   `json:"cpu_of_none"`
		StartupMS   float64   `json:"startup_ms"`
		Errors      int64     `json:"errors"`
		Methods     int       `json:"methods"`
		Hit         int       `json:"methods_hit"`
		Probes      uint64    `json:"probe_hits"`
	} `json:"results"`
	Load []float64 `json:"load,omitempty"` // load average (1 min) before each round, when recorded
}

const (
	jvmMechanisms = "jvm-mechanisms.json"
	jvmFuzzBench  = "jvm-fuzz-bench.txt"
)

// renderJVM writes jvm-coverage.md: the mechanisms of JVM method coverage
// measured on jvmshop (jvmbench), the one whittle uses and why, and the
// fuzzing executions/s with it and without code coverage.
func renderJVM(in *inputs) *doc {
	d := &doc{}
	d.p("# JVM method coverage on jvmshop (issue 17)\n")
	var jr JVMReport
	if err := readJSON(filepath.Join(in.raw, jvmMechanisms), &jr); err != nil {
		missing(d, jvmMechanisms)
	} else {
		renderJVMMechanisms(d, &jr)
	}
	d.p("## Fuzzing executions/s, coverage on and off\n")
	f, err := os.Open(filepath.Join(in.raw, jvmFuzzBench))
	if err != nil {
		missing(d, jvmFuzzBench)
		return d
	}
	runs, skips := parseGoBench(f)
	f.Close()
	// Alternating runs repeat a name: Go suffixes it (#01, #02).
	var benches []GoBench
	for _, r := range runs {
		name, _, _ := strings.Cut(r.Name, "#")
		i := slices.IndexFunc(benches, func(b GoBench) bool { return b.Name == name })
		if i < 0 {
			benches = append(benches, GoBench{Name: name, Metrics: map[string][]float64{}})
			i = len(benches) - 1
		}
		for unit, v := range r.Metrics {
			benches[i].Metrics[unit] = append(benches[i].Metrics[unit], v...)
		}
	}
	d.p("`go test ./pipeline -run '^$' -bench BenchmarkJvmshopFuzzing -benchtime 1x` (raw/%s): whole", jvmFuzzBench)
	d.p("`whittle run`s of jvmshop (spec discovered, seed 1) with JVM method coverage (the agent) and with files and")
	d.p("syscalls as the only signal, alternating, three of each; medians. The first part of the fuzzing phase waits")
	d.p("for the export of the 1 GB image (the fuzzer lists the directories a request value selects), so the second")
	d.p("half of the timeline is shown too.\n")
	var rows [][]string
	for _, b := range benches {
		cell := func(unit string, f func(float64) string) string {
			if v, ok := b.Median(unit); ok {
				return f(v)
			}
			return "-"
		}
		rows = append(rows, []string{strings.TrimPrefix(b.Name, "BenchmarkJvmshopFuzzing/"), cell("execs/s", f0), cell("execs/s-2nd-half", f0),
			cell("methods", f0) + " of " + cell("methods-in-scope", f0), cell("corpus", f0), cell("verified", f0)})
	}
	d.table("lrrrrr", []string{"runs", "execs/s (whole fuzzing phase)", "execs/s (second half)", "methods called", "corpus", "verified identical"}, rows)
	for _, b := range benches {
		var per []string
		for _, v := range b.Metrics["execs/s"] {
			per = append(per, f0(v))
		}
		d.p("- %s, each run (execs/s): %s", strings.TrimPrefix(b.Name, "BenchmarkJvmshopFuzzing/"), strings.Join(per, ", "))
	}
	d.p("")
	for _, s := range skips {
		d.p("- %s", s)
	}
	return d
}

// pairedRatio divides each round by the same round of the base mode (the
// modes run one after another within a round): median and range.
func pairedRatio(base, v []float64) string {
	if len(base) != len(v) || len(base) == 0 {
		return "-"
	}
	ratios := make([]float64, len(base))
	for i := range base {
		if base[i] > 0 {
			ratios[i] = v[i] / base[i]
		}
	}
	return fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*median(ratios), 100*slices.Min(ratios), 100*slices.Max(ratios))
}

func renderJVMMechanisms(d *doc, jr *JVMReport) {
	d.p("## Mechanisms measured\n")
	d.p("`go run ./tracer/cmd/jvmbench -rounds %d -json bench/results/raw/%s` (table as printed: raw/jvm-mechanisms.txt).", jr.Rounds, jvmMechanisms)
	d.p("%d keep-alive clients send a fixed mix to %s: %s of load (the JIT compiles the hot code), then %s measured,", jr.Workers, jr.Target, jr.Warmup, jr.Duration)
	d.p("per mode and round, each on a fresh container; rounds interleave the modes and the median is reported.")
	d.p("Start-up is the time from `docker run` to the first answer of `/health`. CPU per request is the target")
	d.p("container's CPU time (its cgroup's) over the measuring window divided by the answers: the figure a")
	d.p("loaded machine disturbs least. Mix: `%s`.\n", strings.Join(jr.Mix, "`, `"))
	var base, baseCPU []float64
	for _, r := range jr.Results {
		if r.Mode == "none" {
			base, baseCPU = r.Rounds, r.CPURounds
		}
	}
	var rows [][]string
	for _, r := range jr.Results {
		paired, pairedCPU := pairedRatio(base, r.Rounds), pairedRatio(baseCPU, r.CPURounds)
		extra := "-"
		switch {
		case r.Methods > 0:
			extra = fmt.Sprintf("%d of %d methods called", r.Hit, r.Methods)
		case r.Probes > 0:
			extra = fmt.Sprintf("%d probe hits while measuring", r.Probes)
		}
		rounds := make([]string, len(r.Rounds))
		for i, v := range r.Rounds {
			rounds[i] = f0(v)
		}
		cpuRounds := make([]string, len(r.CPURounds))
		for i, v := range r.CPURounds {
			cpuRounds[i] = f0(v)
		}
		rows = append(rows, []string{r.Mode, r.Description, f0(r.CPU), pairedCPU, f0(r.RPS), paired, f0(r.StartupMS) + " ms", extra,
			fmt.Sprint(r.Errors), strings.Join(cpuRounds, " "), strings.Join(rounds, " ")})
	}
	d.table("llrrrrrlrll", []string{"mode", "what is on", "CPU µs/request (median)", "of none, per round: median (range)", "req/s (median)",
		"of none, per round: median (range)", "start-up", "coverage", "errors", "rounds (CPU µs/request)", "rounds (req/s)"}, rows)
	if len(jr.Load) > 0 {
		var l []string
		for _, v := range jr.Load {
			l = append(l, f1(v))
		}
		d.p("Load average (1 min) before each round: %s (2 CPUs, shared with other work: single measurements are noisy;", strings.Join(l, ", "))
		d.p("\"per round\" divides each round by the JVM alone measured in the same round).\n")
	}
	cpu := map[string]float64{}
	startup := map[string]float64{}
	for _, r := range jr.Results {
		cpu[r.Mode], startup[r.Mode] = r.CPUOfNone, r.StartupMS
	}
	d.p("## The mechanism whittle uses, and why\n")
	d.p("whittle uses its own JVMTI agent (`tracer/cover/jvm/agent`, mode `agent`): a breakpoint on the first")
	d.p("instruction of every method of the application's classes, set when the class is prepared and cleared at")
	d.p("its first call, so a method costs one breakpoint event over a whole run and then runs, and is compiled,")
	d.p("as without the agent (coverage-guided tracing, as whittle prunes its uprobes). Its messages reach the")
	d.p("tracer's ring buffer through a uprobe, ordered with the file records by Sync.\n")
	d.p("- `dtrace-uprobe` (%.1f× the CPU per request of the JVM alone here): HotSpot's method-entry probe fires", cpu["dtrace-uprobe"])
	d.p("  for every call of every method, the JDK's included, for as long as it is attached, a kernel trap each")
	d.p("  time with an empty BPF program (real coverage would also copy and hash the class and method names). It is")
	d.p("  one address, so methods already seen cannot be unprobed. `-XX:+ExtendedDTraceProbes` alone costs %.1f×", cpu["dtrace-flag"])
	d.p("  (every call goes through the probe site) and must be on for the whole run.")
	d.p("- `jfr`, `jfr-profile` (%.2f× and %.2f×): cheap, but JFR samples stacks every 10 or 20 ms, so methods", cpu["jfr"], cpu["jfr-profile"])
	d.p("  that run between two samples are never seen: no coverage signal for one request. The recording is a")
	d.p("  file written inside the container, and start-up takes %.1f s instead of %.1f s.", startup["jfr"]/1000, startup["none"]/1000)
	d.p("- `agent` (%.2f×; `agent-detached` %.2f×, `agent-idle`, its capabilities without breakpoints, %.2f×):", cpu["agent"], cpu["agent-detached"], cpu["agent-idle"])
	d.p("  once the methods a request mix calls were called, the JVM runs as without it, within this machine's")
	d.p("  noise; exact per request, scoped to the application's packages. Start-up pays one breakpoint per")
	d.p("  in-scope method (%.1f s instead of %.1f s here).\n", startup["agent"]/1000, startup["none"]/1000)
}
