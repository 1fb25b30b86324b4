package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

const nodeviews = "whittle-fixture/nodeviews:latest"

func requireNodeviews(t *testing.T, env ...string) (*fixture.Container, *tracer.Tracer) {
	t.Helper()
	if testing.Short() {
		t.Skip("INTEGRATION TEST SKIPPED: -short")
	}
	tr, err := tracer.New()
	if errors.Is(err, tracer.ErrNotRoot) || errors.Is(err, tracer.ErrNotSupported) {
		t.Skipf("INTEGRATION TEST SKIPPED: no tracer here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	if err := fixture.Available(nodeviews); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
	var args []string
	for _, e := range env {
		args = append(args, "-e", e)
	}
	c, err := fixture.Start(nodeviews, 8080, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitReady(ctx, "/health"); err != nil {
		t.Fatalf("%v\n%s", err, c.Logs())
	}
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	return c, tr
}

// The application's scripts in every node process of the container (the
// cluster primary and its workers, those forked again later included) are
// covered live, function by function and block by block; node's internals
// and the system's modules are not; the inspector is published nowhere.
func TestIntegrationNodeCoverage(t *testing.T) {
	rt := New(WithPollInterval(100 * time.Millisecond))
	c, tr := requireNodeviews(t, rt.Env([]string{"NODE_OPTIONS=--max-old-space-size=256"})...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	src, err := rt.Attach(ctx, cover.Process{Tracer: tr, Pid: c.Pid})
	if err != nil {
		t.Fatalf("Attach: %v\n%s", err, c.Logs())
	}
	defer src.Close()
	cov := src.(*Coverage)
	st := src.Stats()
	t.Logf("stats: %+v", st)
	if st.Kind != Kind || st.Processes != 3 || st.Inactive != "" {
		t.Fatalf("want V8 coverage of 3 processes (primary + 2 workers): %+v", st)
	}
	if !strings.Contains(st.ScopeFrom, "/srv/nodeviews/server.js") || !slices.Contains(st.ScopeFiles, "/srv/nodeviews/lib/orders.js") ||
		!slices.Contains(st.ScopeFiles, "/srv/nodeviews/converters/rankine.js") {
		t.Errorf("scope: from %q, files %v", st.ScopeFrom, st.ScopeFiles)
	}
	for _, f := range st.ScopeFiles {
		if strings.Contains(f, "/usr/share/nodejs/") || strings.Contains(f, "node_modules") {
			t.Errorf("scope holds %s", f)
		}
	}
	scope := src.Scope()
	if !slices.ContainsFunc(scope, func(f cover.Function) bool {
		return f.Name == "neverCalled" && f.File == "/srv/nodeviews/lib/orders.js" && f.Line > 1
	}) {
		t.Errorf("the planted neverCalled is not in the scope with its line: %v", scope)
	}
	cursor, bg, err := src.Baseline(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start-up: %d units", len(bg))

	// A fresh connection per request: killed workers take theirs with them.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	step := func(path string) []string {
		t.Helper()
		resp, err := client.Get("http://" + c.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err := src.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		var units []string
		units, cursor = src.NewSince(cursor)
		return units
	}
	// Both workers take requests in turn: ask twice so that each one has.
	first := append(step("/convert/rankine?value=-1"), step("/convert/rankine?value=-1")...)
	if !slices.ContainsFunc(first, func(u string) bool { return strings.HasPrefix(u, "/srv/nodeviews/converters/rankine.js:toKelvin@") }) {
		t.Errorf("the rankine converter's function is not new after it ran: %v", first)
	}
	for _, u := range first {
		if !strings.HasPrefix(u, "/srv/nodeviews/") {
			t.Errorf("unit outside the application: %s", u)
		}
	}
	// The other branch of toKelvin is a block of a function already hit.
	second := append(step("/convert/rankine?value=9"), step("/convert/rankine?value=9")...)
	hits := src.Hits()
	block := slices.IndexFunc(hits, func(h cover.FirstHit) bool {
		return h.Level == cover.LevelBlock && h.File == "/srv/nodeviews/converters/rankine.js" && slices.Contains(second, h.Unit())
	})
	if block < 0 {
		t.Errorf("the second branch of toKelvin is no new block: %v", second)
	} else if h := hits[block]; h.Line < 4 || h.At.IsZero() || h.Background {
		t.Errorf("block hit %+v: want its line, its time, not background", h)
	}
	if again := step("/convert/rankine?value=9"); len(again) != 0 {
		t.Errorf("the same request again found %v", again)
	}
	for _, h := range hits {
		if h.Name == "neverCalled" {
			t.Errorf("neverCalled hit: %+v", h)
		}
	}
	t.Logf("mean take of %d processes: %v", src.Stats().Processes, cov.TakeTime())

	// Workers that exit are forked again: the new ones are covered.
	old := fixture.ChildPids(c.Pid)
	if len(old) != 2 {
		t.Fatalf("workers %v", old)
	}
	for _, pid := range old {
		if out, err := exec.Command("kill", fmt.Sprint(pid)).CombinedOutput(); err != nil {
			t.Fatalf("kill %d: %v %s", pid, err, out)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		now := fixture.ChildPids(c.Pid)
		if st := src.Stats(); st.Processes == 3 && len(now) == 2 && !slices.Contains(now, old[0]) && !slices.Contains(now, old[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-forked workers not covered: %+v (workers %v, were %v)", src.Stats(), fixture.ChildPids(c.Pid), old)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for ok := 0; ok < 4; time.Sleep(50 * time.Millisecond) { // both new workers listen
		if resp, err := client.Get("http://" + c.Addr + "/health"); err == nil {
			resp.Body.Close()
			ok++
		}
	}
	later := append(step("/convert/fahrenheit?value=50"), step("/convert/fahrenheit?value=50")...)
	if !slices.ContainsFunc(later, func(u string) bool { return strings.HasPrefix(u, "/srv/nodeviews/converters/fahrenheit.js:") }) {
		t.Errorf("re-forked workers: the fahrenheit converter is not new: %v", later)
	}

	// The inspector listens on the container's loopback only: the one
	// published port is the service's.
	out, err := exec.Command("docker", "port", c.ID).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(l, "8080/tcp -> ") {
			t.Errorf("published: %s", l)
		}
	}
	port, err := inspectorPort(procfs.Host, c.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/json/list", port)); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(b, []byte("webSocketDebuggerUrl")) {
			t.Errorf("the inspector answers on this machine's loopback at %d", port)
		}
	}
}

// Without the inspector option the node processes are found but cannot be
// covered, and the error says why; a container without node is another
// runtime's.
func TestIntegrationNodeWithoutInspector(t *testing.T) {
	c, tr := requireNodeviews(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := New().Attach(ctx, cover.Process{Tracer: tr, Pid: c.Pid})
	if err == nil || errors.Is(err, cover.ErrOtherRuntime) || !strings.Contains(err.Error(), "inspector") {
		t.Errorf("Attach without an inspector: %v", err)
	}
	// The test's own process is no container's node.
	if _, err := New().Attach(ctx, cover.Process{Tracer: tr, Pid: os.Getpid()}); !errors.Is(err, cover.ErrOtherRuntime) {
		t.Errorf("Attach on a process without node: %v", err)
	}
}
