// Command jvmbench measures what the candidate mechanisms of JVM method
// coverage cost the jvmshop fixture (Debian's OpenJDK 17): HTTP requests
// per second over keep-alive connections with a fixed request mix, after a
// warm-up (the JIT compiles the hot code), and the time to the first
// answer. The target container's CPU time per request (its cgroup's
// usage over the measuring window) is the figure that a shared, loaded
// machine disturbs least: requests per second depend on what else runs.
//
//	jvmbench [-duration 10s] [-warmup 10s] [-rounds 3] [-workers 4] [-modes a,b] [-json FILE]
//
// The modes:
//   - none: the JVM alone;
//   - dtrace-flag: -XX:+ExtendedDTraceProbes, no probe attached (HotSpot
//     calls its method-entry probe site on every call);
//   - dtrace-uprobe: the same with a uprobe on hotspot:method__entry whose
//     BPF program only counts (a lower bound: coverage would also read the
//     class and method names);
//   - jfr, jfr-profile: a flight recording with the default or the profile
//     settings (sampling: no coverage, the cost of having JFR on);
//   - agent-idle: whittle's JVMTI agent with a scope matching no class (its
//     capabilities alone);
//   - agent: whittle's JVMTI agent, its messages read by a uprobe (what
//     whittle runs), measured after the warm-up called the mix's methods.
//
// Every measurement runs on a fresh container; rounds interleave the modes
// and the median is reported. Every mode has a tracer loaded (unbound), so
// only the mechanism differs. Needs root, BPF, Docker and the
// whittle-fixture/jvmshop:latest image (scripts/fixtures.sh jvmshop).
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
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover/jvm"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
	"github.com/whittle-dev/whittle/tracer/usdt"
)

const (
	image  = "whittle-fixture/jvmshop:latest"
	libjvm = "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jvmbench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup time.Duration
	rounds, workers  int
	jsonOut          string
}

type mode struct {
	name, desc  string
	javaOptions string // JAVA_TOOL_OPTIONS
	agent       bool   // whittle's agent, mounted and attached
	agentScope  string // the agent's scope option ("" : its own choice)
	detached    bool   // the agent without whittle's probe: its messages go nowhere
	uprobe      bool   // a uprobe on hotspot:method__entry
}

var modes = []mode{
	{name: "none", desc: "the JVM alone"},
	{name: "dtrace-flag", desc: "-XX:+ExtendedDTraceProbes, no probe attached", javaOptions: "-XX:+ExtendedDTraceProbes"},
	{name: "dtrace-uprobe", desc: "-XX:+ExtendedDTraceProbes and an empty BPF program on hotspot:method__entry", javaOptions: "-XX:+ExtendedDTraceProbes", uprobe: true},
	{name: "jfr", desc: "JFR recording, default settings (method sampling every 20 ms)", javaOptions: "-XX:StartFlightRecording=settings=default,filename=/tmp/whittle-bench.jfr"},
	{name: "jfr-profile", desc: "JFR recording, profile settings (method sampling every 10 ms)", javaOptions: "-XX:StartFlightRecording=settings=profile,filename=/tmp/whittle-bench.jfr"},
	{name: "agent-idle", desc: "whittle's JVMTI agent with its capabilities (breakpoints, line numbers) but a scope matching no class: no breakpoint set", agent: true, agentScope: "whittle.bench.nothing"},
	{name: "agent-detached", desc: "whittle's JVMTI agent with its breakpoints, no probe attached (the messages go nowhere)", agent: true, detached: true},
	{name: "agent", desc: "whittle's JVMTI agent (breakpoint per in-scope method, cleared on its first call), probe attached", agent: true},
}

// Result is one mode's figures.
type Result struct {
	Mode        string    `json:"mode"`
	Description string    `json:"description"`
	RPS         float64   `json:"requests_per_second"` // median over rounds
	Rounds      []float64 `json:"rounds"`
	OfNone      float64   `json:"fraction_of_none"`
	// CPUPerRequest is the container's CPU time per answered request, in
	// µs (median over rounds); CPURounds per round; CPUOfNone the ratio
	// to the JVM alone.
	CPUPerRequest float64   `json:"cpu_us_per_request"`
	CPURounds     []float64 `json:"cpu_us_rounds"`
	CPUOfNone     float64   `json:"cpu_of_none"`
	StartupMS     float64   `json:"startup_ms"` // median time from docker run to the first /health answer
	Errors        int64     `json:"errors"`
	Methods       int       `json:"methods,omitempty"` // agent: in-scope methods declared, and hit
	Hit           int       `json:"methods_hit,omitempty"`
	Probes        uint64    `json:"probe_hits,omitempty"` // dtrace-uprobe: hits while measuring
}

