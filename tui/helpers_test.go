package tui

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/report/covdata"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// bubbles components render with the default renderer: pin it too.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// base is the fixed start of every synthetic run.
var base = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fakeControls records what the interface asked of the run.
type fakeControls struct {
	mu    sync.Mutex
	calls []string
	// onBuild, when set, runs when BuildNow is called.
	onBuild func()
}

func (f *fakeControls) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeControls) Pause(p bool) { f.record(fmt.Sprintf("pause %v", p)) }
func (f *fakeControls) BuildNow() {
	f.record("build")
	if f.onBuild != nil {
		f.onBuild()
	}
}
func (f *fakeControls) Skip(op string) { f.record("skip " + op) }

func (f *fakeControls) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// fakeProgress is the snapshot source, as the pipeline's counters are.
type fakeProgress struct {
	mu sync.Mutex
	p  event.Progress
}

func (f *fakeProgress) Get() event.Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.p
	p.Operations = append([]event.OperationProgress(nil), f.p.Operations...)
	return p
}

func (f *fakeProgress) update(fn func(p *event.Progress)) {
	f.mu.Lock()
	fn(&f.p)
	f.mu.Unlock()
}

// harness is a model wired to fakes, driven by calling Update directly.
type harness struct {
	m        *Model
	clock    *fakeClock
	controls *fakeControls
	progress *fakeProgress
	stopped  int
	quit     bool
}

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func newHarness(w, h int) *harness {
	hs := &harness{clock: &fakeClock{t: base}, controls: &fakeControls{}, progress: &fakeProgress{}}
	hs.progress.p = event.Progress{Image: "whittle-fixture/gopets:latest", Seed: 42, Phase: event.PhaseInspect}
	hs.m = New(Config{
		Progress: hs.progress.Get,
		Controls: hs.controls,
		Stop:     func() { hs.stopped++ },
		Outcome:  make(chan Outcome),
		Renderer: asciiRenderer(),
		Now:      hs.clock.Now,
	})
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	return hs
}

// send delivers messages. The commands keys and outcomes return (open a
// detail, quit) run at once, as the program would run them; others (the
// pump, ticks) are dropped: the test drives time itself.
func (hs *harness) send(msgs ...tea.Msg) {
	for _, msg := range msgs {
		_, cmd := hs.m.Update(msg)
		switch msg.(type) {
		case tea.KeyMsg, outcomeMsg:
			hs.run(cmd)
		}
	}
}

func (hs *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case tea.QuitMsg:
		hs.quit = true
	case tea.BatchMsg:
		for _, c := range msg {
			hs.run(c)
		}
	case openDetailMsg:
		hs.send(msg)
	}
}

func (hs *harness) events(es ...event.Event) { hs.send(eventsMsg(es)) }

// at moves the clock to base+d and pulls the progress as a tick would.
func (hs *harness) at(d time.Duration) {
	hs.clock.set(base.Add(d))
	hs.send(tickMsg(base.Add(d)))
}

func (hs *harness) keys(ks ...string) {
	for _, k := range ks {
		hs.send(keyMsg(k))
	}
}

// keyMsg turns a key name as key.Binding spells it into a KeyMsg.
func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

var operations = []string{
	"GET /pets", "POST /pets", "GET /pets/{petId}", "PUT /pets/{petId}",
	"DELETE /pets/{petId}", "GET /pets/{petId}/photos", "GET /health",
}

