package tracer

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// suiteFiles runs the workload's suite in a fresh container under tr and
// returns what tr saw after Bind.
func suiteFiles(t *testing.T, tr ...*Tracer) container {
	t.Helper()
	c := runContainer(t, testImage(t), "/usr/bin/wl", "wait", "suite")
	for _, x := range tr {
		if err := x.Bind(c.pid); err != nil {
			t.Fatalf("Bind(%d): %v", c.pid, err)
		}
	}
	c.signal(t)
	c.wait(t)
	for _, x := range tr {
		syncTracer(t, x)
	}
	return c
}

func requireAccesses(t *testing.T, files []FileAccess, want ...access) {
	t.Helper()
	got := accessSet(files)
	var missing []access
	for _, w := range want {
		if _, ok := got[w]; !ok {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		dumpFiles(t, files)
		t.Fatalf("missing file accesses: %v", missing)
	}
}

// (1) The entrypoint's first exec is captured with the loader's and libc's
// opens, even though they happen before Bind; runc's own work is not.
func TestIntegrationFirstExec(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	c := suiteFiles(t, tr)
	files := tr.Files()
	requireAccesses(t, files,
		access{"/usr/bin/wl", KindExec, 0},
		access{"/lib64/ld-linux-x86-64.so.2", KindExec, 0}, // PT_INTERP as written in the binary
		access{"/etc/ld.so.preload", KindAccess, 2},
		access{"/etc/ld.so.cache", KindOpen, 0},
		access{"/lib/x86_64-linux-gnu/libc.so.6", KindOpen, 0},
		access{"/usr/lib/x86_64-linux-gnu/libc.so.6", KindMmapExec, 0},
	)
	for _, f := range files {
		if f.Comm != "wl" && f.Comm != "script" {
			dumpFiles(t, files)
			t.Fatalf("access by %q (not the workload): %+v", f.Comm, f)
		}
	}
	// The init process itself did the first exec.
	if f := accessSet(files)[access{"/usr/bin/wl", KindExec, 0}]; f.Tgid != uint32(c.pid) && f.Count < 2 {
		t.Errorf("exec of /usr/bin/wl by tgid %d, want the container init %d", f.Tgid, c.pid)
	}
	if s := tr.Stats(); s.Lost != 0 || s.DecodeErrors != 0 {
		t.Errorf("stats: %+v", s)
	}
}

// (2) A second container of the same image, running at the same time,
// contributes nothing once the tracer is bound to the first.
func TestIntegrationIsolation(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	img := testImage(t)
	a := runContainer(t, img, "/usr/bin/wl", "wait", "suite")
	b := runContainer(t, img, "/usr/bin/wl", "wait", "b")
	if err := tr.Bind(a.pid); err != nil {
		t.Fatal(err)
	}
	b.signal(t)
	a.signal(t)
	b.wait(t)
	a.wait(t)
	syncTracer(t, tr)
	files := tr.Files()
	for _, f := range files {
		if f.Tgid == uint32(b.pid) || f.Path == "/data/only-b.txt" || f.Path == "/data/only-b-missing" {
			dumpFiles(t, files)
			t.Fatalf("access from the other container: %+v", f)
		}
	}
	requireAccesses(t, files, access{"/data/abs.txt", KindOpen, 0})
	for _, s := range tr.Syscalls() {
		if s.Name == "" {
			t.Errorf("unnamed syscall %d", s.Nr)
		}
	}
}

// (3) Failed lookups are recorded with their errno.
func TestIntegrationFailedLookups(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	suiteFiles(t, tr)
	requireAccesses(t, tr.Files(),
		access{"/data/missing.txt", KindOpen, 2},
		access{"/etc/nothere", KindStat, 2},
		access{"/data/dir/nope", KindStat, 2},
		access{"/data/dir/y.txt", KindOpen, 2},
		access{"/nonexistent/bin", KindExec, 2},
		access{"/tmp/nothing", KindUnlink, 2},
		access{"/tmp/a", KindRename, 2},
		access{"/tmp/b", KindRename, 2},
	)
}

// (4) Relative paths: after chdir (also through a symlink) and with a dirfd.
func TestIntegrationRelativePaths(t *testing.T) {
	requireIntegration(t)
	for _, tier := range []Tier{TierTracepointKernelPath, TierTracepointUserPath} {
		t.Run(tier.String(), func(t *testing.T) {
			tr := newTestTracer(t, WithTier(tier))
			suiteFiles(t, tr)
			files := tr.Files()
			requireAccesses(t, files,
				access{"/data/rel/file.txt", KindOpen, 0},      // chdir("/data"); open("rel/file.txt")
				access{"/data/dir/sub/inner.txt", KindOpen, 0}, // openat(dirfd "/data/dir", "sub/inner.txt")
				access{"/data/dir/x.txt", KindOpen, 0},         // chdir("/data/link" -> dir); open("x.txt")
				access{"/data/dir", KindOpenDir, 0},            // open("dir", O_DIRECTORY) from /data
				access{"/data/abs.txt", KindOpen, 0},           // "dir/../abs.txt", cleaned
				access{"/data", KindChdir, 0},                  // chdir("..") from /data/dir
				access{"/data/link", KindChdir, 0},             // as requested, not resolved
			)
			for _, f := range files {
				if f.Path == "/data/link/x.txt" || f.Path == "/x.txt" || f.Path == "/rel/file.txt" {
					t.Errorf("wrongly resolved: %+v", f)
				}
			}
			if s := tr.Stats(); s.Unresolved != 0 || s.Truncated != 0 {
				t.Errorf("stats: %+v", s)
			}
		})
	}
}

// (5) Every tier that loads sees the same file set on the same workload:
// all of them trace one container at once.
func TestIntegrationTierParity(t *testing.T) {
	requireIntegration(t)
	var tracers []*Tracer
	for _, st := range ProbeTiers() {
		if st.Err != nil {
			t.Logf("tier %s unavailable: %v", st.Tier, st.Err)
			continue
		}
		tracers = append(tracers, newTestTracer(t, WithTier(st.Tier)))
	}
	if len(tracers) < 2 {
		t.Skipf("INTEGRATION TEST SKIPPED: only %d tier(s) load here", len(tracers))
	}
	suiteFiles(t, tracers...)
	ref := keys(tracers[0].Files())
	for _, tr := range tracers[1:] {
		got := keys(tr.Files())
		if !slices.Equal(ref, got) {
			t.Errorf("tier %s and %s differ:\n%s\n--- vs ---\n%s", tracers[0].Tier(), tr.Tier(), ref, got)
		}
	}
	t.Logf("%d tiers agree on %d accesses", len(tracers), len(ref))
}

func keys(files []FileAccess) []string {
	var out []string
	for _, f := range files {
		out = append(out, access{f.Path, f.Kind, f.Errno}.String())
	}
	return out
}

// (6) The syscall set contains what the workload obviously uses.
func TestIntegrationSyscalls(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	suiteFiles(t, tr)
	got := map[string]bool{}
	for _, s := range tr.Syscalls() {
		got[s.Name] = true
	}
	for _, want := range []string{"execve", "openat", "newfstatat", "access", "readlink", "chdir", "mmap",
		"mprotect", "close", "clone", "wait4", "mkdir", "rmdir", "unlink", "rename", "rt_sigtimedwait", "exit_group"} {
		if !got[want] {
			t.Errorf("syscall %s missing from %v", want, tr.Syscalls())
		}
	}
}

// docker exec processes belong to the container.
func TestIntegrationDockerExec(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	c := runContainer(t, testImage(t), "/usr/bin/wl", "sleep")
	if err := tr.Bind(c.pid); err != nil {
		t.Fatal(err)
	}
	c.exec(t, "/usr/bin/wl", "execd")
	c.signal(t)
	c.wait(t)
	syncTracer(t, tr)
	requireAccesses(t, tr.Files(), access{"/data/execd.txt", KindOpen, 0})
}

// A #! script is recorded with its interpreter.
func TestIntegrationScriptInterpreter(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	suiteFiles(t, tr)
	files := tr.Files()
	requireAccesses(t, files,
		access{"/data/script", KindExec, 0},
		access{"/data/from-script.txt", KindOpen, 0},
	)
}

// (7) Close leaves no program, map or link of the tracer in the kernel.
func TestIntegrationCloseLeavesNothing(t *testing.T) {
	requireIntegration(t)
	tr, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var progIDs []ebpf.ProgramID
	var mapIDs []ebpf.MapID
	var linkIDs []link.ID
	for _, p := range []*ebpf.Program{tr.objs.SysEnter, tr.objs.SysExit, tr.objs.SchedExec,
		tr.objs.SchedFork, tr.objs.SchedExit, tr.objs.SyncMarker} {
		info, err := p.Info()
		if err != nil {
			t.Fatal(err)
		}
		id, _ := info.ID()
		progIDs = append(progIDs, id)
	}
	for _, m := range []*ebpf.Map{tr.objs.Events, tr.objs.Tracked, tr.objs.Inflight, tr.objs.SyscallSpecs,
		tr.objs.Sysbits, tr.objs.Counters, tr.objs.Scratch, tr.objs.BoundSet} {
		info, err := m.Info()
		if err != nil {
			t.Fatal(err)
		}
		id, _ := info.ID()
		mapIDs = append(mapIDs, id)
	}
	for _, l := range tr.links {
		info, err := l.Info()
		if err != nil {
			t.Fatal(err)
		}
		linkIDs = append(linkIDs, info.ID)
	}
	if len(linkIDs) != 5 {
		t.Fatalf("%d links, want 5", len(linkIDs))
	}
	before := liveProgramIDs(t)
	for _, id := range progIDs {
		if !before[id] {
			t.Fatalf("program %d not listed by ProgramGetNextID before Close", id)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	// Map and program memory is freed asynchronously (RCU): allow a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		after := liveProgramIDs(t)
		for _, id := range progIDs {
			if after[id] {
				left = append(left, fmt.Sprintf("program %d", id))
			}
		}
		for _, id := range mapIDs {
			if m, err := ebpf.NewMapFromID(id); err == nil {
				m.Close()
				left = append(left, fmt.Sprintf("map %d", id))
			}
		}
		for _, id := range linkIDs {
			if l, err := link.NewFromID(id); err == nil {
				l.Close()
				left = append(left, fmt.Sprintf("link %d", id))
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left after Close: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func liveProgramIDs(t *testing.T) map[ebpf.ProgramID]bool {
	t.Helper()
	ids := map[ebpf.ProgramID]bool{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			return ids
		}
		if err != nil {
			t.Fatalf("ProgramGetNextID: %v", err)
		}
		ids[next] = true
		id = next
	}
}

// No loss at a sustained 20k opens/s (twice the acceptance's 10k/s) with
// the default ring buffer, in every tier; then a full-speed burst, whose
// rate and losses are logged (rates are benchmarks, never asserted).
func TestIntegrationOpenRateNoDrops(t *testing.T) {
	requireIntegration(t)
	for _, tier := range []Tier{TierTracepointKernelPath, TierTracepointUserPath} {
		t.Run(tier.String(), func(t *testing.T) {
			tr := newTestTracer(t, WithTier(tier))
			const n = 40000
			s, rate := openLoop(t, tr, n, 20000)
			if s.Lost != 0 || s.InflightOverflow != 0 || s.PathReadErrors != 0 {
				t.Errorf("losses at %.0f opens/s: %+v", rate, s)
			}
			if f := accessSet(tr.Files())[access{"/data/abs.txt", KindOpen, 0}]; f.Count < n {
				t.Errorf("/data/abs.txt seen %d times, want >= %d", f.Count, n)
			}
			if rate < 10000 {
				t.Logf("WARNING: the paced loop only reached %.0f opens/s", rate)
			}
			burst := newTestTracer(t, WithTier(tier))
			openLoop(t, burst, 200000, 0)
		})
	}
}

// openLoop runs n opens in a fresh container (at most rate/s when rate > 0)
// and returns the tracer's stats after them and the workload's own rate.
func openLoop(t *testing.T, tr *Tracer, n int, rate int) (Stats, float64) {
	t.Helper()
	c := runContainer(t, testImage(t), "/usr/bin/wl", "wait", "loop", strconv.Itoa(n), strconv.Itoa(rate))
	if err := tr.Bind(c.pid); err != nil {
		t.Fatal(err)
	}
	syncTracer(t, tr)
	before := tr.Stats()
	start := time.Now()
	c.signal(t)
	c.wait(t)
	syncTracer(t, tr)
	elapsed := time.Since(start)
	s := tr.Stats()
	got := parseRate(c.logs(t))
	t.Logf("tier %s, %d opens (limit %d/s): workload ran at %.0f opens/s traced; %d records read in %v; lost %d",
		tr.Tier(), n, rate, got, s.Events-before.Events, elapsed.Round(time.Millisecond), s.Lost)
	return s, got
}

var rateRE = regexp.MustCompile(`rate=(\d+)`)

func parseRate(logs string) float64 {
	m := rateRE.FindStringSubmatch(logs)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// Sync is safe to call concurrently with a busy workload.
func TestIntegrationConcurrentSync(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	c := runContainer(t, testImage(t), "/usr/bin/wl", "wait", "loop", "50000")
	if err := tr.Bind(c.pid); err != nil {
		t.Fatal(err)
	}
	c.signal(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				syncTracer(t, tr)
				_ = tr.Files()
				_ = tr.Stats()
			}
		}()
	}
	wg.Wait()
	c.wait(t)
	syncTracer(t, tr)
	cursor := 0
	all, cursor := tr.FilesSince(cursor)
	if len(all) == 0 {
		t.Fatal("FilesSince(0) returned nothing")
	}
	more, next := tr.FilesSince(cursor)
	if len(more) != 0 || next != cursor {
		t.Errorf("FilesSince(%d) = %d files, cursor %d; want none", cursor, len(more), next)
	}
}

// TierAuto falls back cleanly past tiers the kernel refuses; forcing an
// unusable tier is ErrNotSupported.
func TestIntegrationTierSelection(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	t.Logf("auto picked %s", tr.Tier())
	for _, f := range tr.Fallbacks() {
		t.Logf("  skipped %s: %v", f.Tier, f.Err)
		if !errors.Is(f.Err, ErrNotSupported) {
			t.Errorf("fallback from %s is not ErrNotSupported: %v", f.Tier, f.Err)
		}
	}
	if tr.Tier() != TierTracepointKernelPath && tr.Tier() != TierTracepointUserPath {
		t.Errorf("auto picked %s", tr.Tier())
	}
	for _, tier := range []Tier{TierLSM, TierFentry} {
		if _, err := New(WithTier(tier)); !errors.Is(err, ErrNotSupported) {
			t.Errorf("New(WithTier(%s)) = %v, want ErrNotSupported", tier, err)
		}
	}
	if _, err := New(WithTier(Tier(42))); err == nil {
		t.Error("New with an unknown tier succeeded")
	}
}

// The in-kernel walk crosses mounts (a tmpfs inside the container) and goes
// deep; the user-space tier agrees.
func TestIntegrationMountsAndDeepPaths(t *testing.T) {
	requireIntegration(t)
	kt := newTestTracer(t, WithTier(TierTracepointKernelPath))
	ut := newTestTracer(t, WithTier(TierTracepointUserPath))
	c := runContainerOpts(t, []string{"--tmpfs", "/scratch"}, testImage(t), "/usr/bin/wl", "wait", "deep")
	for _, tr := range []*Tracer{kt, ut} {
		if err := tr.Bind(c.pid); err != nil {
			t.Fatal(err)
		}
	}
	c.signal(t)
	c.wait(t)
	deep := "/scratch" + strings.Repeat("/d", 100)
	for _, tr := range []*Tracer{kt, ut} {
		syncTracer(t, tr)
		requireAccesses(t, tr.Files(),
			access{"/scratch/made.txt", KindOpen, 0},
			access{deep + "/leaf.txt", KindOpen, 2},
			access{deep[:len(deep)-2] + "/leaf2.txt", KindOpen, 2},
			access{deep, KindOpenDir, 0},
		)
		if s := tr.Stats(); s.Truncated != 0 || s.Unresolved != 0 {
			t.Errorf("tier %s: %+v", tr.Tier(), s)
		}
	}
	if k, u := keys(kt.Files()), keys(ut.Files()); !slices.Equal(k, u) {
		t.Errorf("tiers differ:\n%s\n--- vs ---\n%s", k, u)
	}
}

// Drops are counted, not silent: with a one-page ring buffer and the reader
// stalled, a burst overflows and Stats.Lost says so.
func TestIntegrationLossIsCounted(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t, WithRingBufferSize(4096))
	c := runContainer(t, testImage(t), "/usr/bin/wl", "wait", "loop", "20000")
	if err := tr.Bind(c.pid); err != nil {
		t.Fatal(err)
	}
	syncTracer(t, tr)
	tr.col.mu.Lock() // stall the consumer
	c.signal(t)
	c.wait(t)
	tr.col.mu.Unlock()
	syncTracer(t, tr)
	s := tr.Stats()
	f := accessSet(tr.Files())[access{"/data/abs.txt", KindOpen, 0}]
	t.Logf("lost %d, seen %d of 20000 opens", s.Lost, f.Count)
	if s.Lost == 0 {
		t.Fatalf("no loss counted: %+v", s)
	}
	if uint64(f.Count)+s.Lost < 20000 {
		t.Errorf("seen %d + lost %d < 20000 opens", f.Count, s.Lost)
	}
}

// The user-space tier resolves correctly even when it reads the records only
// after the container has exited (slow consumer, short-lived container).
func TestIntegrationUserTierAfterExit(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t, WithTier(TierTracepointUserPath))
	c := runContainer(t, testImage(t), "/usr/bin/wl", "wait", "suite")
	if err := tr.Bind(c.pid); err != nil {
		t.Fatal(err)
	}
	syncTracer(t, tr)
	tr.col.mu.Lock() // stall the consumer until the container is gone
	c.signal(t)
	c.wait(t)
	tr.col.mu.Unlock()
	syncTracer(t, tr)
	requireAccesses(t, tr.Files(),
		access{"/data/dir/x.txt", KindOpen, 0},
		access{"/data/dir/sub/inner.txt", KindOpen, 0},
		access{"/data/rel/file.txt", KindOpen, 0},
	)
}