// Report is what -json writes.
type Report struct {
	Target   string   `json:"target"`
	Mix      []string `json:"mix"`
	Workers  int      `json:"workers"`
	Warmup   string   `json:"warmup"`
	Duration string   `json:"duration_per_round"`
	Rounds   int      `json:"rounds"`
	Results  []Result `json:"results"`
	// Load is the load average (1 min) before each round: the machine may
	// be shared.
	Load []float64 `json:"load"`
	When time.Time `json:"when"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("jvmbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measuring time per mode and round")
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "load before measuring")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures every mode once, the median is reported")
	fs.IntVar(&o.workers, "workers", 4, "concurrent keep-alive clients")
	fs.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	only := fs.String("modes", "", "comma-separated modes to measure (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := fixture.Available(image); err != nil {
		return err
	}
	selected := modes
	if *only != "" {
		selected = nil
		for _, m := range modes {
			if strings.Contains(","+*only+",", ","+m.name+",") {
				selected = append(selected, m)
			}
		}
	}
	results := make([]Result, len(selected))
	startups := make([][]float64, len(selected))
	var loads []float64
	for r := 0; r < o.rounds; r++ {
		loads = append(loads, loadAverage())
		for i, m := range selected {
			fmt.Fprintf(stderr, "round %d/%d: %s\n", r+1, o.rounds, m.name)
			res, err := measure(ctx, m, o)
			if err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			results[i].Rounds = append(results[i].Rounds, res.RPS)
			results[i].CPURounds = append(results[i].CPURounds, res.CPUPerRequest)
			startups[i] = append(startups[i], res.StartupMS)
			results[i].Errors += res.Errors
			results[i].Methods, results[i].Hit, results[i].Probes = res.Methods, res.Hit, res.Probes
		}
	}
	for i, m := range selected {
		results[i].Mode, results[i].Description = m.name, m.desc
		results[i].RPS, results[i].StartupMS = median(results[i].Rounds), median(startups[i])
		results[i].CPUPerRequest = median(results[i].CPURounds)
		if results[0].RPS > 0 {
			results[i].OfNone = results[i].RPS / results[0].RPS
		}
		if results[0].CPUPerRequest > 0 {
			results[i].CPUOfNone = results[i].CPUPerRequest / results[0].CPUPerRequest
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "mode\tCPU µs/req\tof none\treq/s\tof none\tstart-up\terrors\tCPU rounds\treq/s rounds\n")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f%%\t%.0f\t%.0f%%\t%.0f ms\t%d\t%s\t%s\n", r.Mode, r.CPUPerRequest, 100*r.CPUOfNone, r.RPS, 100*r.OfNone,
			r.StartupMS, r.Errors, roundsString(r.CPURounds), roundsString(r.Rounds))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if o.jsonOut == "" {
		return nil
	}
	rep := Report{Target: image, Workers: o.workers, Warmup: o.warmup.String(), Duration: o.duration.String(),
		Rounds: o.rounds, Results: results, Load: loads, When: time.Now().UTC()}
	for _, r := range mix {
		rep.Mix = append(rep.Mix, r.String())
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.jsonOut, append(data, '\n'), 0o644)
}

// mix reads the catalog, renders a template, exports, converts: the code of
// every handler but orders (which would exhaust the stock).
var mix = []fixture.Request{
	{Method: "GET", Path: "/health"},
	{Method: "GET", Path: "/products?category=tea&sort=price"},
	{Method: "GET", Path: "/products/3"},
	{Method: "GET", Path: "/export?format=csv"},
	{Method: "GET", Path: "/render/invoice?customer=bob"},
	{Method: "GET", Path: "/convert?codec=Rot13&text=hello"},
}

type measurement struct {
	RPS, StartupMS, CPUPerRequest float64
	Errors                        int64
	Methods, Hit                  int
	Probes                        uint64
}

func measure(ctx context.Context, m mode, o options) (measurement, error) {
	var res measurement
	tr, err := tracer.New()
	if err != nil {
		return res, err
	}
	defer tr.Close()
	var args []string
	javaOptions := m.javaOptions
	var agent *jvm.Agent
	if m.agent {
		if agent, err = jvm.InstallAgent(""); err != nil {
			return res, err
		}
		defer agent.Remove()
		var scope []string
		if m.agentScope != "" {
			scope = append(scope, m.agentScope)
		}
		if javaOptions, err = agent.JavaToolOptions(nil, scope...); err != nil {
			return res, err
		}
		args = append(args, "--mount", "type=bind,source="+agent.Dir+",target="+jvm.MountPoint+",readonly")
	}
	if javaOptions != "" {
		args = append(args, "-e", "JAVA_TOOL_OPTIONS="+javaOptions)
	}
	began := time.Now()
	c, err := fixture.Start(image, 8080, args...)
	if err != nil {
		return res, err
	}
	defer c.Remove()
	readyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := c.WaitReady(readyCtx, "/health"); err != nil {
		return res, err
	}
	res.StartupMS = float64(time.Since(began).Microseconds()) / 1000
	var count func() uint64
	var cov *jvm.Coverage
	switch {
	case m.agent && !m.detached:
		if cov, err = jvm.Attach(ctx, tr, agent); err != nil {
			return res, err
		}
		defer cov.Close()
	case m.uprobe:
		closeProbe, n, err := emptyMethodEntryProbe(c.Pid)
		if err != nil {
			return res, err
		}
		defer closeProbe()
		count = n
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.workers}, Timeout: 10 * time.Second}
	base := "http://" + c.Addr
	fixture.Load(ctx, client, base, mix, o.workers, o.warmup)
	var before uint64
	if count != nil {
		before = count()
	}
	cpu0, err := containerCPU(c.Pid)
	if err != nil {
		return res, err
	}
	n, errs := fixture.Load(ctx, client, base, mix, o.workers, o.duration)
	cpu1, err := containerCPU(c.Pid)
	if err != nil {
		return res, err
	}
	res.RPS, res.Errors = float64(n)/o.duration.Seconds(), errs
	if n > 0 {
		res.CPUPerRequest = float64((cpu1 - cpu0).Microseconds()) / float64(n)
	}
	if count != nil {
		res.Probes = count() - before
	}
	if cov != nil {
		if err := tr.Sync(ctx); err != nil {
			return res, err
		}
		st := cov.Stats()
		res.Methods, res.Hit = st.Total, st.Hit
	}
	if running, code, _ := c.State(); !running {
		return res, fmt.Errorf("the target died (exit %d): %s", code, c.Logs())
	}
	return res, nil
}

// emptyMethodEntryProbe attaches a BPF program that only counts its calls
// to hotspot:method__entry in the container's libjvm.so.
func emptyMethodEntryProbe(pid int) (func(), func() uint64, error) {
	lib := fmt.Sprintf("/proc/%d/root%s", pid, libjvm)
	probes, err := usdt.Read(lib)
	if err != nil {
		return nil, nil, err
	}
	sites := usdt.Find(probes, "hotspot", "method__entry")
	if len(sites) == 0 {
		return nil, nil, fmt.Errorf("%s has no hotspot:method__entry probe", libjvm)
	}
	counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return nil, nil, err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.Kprobe,
		License: "Dual BSD/GPL",
		Instructions: asm.Instructions{
			asm.StoreImm(asm.RFP, -4, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, counter.FD()),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "out"),
			asm.LoadMem(asm.R1, asm.R0, 0, asm.DWord),
			asm.Add.Imm(asm.R1, 1),
			asm.StoreMem(asm.R0, 0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
			asm.Return(),
		},
	})
	if err != nil {
		counter.Close()
		return nil, nil, err
	}
	ex, err := link.OpenExecutable(lib)
	if err != nil {
		prog.Close()
		counter.Close()
		return nil, nil, err
	}
	var links []link.Link
	closeAll := func() {
		for _, l := range links {
			l.Close()
		}
		prog.Close()
		counter.Close()
	}
	for _, s := range sites {
		l, err := ex.Uprobe("", prog, &link.UprobeOptions{Address: s.Offset, RefCtrOffset: s.SemaphoreOffset})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("attaching hotspot:method__entry: %w", err)
		}
		links = append(links, l)
	}
	count := func() uint64 {
		var per []uint64
		if err := counter.Lookup(uint32(0), &per); err != nil {
			return 0
		}
		var n uint64
		for _, v := range per {
			n += v
		}
		return n
	}
	return closeAll, count, nil
}

// containerCPU is the CPU time used so far by the cgroup of the process
// pid (a container's init): cgroup v2 cpu.stat, or v1 cpuacct.usage.
func containerCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			if stat, err := os.ReadFile("/sys/fs/cgroup" + f[2] + "/cpu.stat"); err == nil {
				for _, l := range strings.Split(string(stat), "\n") {
					if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
						us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
						return time.Duration(us) * time.Microsecond, err
					}
				}
			}
		}
		for _, ctl := range strings.Split(f[1], ",") {
			if ctl != "cpuacct" {
				continue
			}
			for _, mnt := range []string{"cpuacct", "cpu,cpuacct"} {
				if v, err := os.ReadFile("/sys/fs/cgroup/" + mnt + f[2] + "/cpuacct.usage"); err == nil {
					ns, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
					return time.Duration(ns), err
				}
			}
		}
	}
	return 0, fmt.Errorf("no CPU accounting found for pid %d", pid)
}

// loadAverage is the 1-minute load average, 0 when unknown.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	_, _ = fmt.Sscan(string(data), &l)
	return l
}

func roundsString(v []float64) string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(s, " ")
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