// fuzzing brings the harness to 83 s into a run, fuzzing for 75 s, with
// findings, coverage and logs.
func (hs *harness) fuzzing() {
	at := func(s int) event.Stamp { return event.Stamp{At: base.Add(time.Duration(s) * time.Second)} }
	hs.events(
		event.PhaseStarted{Stamp: at(0), Phase: event.PhaseInspect, Detail: "whittle-fixture/gopets:latest"},
		event.PhaseFinished{Stamp: at(2), Phase: event.PhaseInspect, Detail: "whittle-fixture/gopets:latest 312.4 MB, entrypoint /usr/bin/gopets, ports 8080/tcp"},
		event.PhaseStarted{Stamp: at(2), Phase: event.PhaseStart, Detail: "starting whittle-fixture/gopets:latest"},
		event.Log{Stamp: at(3), Level: event.LevelInfo, Msg: "tracer: tier uprobe-multi armed, 456 functions probed"},
		event.PhaseFinished{Stamp: at(8), Phase: event.PhaseStart, Detail: "whittle-fixture/gopets:latest answers on http://127.0.0.1:32768 (7 operations)"},
		event.PhaseStarted{Stamp: at(8), Phase: event.PhaseFuzz, Detail: "7 operations, seed 42"},
		event.Log{Stamp: at(9), Level: event.LevelWarn, Msg: "spec: GET /pets/{petId}/photos has no 2xx response schema"},
	)
	hs.progress.update(func(p *event.Progress) {
		p.Phase = event.PhaseFuzz
		p.TargetURL = "http://127.0.0.1:32768"
		p.FunctionsTotal = 456
	})
	for s := 8; s <= 83; s++ {
		n := int64(s-8) * 1234
		hs.progress.update(func(p *event.Progress) {
			p.Requests = n
			p.RequestsPerS = 1180 + float64((s*37)%120)
			p.Functions = min(123, 40+int(float64(s-8)*1.6))
			p.Files = min(210, 150+s)
			p.Syscalls = 48
			p.CorpusSize = 10 + (s-8)*47/75
			p.LastNewSignal = base.Add(time.Duration(min(s, 71)) * time.Second)
			p.Operations = nil
			for i, op := range operations {
				r := n / int64(len(operations)) * int64(7-i) / 4
				o := event.OperationProgress{Operation: op, Requests: r, Status2xx: r * 6 / 10, Status4xx: r * 3 / 10,
					NewCoverage: int64(12 - i)}
				if op == "POST /pets" {
					o.Status5xx = r / 50
				}
				o.Errors = r - o.Status2xx - o.Status4xx - o.Status5xx
				p.Operations = append(p.Operations, o)
			}
		})
		hs.at(time.Duration(s) * time.Second)
		if s == 30 {
			hs.events(
				event.NewCoverage{Stamp: at(30), Operation: "POST /pets", What: "3 functions, 1 file"},
				event.Finding{Stamp: at(30), ID: "F1", Operation: "POST /pets", Check: "server_error", Severity: "high",
					Summary: "500 Internal Server Error on a name of 4096 characters",
					Request: "POST /pets\n{\"name\": \"AAAA…\", \"tag\": \"x\"}", Response: "500 Internal Server Error\n{\"error\": \"name too long\"}",
					Curl: "curl -X POST 'http://127.0.0.1:32768/pets' -H 'Content-Type: application/json' -d '{\"name\":\"AAAA\"}'"},
			)
		}
		if s == 55 {
			hs.events(
				event.Finding{Stamp: at(55), ID: "F2", Operation: "GET /pets/{petId}", Check: "schema", Severity: "low",
					Summary: "answer does not match the 200 schema: id is a string"},
				event.Finding{Stamp: at(56), ID: "F3", Operation: "DELETE /pets/{petId}", Check: "status", Severity: "low",
					Summary: "undocumented status 405"},
				event.Log{Stamp: at(60), Level: event.LevelInfo, Msg: "corpus: 41 inputs, 3 new this minute"},
			)
		}
	}
	hs.progress.update(func(p *event.Progress) { p.Findings = 3 })
	hs.at(83 * time.Second)
}

// building brings a fuzzing harness into the build phase with a step.
func (hs *harness) building() {
	at := func(s int) event.Stamp { return event.Stamp{At: base.Add(time.Duration(s) * time.Second)} }
	hs.events(
		event.PhaseFinished{Stamp: at(84), Phase: event.PhaseFuzz, Detail: "92,550 requests, 7 operations answered 2xx, 3 findings"},
		event.PhaseStarted{Stamp: at(84), Phase: event.PhaseBuild, Detail: "minimal image of whittle-fixture/gopets:latest"},
		event.Step{Stamp: at(85), Phase: event.PhaseBuild, Name: "writing layer", Done: 62, Total: 93},
	)
	hs.progress.update(func(p *event.Progress) { p.Phase = event.PhaseBuild })
	hs.at(86 * time.Second)
}

