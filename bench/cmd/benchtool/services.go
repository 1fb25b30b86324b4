package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/whittle-dev/whittle/report"
)

// The real-services benchmark (issue 15): what companion services cost at
// start-up. pgnotes is whittled beside its database and migration, from
// its compose file, and alone (it starts without its database and answers
// /health; its data operations answer 503), a few rounds each.
const (
	servicesCompose = "pgnotes-compose"
	servicesAlone   = "pgnotes-alone"
)

// serviceRun is what one run says about start-up.
type serviceRun struct {
	start, wall, verify float64
	deps                []report.Dependency
	verified            string
}

func loadServiceRuns(raw, name string) ([]serviceRun, []string) {
	var runs []serviceRun
	var problems []string
	paths, _ := filepath.Glob(filepath.Join(raw, name+"-*.json"))
	slices.Sort(paths)
	for _, p := range paths {
		r, err := readReport(p)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		sr := serviceRun{start: r.Timings["start"], verify: r.Timings["verify"], deps: r.Dependencies,
			wall: r.FinishedAt.Sub(r.StartedAt).Seconds()}
		if v := r.Verification; v != nil {
			sr.verified = fmt.Sprintf("%d/%d %s", v.Identical, v.Total, v.Result)
		} else {
			sr.verified = "not verified: " + r.Error
		}
		runs = append(runs, sr)
	}
	return runs, problems
}

func medianOf(runs []serviceRun, f func(serviceRun) float64) float64 {
	var xs []float64
	for _, r := range runs {
		xs = append(xs, f(r))
	}
	if len(xs) == 0 {
		return 0
	}
	return median(xs)
}

func renderServices(raw, out string) error {
	d := &doc{}
	d.p("# Start-up with companion services (issue 15)\n")
	withDeps, p1 := loadServiceRuns(raw, servicesCompose)
	alone, p2 := loadServiceRuns(raw, servicesAlone)
	if len(withDeps) == 0 || len(alone) == 0 {
		missing(d, servicesCompose+"-N.json and "+servicesAlone+"-N.json")
		return d.save(out, "services.md")
	}
	if cmd, err := os.ReadFile(filepath.Join(raw, servicesCompose+"-1.cmd")); err == nil {
		d.p("`%s` (and the same without `--compose`/`--service`: the service alone), %d and %d rounds.\n", strings.TrimSpace(string(cmd)), len(withDeps), len(alone))
	}
	d.p("**start** is whittle's start phase: from creating the target's first container (and, with")
	d.p("companions, its network, volume, database and migration, each waited for as depends_on says) until")
	d.p("the target answers and its spec is read. Every later container of the target (two reference")
	d.p("replays, the verification) gets fresh companions too: **run** is the whole run's wall time.\n")
	rows := [][]string{}
	for _, c := range []struct {
		name string
		runs []serviceRun
	}{{"beside db + migrate (compose)", withDeps}, {"alone", alone}} {
		var verified []string
		for _, r := range c.runs {
			verified = append(verified, r.verified)
		}
		rows = append(rows, []string{c.name, f2(medianOf(c.runs, func(r serviceRun) float64 { return r.start })),
			f1(medianOf(c.runs, func(r serviceRun) float64 { return r.verify })),
			f1(medianOf(c.runs, func(r serviceRun) float64 { return r.wall })), strings.Join(verified, ", ")})
	}
	d.table("lrrrl", []string{"pgnotes", "start (s, median)", "verify phase (s)", "run (s)", "verified"}, rows)
	if steps, err := readSteps(filepath.Join(raw, "steps.tsv")); err == nil {
		// The last attempt of each round is the one measured.
		last := map[string]Step{}
		for _, st := range steps {
			if strings.HasPrefix(st.Name, servicesCompose+"-") || strings.HasPrefix(st.Name, servicesAlone+"-") {
				last[st.Name] = st
			}
		}
		maxLoad, disturbed := 0.0, 0
		for _, st := range last {
			maxLoad = max(maxLoad, st.LoadMax)
			if st.Disturbed {
				disturbed++
			}
		}
		if len(last) > 0 {
			d.p("Machine load (2 cores) while measuring: up to %.1f; %d of %d rounds shared the machine with others' builds and tests (raw/steps.tsv): absolute times are inflated, the ratio less so.\n", maxLoad, disturbed, len(last))
		}
	}
	ratio := medianOf(withDeps, func(r serviceRun) float64 { return r.start }) / max(0.001, medianOf(alone, func(r serviceRun) float64 { return r.start }))
	d.p("Start-up with companions: ×%.1f the service alone.\n", ratio)
	d.p("Companions (median over rounds of each one's mean time to its condition):\n")
	byName := map[string][]float64{}
	var order []string
	starts := map[string]int{}
	cond := map[string]string{}
	for _, r := range withDeps {
		for _, dep := range r.deps {
			if _, ok := byName[dep.Service]; !ok {
				order = append(order, dep.Service)
			}
			byName[dep.Service] = append(byName[dep.Service], dep.Ready)
			starts[dep.Service] = dep.Starts
			cond[dep.Service] = dep.Condition
		}
	}
	var drows [][]string
	for _, n := range order {
		drows = append(drows, []string{n, cond[n], f2(median(byName[n])), fmt.Sprint(starts[n])})
	}
	d.table("llrr", []string{"service", "condition", "ready (s)", "starts in a run"}, drows)
	if problems := append(p1, p2...); len(problems) > 0 {
		d.p("_Unreadable: %s_", strings.Join(problems, "; "))
	}
	return d.save(out, "services.md")
}
