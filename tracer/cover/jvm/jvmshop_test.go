package jvm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

// Method coverage of the jvmshop fixture (Debian's OpenJDK 17) through the
// agent: real containers, real eBPF.

const jvmshopImage = "whittle-fixture/jvmshop:latest"

func requireIntegration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("INTEGRATION TEST SKIPPED: -short")
	}
	tr, err := tracer.New()
	if errors.Is(err, tracer.ErrNotRoot) || errors.Is(err, tracer.ErrNotSupported) {
		t.Skipf("INTEGRATION TEST SKIPPED: no tracer here: %v", err)
	}
	if err != nil {
		t.Fatalf("tracer.New: %v", err)
	}
	tr.Close()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: no Docker engine answers (%v: %s)", err, bytes.TrimSpace(out))
	}
	if err := fixture.Available(jvmshopImage); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
}

// startJvmshop starts jvmshop, with the agent when a is not nil, and binds tr
// to it once it answers.
func startJvmshop(t *testing.T, tr *tracer.Tracer, a *Agent) *fixture.Container {
	t.Helper()
	return startJava(t, tr, jvmshopImage, a)
}

// startJava starts a container of image answering /health on port 8080,
// with the agent when a is not nil, binds tr to it and waits until it
// answers.
func startJava(t *testing.T, tr *tracer.Tracer, image string, a *Agent) *fixture.Container {
	t.Helper()
	var args []string
	if a != nil {
		opts, err := a.JavaToolOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		args = []string{"--mount", "type=bind,source=" + a.Dir + ",target=" + MountPoint + ",readonly", "-e", "JAVA_TOOL_OPTIONS=" + opts}
	}
	c, err := fixture.Start(image, 8080, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitReady(ctx, "/health"); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	return c
}

func newTracer(t *testing.T) *tracer.Tracer {
	t.Helper()
	tr, err := tracer.New()
	if err != nil {
		t.Fatalf("tracer.New: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func installAgent(t *testing.T) *Agent {
	t.Helper()
	a, err := InstallAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Remove)
	return a
}

func get(t *testing.T, c *fixture.Container, path string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + c.Addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestIntegrationJvmshopMethods(t *testing.T) {
	requireIntegration(t)
	tr := newTracer(t)
	a := installAgent(t)
	c := startJvmshop(t, tr, a)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cov, err := Attach(ctx, tr, a)
	if err != nil {
		t.Fatalf("Attach: %v\n%s", err, c.Logs())
	}
	defer cov.Close()

	sc := cov.ClassScope()
	t.Logf("scope: %s", sc)
	if sc.How != "Main-Class" || !strings.Contains(sc.Detail, "com.example.jvmshop.Main in /app/jvmshop.jar") ||
		!slices.Equal(sc.Prefixes, []string{"com/example/jvmshop/"}) {
		t.Fatalf("scope = %+v, want com/example/jvmshop/ from the jar's Main-Class", sc)
	}
	for _, p := range sc.Packages {
		if !strings.HasPrefix(p, "com.example.jvmshop") {
			t.Errorf("package %s is not the application's", p)
		}
	}
	st := cov.Stats()
	t.Logf("stats: %+v", st)
	if st.Kind != cover.JVMMethods || st.Total < 30 || st.Hit == 0 || st.Hit >= st.Total || !st.Enabled ||
		st.Binary != "/usr/lib/jvm/java-17-openjdk-amd64/bin/java" || st.Processes != 1 || st.Mechanism == "" {
		t.Fatalf("unexpected stats %+v", st)
	}
	if p := cov.Problems(); len(p) > 0 {
		t.Errorf("problems: %q", p)
	}
	// Start-up: main ran, and it is in the replay although the probe was
	// attached after the service answered.
	units := func(hs []cover.FirstHit) []string {
		var out []string
		for _, h := range hs {
			if strings.HasPrefix(h.Name, h.Package+".") && h.Unit() == h.Name {
				out = append(out, h.Unit())
			}
		}
		return out
	}
	if hit := units(cov.Hits()); !slices.Contains(hit, "com.example.jvmshop.Main.main(String[])") {
		t.Fatalf("Main.main not among the start-up hits %q", hit)
	}
	for _, m := range cov.HitMethods() {
		if m.File == "" || m.Line == 0 || m.HitAt.IsZero() || m.JVMPid == 0 {
			t.Errorf("hit method without file, line, time or JVM: %+v", m)
		}
	}

	cursor, bg, err := cov.Baseline(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("background: %d methods", len(bg))
	step := func(path string) []string {
		t.Helper()
		get(t, c, path)
		if err := tr.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		var u []string
		u, cursor = cov.NewSince(cursor)
		return u
	}
	xml := step("/export?format=xml")
	t.Logf("/export?format=xml: %q", xml)
	for _, want := range []string{"com.example.jvmshop.web.ExportHandler.handle(HttpExchange)",
		"com.example.jvmshop.export.XmlExporter.export(List)", "com.example.jvmshop.export.XmlExporter.escape(String)"} {
		if !slices.Contains(xml, want) {
			t.Errorf("%s not reported for /export?format=xml", want)
		}
	}
	if again := step("/export?format=xml"); len(again) != 0 {
		t.Errorf("the same request again reported %q: breakpoints are cleared on the first call", again)
	}
	// A class of the exploded plugin directory, loaded by name: in scope.
	hex := step("/convert?codec=Hex&text=hi")
	if !slices.Contains(hex, "com.example.jvmshop.codec.Hex.encode(String)") {
		t.Errorf("Hex.encode not reported for /convert?codec=Hex: %q", hex)
	}
	if after := cov.Stats(); after.Total <= st.Total || after.Hit <= st.Hit {
		t.Errorf("loading the exporter and the codec did not grow the scope or the hits: %+v then %+v", st, after)
	}

	// Detached, nothing reaches whittle; attached again, the agent replays
	// and only the calls made meanwhile are new.
	if err := cov.Enable(false); err != nil {
		t.Fatal(err)
	}
	get(t, c, "/render/invoice?customer=ann")
	if err := tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if u, _ := cov.NewSince(cursor); len(u) != 0 {
		t.Errorf("reported while detached: %q", u)
	}
	if err := cov.Enable(true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var render []string
	for time.Now().Before(deadline) {
		if err := tr.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if render, _ = cov.NewSince(cursor); slices.Contains(render, "com.example.jvmshop.render.Template.render(Map)") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Contains(render, "com.example.jvmshop.render.Template.render(Map)") {
		t.Fatalf("the replay after re-attaching did not bring the render's methods: %q", render)
	}
	for _, u := range render {
		if strings.Contains(u, "Exporter") || strings.Contains(u, "codec.Hex") {
			t.Errorf("the replay reported %s again", u)
		}
	}

	// A JVM started later (a restart, a spare) finds the probe attached and
	// replays by itself; what it calls that the first did not is new.
	before := cov.JVMs()
	c2 := startJvmshop(t, tr, a)
	get(t, c2, "/export?format=tsv")
	deadline = time.Now().Add(10 * time.Second)
	var tsv []string
	for time.Now().Before(deadline) && !slices.Contains(tsv, "com.example.jvmshop.export.TsvExporter.export(List)") {
		time.Sleep(50 * time.Millisecond)
		if err := tr.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		tsv, _ = cov.NewSince(cursor)
	}
	if after := cov.JVMs(); len(after) != len(before)+1 || !slices.Contains(tsv, "com.example.jvmshop.export.TsvExporter.export(List)") {
		t.Errorf("second JVM: JVMs %v then %v, new %q", before, after, tsv)
	}
}

func TestIntegrationJvmshopWithoutAgent(t *testing.T) {
	requireIntegration(t)
	tr := newTracer(t)
	a := installAgent(t)
	startJvmshop(t, tr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Attach(ctx, tr, a, WithReplayWait(time.Second))
	if !errors.Is(err, ErrNoAgent) {
		t.Fatalf("Attach without the agent in the JVM: %v, want ErrNoAgent", err)
	}
}