// sampleCoverage is a Go service's coverage by function: two packages, a
// function never reached, start-up code, handlers reached by operations.
func sampleCoverage() *report.CodeCoverage {
	const mod = "github.com/whittle-dev/gopets"
	fn := func(file string, line int, name, pkg string, st covdata.State, at int, op string) covdata.Function {
		return covdata.Function{File: mod + "/" + file, Line: line, Name: name, Package: pkg, State: st, FirstHit: time.Duration(at) * time.Second, Operation: op}
	}
	c := &covdata.Coverage{Kind: "native-functions", Started: base, Functions: []covdata.Function{
		fn("main.go", 23, "main.main", "main", covdata.Startup, 1, ""),
		fn("config.go", 18, "main.loadConfig", "main", covdata.Startup, 1, ""),
		fn("handlers_pets.go", 77, "main.(*server).handleCreatePet", "main", covdata.Requests, 3, "POST /pets"),
		fn("handlers_pets.go", 159, "main.(*server).handleListPets", "main", covdata.Requests, 3, "GET /pets"),
		fn("store.go", 150, "main.(*server).compactStore", "main", covdata.Never, 0, ""),
		fn("server.go", 120, "main.writeError", "main", covdata.Requests, 9, "GET /pets/{petId}"),
		fn("internal/adopt/adopt.go", 62, mod+"/internal/adopt.Validate", mod+"/internal/adopt", covdata.Requests, 12, "POST /pets/{petId}/adopt"),
		fn("internal/adopt/foster.go", 29, mod+"/internal/adopt.foster", mod+"/internal/adopt", covdata.Never, 0, ""),
		fn("internal/adopt/foster.go", 51, mod+"/internal/adopt.fosterEligible", mod+"/internal/adopt", covdata.Never, 0, ""),
	}}
	c.Sort()
	c.Summarize()
	return &report.CodeCoverage{Kind: "native-functions", FunctionsTotal: 9, Functions: 6, ByFunction: c, Operations: c.Operations()}
}

