// Command tracebench measures what tracing costs the gopets fixture: HTTP
// requests per second over keep-alive connections with a fixed request mix,
// untraced, with file tracing, with function coverage of the main module
// while every probe is in place ("cold"), and with coverage after a warm-up
// once the probes of hit functions were removed ("warm").
//
//	tracebench [-duration 5s] [-rounds 3] [-workers 4] [-json FILE]
//
// Every measurement runs on a fresh container; rounds interleave the modes
// and the median is reported. Needs root, BPF, Docker and the
// whittle-fixture/gopets:latest image (scripts/fixtures.sh).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tracebench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup time.Duration
	rounds, workers  int
	jsonOut          string
}

// Result is one mode's figures.
type Result struct {
	Mode        string    `json:"mode"`
	RPS         float64   `json:"requests_per_second"` // median over rounds
	Rounds      []float64 `json:"rounds"`
	OfUntraced  float64   `json:"fraction_of_untraced"`
	Probed      int       `json:"probed_functions,omitempty"` // coverage modes: probes in place while measuring
	Functions   int       `json:"functions,omitempty"`        // coverage modes: in-scope functions
	Hit         int       `json:"functions_hit,omitempty"`
	Errors      int64     `json:"errors"`
	Description string    `json:"description"`
}

// Report is what -json writes.
type Report struct {
	Target   string    `json:"target"`
	Mix      []string  `json:"mix"`
	Workers  int       `json:"workers"`
	Duration string    `json:"duration_per_round"`
	Rounds   int       `json:"rounds"`
	Results  []Result  `json:"results"`
	When     time.Time `json:"when"`
}

type mode struct {
	name, desc string
	files      bool // a tracer bound to the container
	cover      bool // function coverage of the main module
	warm       bool // warm up, then remove the probes of hit functions
}

var modes = []mode{
	{"untraced", "no tracer", false, false, false},
	{"files", "file and syscall tracing (tracer bound)", true, false, false},
	{"coverage-cold", "files + every main-module function probed, no unprobing", true, true, false},
	{"coverage-warm", "files + coverage after warm-up and unprobing of hit functions", true, true, true},
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tracebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measuring time per mode and round")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before measuring (and before unprobing, for coverage-warm)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures every mode once, the median is reported")
	fs.IntVar(&o.workers, "workers", 4, "concurrent keep-alive clients")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fixture.Available(fixture.GopetsImage); err != nil {
		return err
	}
	results := make([]Result, len(modes))
	for r := 0; r < o.rounds; r++ {
		for i, m := range modes {
			fmt.Fprintf(stderr, "round %d/%d: %s\n", r+1, o.rounds, m.name)
			res, err := measure(ctx, m, o)
			if err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			results[i].Rounds = append(results[i].Rounds, res.RPS)
			results[i].Errors += res.Errors
			results[i].Probed, results[i].Functions, results[i].Hit = res.Probed, res.Functions, res.Hit
		}
	}
	for i, m := range modes {
		results[i].Mode, results[i].Description = m.name, m.desc
		results[i].RPS = median(results[i].Rounds)
		if results[0].RPS > 0 {
			results[i].OfUntraced = results[i].RPS / results[0].RPS
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "mode\treq/s\tof untraced\tprobes\terrors\trounds\n")
	for _, r := range results {
		probes := "-"
		if r.Functions > 0 {
			probes = fmt.Sprintf("%d of %d", r.Probed, r.Functions)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f%%\t%s\t%d\t%s\n", r.Mode, r.RPS, 100*r.OfUntraced, probes, r.Errors, roundsString(r.Rounds))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if o.jsonOut != "" {
		rep := Report{Target: fixture.GopetsImage, Workers: o.workers, Duration: o.duration.String(),
			Rounds: o.rounds, Results: results, When: time.Now().UTC()}
		for _, r := range benchMix() {
			rep.Mix = append(rep.Mix, r.String())
		}
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func roundsString(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.0f", x)
	}
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchMix is the fixed request mix: reads and an update of existing pets,
// so the store does not grow while measuring.
func benchMix() []fixture.Request {
	return []fixture.Request{
		{Op: "getHealth", Method: "GET", Path: "/health"},
		{Op: "getBreed", Method: "GET", Path: "/breeds/beagle"},
		{Op: "getPet", Method: "GET", Path: "/pets/1"},
		{Op: "listPets", Method: "GET", Path: "/pets?limit=5"},
		{Op: "getPetCard", Method: "GET", Path: "/pets/2/card?lang=de"},
		{Op: "updatePet", Method: "PUT", Path: "/pets/3", Body: `{"name":"Kiwi","species":"bird","age":3}`},
		{Op: "getBreed", Method: "GET", Path: "/breeds/unicorn"},
	}
}

var setupRequests = []fixture.Request{
	{Method: "POST", Path: "/pets", Body: `{"name":"Rex","species":"dog","age":3,"tags":["friendly"]}`},
	{Method: "POST", Path: "/pets", Body: `{"name":"Tom","species":"cat","age":14}`},
	{Method: "POST", Path: "/pets", Body: `{"name":"Kiwi","species":"bird","age":2}`},
}

type measurement struct {
	RPS                    float64
	Errors                 int64
	Probed, Functions, Hit int
}

func measure(ctx context.Context, m mode, o options) (measurement, error) {
	var res measurement
	c, err := fixture.Start(fixture.GopetsImage, 8080)
	if err != nil {
		return res, err
	}
	defer c.Remove()
	var tr *tracer.Tracer
	if m.files {
		// Only the steady-state cost is measured: binding after the
		// container started is enough.
		if tr, err = tracer.New(); err != nil {
			return res, err
		}
		defer tr.Close()
		if err := tr.Bind(c.Pid); err != nil {
			return res, err
		}
	}
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := c.WaitReady(readyCtx, "/health"); err != nil {
		return res, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.workers}, Timeout: 10 * time.Second}
	base := "http://" + c.Addr
	for _, r := range setupRequests {
		if _, err := fixture.Do(client, base, r); err != nil {
			return res, err
		}
	}
	var cov *cover.Coverage
	if m.cover {
		if cov, err = cover.Attach(ctx, tr, c.Pid, "/usr/local/bin/gopets", cover.WithPruneInterval(0)); err != nil {
			return res, err
		}
		defer cov.Close()
	}
	fixture.Load(ctx, client, base, benchMix(), o.workers, o.warmup)
	if m.warm {
		if _, err := cov.Prune(ctx); err != nil {
			return res, err
		}
	}
	if cov != nil {
		st := cov.Stats()
		res.Probed, res.Functions = st.Probed, st.Total
	}
	n, errs := fixture.Load(ctx, client, base, benchMix(), o.workers, o.duration)
	if cov != nil {
		res.Hit = cov.Stats().Hit
	}
	res.RPS, res.Errors = float64(n)/o.duration.Seconds(), errs
	if running, code, _ := c.State(); !running {
		return res, fmt.Errorf("the target died (exit %d): %s", code, c.Logs())
	}
	return res, nil
}
