package cover

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/tracer"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

// Coverage of the gopets fixture: a stripped, externally linked (cgo) Go
// binary, the case where a wrong text start shifts every probe and crashes
// the target.

const gopetsBinary = "/usr/local/bin/gopets"

func requireGopets(t *testing.T) {
	t.Helper()
	requireIntegration(t)
	if err := fixture.Available(fixture.GopetsImage); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
}

func startGopets(t *testing.T) *fixture.Container {
	t.Helper()
	c, err := fixture.Start(fixture.GopetsImage, 8080)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitReady(ctx, "/health"); err != nil {
		t.Fatal(err)
	}
	return c
}

// requireAlive fails when the container died or logged a crash.
func requireAlive(t *testing.T, c *fixture.Container) {
	t.Helper()
	running, code, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	logs := c.Logs()
	if !running {
		t.Fatalf("the target died (exit %d):\n%s", code, logs)
	}
	for _, bad := range []string{"SIGSEGV", "SIGILL", "SIGTRAP", "fatal error", "unexpected signal", "goroutine "} {
		if strings.Contains(logs, bad) {
			t.Fatalf("the target logged %q:\n%s", bad, logs)
		}
	}
}

// gopetsSequence: first a repeated request, then a new endpoint twice,
// then every operation.
func gopetsSequence() []fixture.Request {
	health := fixture.Request{Op: "getHealth", Method: "GET", Path: "/health"}
	breed := fixture.Request{Op: "getBreed", Method: "GET", Path: "/breeds/beagle"}
	return append([]fixture.Request{health, health, breed, breed}, fixture.GopetsSuite()...)
}

func runSequence(t *testing.T, c *fixture.Container, seq []fixture.Request, after func(i int)) []fixture.Answer {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	var out []fixture.Answer
	for i, r := range seq {
		a, err := fixture.Do(client, "http://"+c.Addr, r)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		out = append(out, a)
		if after != nil {
			after(i)
		}
	}
	return out
}

func TestIntegrationCoverGopets(t *testing.T) {
	requireGopets(t)
	t.Run("uprobe_multi", func(t *testing.T) { checkCoverGopets(t, "uprobe_multi") })
	// A kernel without uprobe_multi links (before 6.6): one classic uprobe
	// per function gives the same coverage.
	t.Run("uprobe per address", func(t *testing.T) {
		t.Cleanup(faults.Set(faults.UprobeMulti, func() error { return errors.New("simulated: no uprobe_multi links") }))
		checkCoverGopets(t, "uprobe per address")
	})
}