func sampleReport(diverged bool) *report.Report {
	r := &report.Report{
		Schema:   report.SchemaVersion,
		Original: report.ImageInfo{Ref: "whittle-fixture/gopets:latest", Size: 312_400_000, Files: 14201},
		Minimal:  &report.ImageInfo{Ref: "whittle-fixture/gopets:latest-whittled", Size: 11_800_000, Files: 9},
		Ratio:    312.4 / 11.8,
		Fuzz: report.FuzzInfo{Seed: 42, Requests: 92550, CorpusSize: 57, Duration: 75,
			Operations: []report.Operation{{Operation: "GET /pets", Requests: 100}},
			Findings: []report.Finding{{ID: "F1", Operation: "POST /pets", Check: "server_error", Severity: "high",
				Summary: "500 Internal Server Error on a name of 4096 characters"}}},
		Files: []report.File{
			{Path: "/usr/bin/gopets", Size: 9_400_000, Mode: "-rwxr-xr-x", Reasons: []string{"entrypoint", "traced: exec"}},
			{Path: "/lib64/ld-linux-x86-64.so.2", Size: 0, Mode: "Lrwxrwxrwx", Linkname: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", Reasons: []string{"ELF interpreter of /usr/bin/gopets"}},
			{Path: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", Size: 210_000, Mode: "-rwxr-xr-x", Reasons: []string{"ELF interpreter of /usr/bin/gopets", "traced: open"}},
			{Path: "/lib/x86_64-linux-gnu/libc.so.6", Size: 1_900_000, Mode: "-rwxr-xr-x", Reasons: []string{"ELF dependency of /usr/bin/gopets", "traced: open"}},
			{Path: "/etc/passwd", Size: 1_200, Mode: "-rw-r--r--", Reasons: []string{"runtime: user lookup"}},
			{Path: "/etc/nsswitch.conf", Size: 500, Mode: "-rw-r--r--", Reasons: []string{"traced: open"}},
			{Path: "/etc/ssl/certs/ca-certificates.crt", Size: 220_000, Mode: "-rw-r--r--", Reasons: []string{"runtime heuristic: TLS roots"}},
			{Path: "/usr/share/zoneinfo/UTC", Size: 114, Mode: "-rw-r--r--", Reasons: []string{"traced: open"}},
			{Path: "/var/lib/gopets/pets.db", Size: 49_152, Mode: "-rw-r--r--", Reasons: []string{"traced: open (rw)"}},
		},
		Verification: &report.Verification{Result: "identical", Total: 1234, Identical: 1234, Volatile: 3},
		Outputs:      []string{"json=report.json"},
	}
	r.Trace.CodeCoverage = sampleCoverage()
	if diverged {
		r.Verification = &report.Verification{Result: "diverged", Total: 1234, Identical: 1232, Divergences: []report.Divergence{
			{Operation: "GET /pets/{petId}/photos", Request: "GET /pets/7/photos", Reason: "status 200 != 500",
				Original: "200 OK\n[{\"url\": \"/photos/7.jpg\"}]", Minimal: "500 Internal Server Error\nopen /usr/share/mime/types: no such file"},
			{Operation: "GET /health", Request: "GET /health", Reason: "body differs at $.tz", Original: "{\"tz\": \"Europe/Paris\"}", Minimal: "{\"tz\": \"UTC\"}"},
		}}
	}
	return r
}

// finished delivers the run's outcome.
func (hs *harness) finished(diverged bool) {
	var err error
	if diverged {
		err = errors.New("minimal image diverged from the original: 2 of 1234 answers differ (see the report's divergences)")
	}
	at := func(s int) event.Stamp { return event.Stamp{At: base.Add(time.Duration(s) * time.Second)} }
	rep := sampleReport(diverged)
	hs.events(
		event.PhaseFinished{Stamp: at(120), Phase: event.PhaseBuild, Detail: "whittle-fixture/gopets:latest-whittled: 11.8 MB, 9 files (26.5x smaller)"},
		event.PhaseStarted{Stamp: at(120), Phase: event.PhaseVerify, Detail: "replaying 1234 requests against whittle-fixture/gopets:latest-whittled"},
	)
	for _, d := range rep.Verification.Divergences {
		hs.events(event.Divergence{Stamp: at(125), Operation: d.Operation, Request: d.Request, Original: d.Original, Minimal: d.Minimal})
	}
	detail := "ok"
	if diverged {
		detail = "failed"
	}
	hs.events(
		event.PhaseFinished{Stamp: at(130), Phase: event.PhaseVerify, Detail: fmt.Sprintf("%d/%d identical", rep.Verification.Identical, rep.Verification.Total)},
		event.PhaseStarted{Stamp: at(131), Phase: event.PhaseDone, Detail: detail},
	)
	hs.progress.update(func(p *event.Progress) { p.Phase = event.PhaseDone })
	hs.clock.set(base.Add(131 * time.Second))
	hs.send(outcomeMsg{Report: rep, Err: err})
}

func (hs *harness) view() string { return hs.m.View() }

func (hs *harness) screenHas(t *testing.T, want ...string) {
	t.Helper()
	v := hs.view()
	for _, w := range want {
		if !strings.Contains(v, w) {
			t.Errorf("screen lacks %q:\n%s", w, v)
		}
	}
}

func windowSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

var errInterrupted = errors.New("interrupted: context canceled")

// companions: a compose target whose database is healthy and whose
// migration ran, each started twice.
func (hs *harness) companions() {
	hs.events(
		event.Dependency{Stamp: event.Stamp{At: base}, Service: "db", Image: "pg:15", State: "starting", Starts: 1},
		event.Dependency{Stamp: event.Stamp{At: base}, Service: "db", Image: "pg:15", State: "healthy", Starts: 2},
		event.Dependency{Stamp: event.Stamp{At: base}, Service: "migrate", Image: "api:1", State: "completed", Starts: 2},
		event.Dependency{Stamp: event.Stamp{At: base}, Service: "cache", Image: "redis:7", State: "waiting (healthy)", Starts: 1},
	)
}
