package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/whittle-dev/whittle/report"
)

// runtimeFixtures are run with code coverage on and off (--cover none),
// one per runtime whose coverage works differently (issue 17).
var runtimeFixtures = []struct{ name, runtime string }{
	{"gopets", "Go (uprobes on function entries)"},
	{"pypets", "Python from its directory (USDT python:line)"},
	{"pkgshop", "Python from a Debian package under gunicorn (USDT python:line)"},
	{"nodeviews", "Node.js with cluster workers (V8 inspector)"},
}

// loadRuntimes reads the raw reports of the runtimes part.
func loadRuntimes(raw string) (on, off map[string]*report.Report, problems []string) {
	on, off = map[string]*report.Report{}, map[string]*report.Report{}
	for _, fx := range runtimeFixtures {
		for _, kind := range []string{"cover", "nocover"} {
			name := fx.name + "-" + kind + ".json"
			r, err := readReport(filepath.Join(raw, name))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			if kind == "cover" {
				on[fx.name] = r
			} else {
				off[fx.name] = r
			}
		}
	}
	return on, off, problems
}

func renderRuntimes(in *inputs) *doc {
	d := &doc{}
	d.p("# Code coverage per runtime: executions per second with it on and off (issue 17)\n")
	d.p("Each fixture is fuzzed twice for the same time with the same binary and seed: with code coverage (the")
	d.p("default) and with `--cover none` (files and syscalls only). Commands as run, from `raw/*.cmd`:\n")
	d.p("```")
	for _, fx := range runtimeFixtures {
		for _, kind := range []string{"cover", "nocover"} {
			if c := strings.TrimSpace(readString(filepath.Join(in.raw, fx.name+"-"+kind+".cmd"))); c != "" {
				d.p("%s", c)
			}
		}
	}
	d.p("```\n")
	on, off, problems := loadRuntimes(in.raw)
	in.problems = append(in.problems, problems...)
	var rows [][]string
	for _, fx := range runtimeFixtures {
		a, b := on[fx.name], off[fx.name]
		if a == nil || b == nil {
			rows = append(rows, []string{fx.name, fx.runtime, "not measured", "", "", "", "", "", ""})
			continue
		}
		sa, sb := rateStats(a.Fuzz), rateStats(b.Fuzz)
		ratio := "-"
		if sb.WhileSending > 0 {
			ratio = fmt.Sprintf("%.2f", sa.WhileSending/sb.WhileSending)
		}
		mech, funcs := "-", "-"
		if cc := a.Trace.CodeCoverage; cc != nil {
			mech = cc.Mechanism
			if cc.Processes > 0 {
				mech += fmt.Sprintf(", %d processes", cc.Processes)
			}
			funcs = fmt.Sprintf("%d/%d (start-up %d, requests %d)", cc.Functions, cc.FunctionsTotal, cc.FunctionsAtStartup, cc.FunctionsByRequests)
		}
		rows = append(rows, []string{fx.name, fx.runtime, mech, "**" + f0(sa.Overall) + "** (" + f0(sa.WhileSending) + ")",
			"**" + f0(sb.Overall) + "** (" + f0(sb.WhileSending) + ")", ratio, funcs, fmt.Sprintf("%d / %d", a.Fuzz.CorpusSize, b.Fuzz.CorpusSize),
			stepLoad(in.steps, fx.name+"-cover") + " / " + stepLoad(in.steps, fx.name+"-nocover")})
	}
	d.table("lllrrrlll", []string{"fixture", "runtime", "mechanism", "exec/s coverage on (while sending)", "exec/s off (while sending)",
		"on/off while sending", "functions hit/in scope", "corpus on / off", "max load on / off"}, rows)
	d.p("- max load: the 1-minute load average at its highest during the run (2 CPUs), **bold** when others used the")
	d.p("  machine meanwhile (see the steps table in README.md): such rows compare runs made under different loads.")
	d.p("- exec/s = requests / fuzzing seconds; \"while sending\" leaves out the seconds without a request (start-up")
	d.p("  of coverage, restarts, and on the 1-GB runtimes images the wait for the image export that the fuzzer's")
	d.p("  directory listings need). The ratio compares the rates while sending.")
	d.p("- Python line coverage traps on every line while its probe is on; V8's coverage is taken from every node")
	d.p("  process after each answer (an inspector round trip per process, ~5 ms, mostly V8 walking its functions):")
	d.p("  both are switched on for 1 s of every 4 (`dutyCycle` in `pipeline/coverage.go`). Native probes are")
	d.p("  removed once hit.\n")
	return d
}

// stepLoad is a step's highest load, bold when others used the machine.
func stepLoad(steps []Step, name string) string {
	st := lastStep(steps, name)
	if st == nil {
		return "-"
	}
	if st.Disturbed {
		return "**" + f1(st.LoadMax) + "**"
	}
	return f1(st.LoadMax)
}