func checkCoverGopets(t *testing.T, attach string) {
	seq := gopetsSequence()

	// Reference answers from an untraced container.
	ref := runSequence(t, startGopets(t), seq, nil)

	tr := newTestTracer(t)
	c := startGopets(t)
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	cov, err := Attach(ctx, tr, c.Pid, gopetsBinary)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attached in %s", time.Since(began))
	st := cov.Stats()
	t.Logf("coverage: %+v", st)
	if st.Kind != NativeFunctions || st.Source != "gopclntab" || st.Total < 50 || st.Attach != attach {
		t.Fatalf("unexpected coverage: %+v", st)
	}
	if st.Rejected != 0 || st.Refused != 0 {
		t.Errorf("problems: %+v", cov.Problems())
	}
	for _, f := range cov.nat.funcs {
		if f.Package != "main" && !strings.HasPrefix(f.Package, "github.com/whittle-dev/gopets") {
			t.Errorf("out of the main module: %s (%s)", f.Name, f.Package)
		}
	}
	cursor, bg, err := cov.Baseline(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("background (start-up): %d functions", len(bg))

	perRequest := make([][]string, len(seq))
	got := runSequence(t, c, seq, func(i int) {
		syncTracer(t, tr)
		perRequest[i], cursor = cov.NewSince(cursor)
		t.Logf("%-7s %-40s +%d %v", seq[i].Method, seq[i].Path, len(perRequest[i]), perRequest[i])
	})
	requireAlive(t, c)
	for i := range seq {
		if got[i] != ref[i] {
			t.Errorf("%s: traced answer differs:\n got %+v\nwant %+v", seq[i], got[i], ref[i])
		}
	}
	// Repeating a request yields nothing new.
	if len(perRequest[1]) != 0 {
		t.Errorf("repeated GET /health yielded %v", perRequest[1])
	}
	if len(perRequest[3]) != 0 {
		t.Errorf("repeated GET /breeds/beagle yielded %v", perRequest[3])
	}
	// Another endpoint yields its handler's functions, by name.
	for _, want := range []string{"main.(*server).handleBreed", "main.(*breedCatalog).lookup"} {
		if !slices.Contains(perRequest[2], want) {
			t.Errorf("GET /breeds/beagle: %s not among %v", want, perRequest[2])
		}
	}
	hit := map[string]bool{}
	for _, f := range cov.Hit() {
		hit[f.Name] = true
	}
	for _, want := range []string{"main.(*server).handleCreatePet", "main.(*server).handleAdopt",
		"github.com/whittle-dev/gopets/internal/adopt.Process", "main.(*server).handleCard", "main.humanYears"} {
		if !hit[want] {
			t.Errorf("%s not hit", want)
		}
	}
	// Pruning removed the probes of hit functions.
	began = time.Now()
	if _, err := cov.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("pruned in %s", time.Since(began))
	st = cov.Stats()
	t.Logf("after the suite: %+v", st)
	if st.Probed != st.Total-st.Hit || st.Pruned != st.Hit {
		t.Errorf("probed %d, pruned %d, want %d and %d", st.Probed, st.Pruned, st.Total-st.Hit, st.Hit)
	}
	requireAlive(t, c)
}

// Starter starts the target under the tracer and covers it; when the target
// is replaced, the tracer follows the new container of the same image,
// keeps what it had, and the one Coverage goes on through the pinned file.
func TestIntegrationCoverRestart(t *testing.T) {
	requireGopets(t)
	tr := newTestTracer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := NewStarter(tr, gopetsBinary)
	if _, err := st.Coverage(); err == nil {
		t.Fatal("coverage before any start")
	}
	start := func(c **fixture.Container) StartFunc {
		return func(context.Context) (int, func(context.Context) error, error) {
			var err error
			if *c, err = fixture.Start(fixture.GopetsImage, 8080); err != nil {
				return 0, nil, err
			}
			t.Cleanup((*c).Remove)
			return (*c).Pid, func(ctx context.Context) error { return (*c).WaitReady(ctx, "/health") }, nil
		}
	}

	var a *fixture.Container
	if _, err := st.Start(ctx, start(&a)); err != nil {
		t.Fatal(err)
	}
	cov, err := st.Coverage()
	if err != nil {
		t.Fatal(err)
	}
	cursor, _, err := cov.Baseline(ctx, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if _, err := fixture.Do(client, "http://"+a.Addr, fixture.Request{Method: "GET", Path: "/whoami"}); err != nil {
		t.Fatal(err)
	}
	syncTracer(t, tr)
	first, cursor := cov.NewSince(cursor)
	if !slices.Contains(first, "main.(*server).handleWhoami") {
		t.Errorf("first container: %v", first)
	}
	filesA := len(tr.Files())

	// The first container goes away; a fresh one replaces it.
	a.Remove()
	if err := tr.Unbind(a.Pid); err != nil {
		t.Fatal(err)
	}
	var b *fixture.Container
	if _, err := st.Start(ctx, start(&b)); err != nil {
		t.Fatal(err)
	}
	if again, err := st.Coverage(); again != cov || err != nil {
		t.Errorf("the second start changed the coverage: %p (%v), was %p", again, err, cov)
	}
	if got := tr.Bound(); len(got) != 1 {
		t.Errorf("bound namespaces: %v", got)
	}
	if _, err := fixture.Do(client, "http://"+b.Addr, fixture.Request{Method: "GET", Path: "/breeds/beagle"}); err != nil {
		t.Fatal(err)
	}
	if _, err := fixture.Do(client, "http://"+b.Addr, fixture.Request{Method: "GET", Path: "/whoami"}); err != nil {
		t.Fatal(err)
	}
	syncTracer(t, tr)
	second, _ := cov.NewSince(cursor)
	if !slices.Contains(second, "main.(*server).handleBreed") || slices.Contains(second, "main.(*server).handleWhoami") {
		t.Errorf("second container: %v", second)
	}
	files := map[access]tracer.FileAccess{}
	for _, f := range tr.Files() {
		files[access{f.Path, f.Kind, f.Errno}] = f
	}
	if f := files[access{"/usr/local/bin/gopets", tracer.KindExec, 0}]; f.Count < 2 {
		t.Errorf("exec of gopets seen %d times, want one per container (the second's first exec: Start arms first)", f.Count)
	}
	if _, ok := files[access{"/usr/share/gopets/breeds/beagle.json", tracer.KindOpen, 0}]; !ok {
		t.Errorf("the second container's file accesses are missing")
	}
	if len(files) < filesA {
		t.Errorf("files shrank from %d to %d", filesA, len(files))
	}
	requireAlive(t, b)
}

type access struct {
	path  string
	kind  tracer.Kind
	errno int
}

// A start that fails leaves the tracer following what it followed, and a
// process that dies before it can be bound is reported by its own error.
func TestIntegrationStarterFailures(t *testing.T) {
	requireGopets(t)
	tr := newTestTracer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := NewStarter(tr, gopetsBinary)
	boom := errors.New("no engine")
	if _, err := st.Start(ctx, func(context.Context) (int, func(context.Context) error, error) { return 0, nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed start: %v", err)
	}
	if _, err := st.Coverage(); err == nil {
		t.Error("coverage after a failed start")
	}
	died := errors.New("exited with status 1 during start-up")
	pid, err := st.Start(ctx, func(context.Context) (int, func(context.Context) error, error) {
		return 1 << 30, func(context.Context) error { return died }, nil // no such process
	})
	if !errors.Is(err, died) || pid != 0 {
		t.Fatalf("a process gone before Bind: pid %d, %v, want 0 and its own error", pid, err)
	}
	if got := tr.Bound(); len(got) != 0 {
		t.Errorf("bound after failed starts: %v", got)
	}
}

// Close leaves no uprobe link, program or map behind.
func TestIntegrationCoverCloseLeavesNothing(t *testing.T) {
	requireGopets(t)
	tr, err := tracer.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	c := startGopets(t)
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cov, err := Attach(ctx, tr, c.Pid, gopetsBinary, WithProbeChunk(16), WithPruneInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	var linkIDs []link.ID
	for _, ch := range cov.nat.chunks {
		info, err := ch.l.Info()
		if err != nil {
			t.Fatal(err)
		}
		linkIDs = append(linkIDs, info.ID)
	}
	if len(linkIDs) < 2 {
		t.Fatalf("%d uprobe_multi links, want several chunks", len(linkIDs))
	}
	progInfo, err := cov.set.entry.Info()
	if err != nil {
		t.Fatal(err)
	}
	progID, _ := progInfo.ID()
	mapInfo, err := cov.set.maps.CoverHits.Info()
	if err != nil {
		t.Fatal(err)
	}
	mapID, _ := mapInfo.ID()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		for _, id := range linkIDs {
			if l, err := link.NewFromID(id); err == nil {
				l.Close()
				left = append(left, "link")
			}
		}
		if liveProgramIDs(t)[progID] {
			left = append(left, "program")
		}
		if m, err := ebpfMapFromID(mapID); err == nil {
			m.Close()
			left = append(left, "map")
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left after Close: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	requireAlive(t, c)
}

func ebpfMapFromID(id ebpf.MapID) (*ebpf.Map, error) { return ebpf.NewMapFromID(id) }
