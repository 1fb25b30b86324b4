package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dockerimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/testimage"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
)

// Kill, interrupt and resume: what users and CI do to whittle, checked on
// the real thing (a whittle process, the gopets fixture, real BPF).

const (
	gopetsImage = "whittle-fixture/gopets:latest"
	gopetsSpec  = "../../testdata/targets/gopets/openapi.yaml"
)

func requireGopets(t *testing.T) *client.Client {
	t.Helper()
	cli := testimage.RequireDocker(t)
	if _, err := cli.ImageInspect(context.Background(), gopetsImage); err != nil {
		t.Skipf("SKIP: fixture %s not built (run `make fixtures`): %v", gopetsImage, err)
	}
	return cli
}

// testTag is a minimal-image tag of its own for a test (the default
// IMAGE-whittled tag is shared with demos and benchmarks), removed at the end.
func testTag(t *testing.T, cli *client.Client, name string) string {
	t.Helper()
	tag := "whittle-test/reliability:" + name
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), tag, dockerimage.RemoveOptions{Force: true, PruneChildren: true})
	})
	return tag
}

// buildWhittle compiles the command into a temporary directory.
func buildWhittle(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "whittle")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building whittle: %v\n%s", err, out)
	}
	return bin
}

// lockedBuffer is an output written by one goroutine and read by another.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// child is whittle running as a process of its own.
type child struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

func startWhittle(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd.Stderr = c.stderr
	c.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait returns the exit code, or fails the test after timeout.
func (c *child) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		t.Fatalf("whittle did not exit within %s; stderr:\n%s", timeout, c.stderr)
	}
	var ee *exec.ExitError
	if errors.As(c.err, &ee) {
		return ee.ExitCode() // -1 when killed by a signal
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	return 0
}

// containersOf lists the whittle containers owned by process pid.
func containersOf(t *testing.T, cli *client.Client, pid int) []container.Summary {
	t.Helper()
	list, err := cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", probe.LabelRun))})
	if err != nil {
		t.Fatal(err)
	}
	prefix := strconv.Itoa(pid) + "."
	var own []container.Summary
	for _, c := range list {
		if strings.HasPrefix(c.Labels[probe.LabelOwner], prefix) {
			own = append(own, c)
		}
	}
	return own
}

func running(cs []container.Summary) int {
	n := 0
	for _, c := range cs {
		if c.State == "running" {
			n++
		}
	}
	return n
}

func assertContainersGone(t *testing.T, cli *client.Client, ids map[string]bool) {
	t.Helper()
	for id := range ids {
		if _, err := cli.ContainerInspect(context.Background(), id); !errdefs.IsNotFound(err) {
			t.Errorf("container %s still exists (inspect: %v)", id[:12], err)
		}
	}
}

// bpfIDs are the BPF objects a process holds open, read from
// /proc/PID/fdinfo. Ids are not reused soon by the kernel, so an id seen
// during a run that no longer exists afterwards was released. (Comparing
// system-wide program lists by name would not do: other whittle processes,
// benchmarks and tests, load the same programs at the same time.)
type bpfIDs struct {
	progs, maps, links map[uint32]bool
}

func newBPFIDs() *bpfIDs {
	return &bpfIDs{progs: map[uint32]bool{}, maps: map[uint32]bool{}, links: map[uint32]bool{}}
}

func (b *bpfIDs) count() int { return len(b.progs) + len(b.maps) + len(b.links) }

// collect adds the BPF objects pid holds now, except those in skip.
func (b *bpfIDs) collect(pid int, skip *bpfIDs) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	list, err := os.ReadDir(dir)
	if err != nil {
		return // the process is gone
	}
	for _, de := range list {
		data, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			continue
		}
		fields := map[string]uint32{}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
				fields[k] = uint32(n)
			}
		}
		add := func(set, skipSet map[uint32]bool, id uint32) {
			if skip == nil || !skipSet[id] {
				set[id] = true
			}
		}
		var skipProgs, skipMaps, skipLinks map[uint32]bool
		if skip != nil {
			skipProgs, skipMaps, skipLinks = skip.progs, skip.maps, skip.links
		}
		switch {
		case fields["link_id"] != 0:
			add(b.links, skipLinks, fields["link_id"])
		case fields["map_id"] != 0:
			add(b.maps, skipMaps, fields["map_id"])
		case fields["prog_id"] != 0:
			add(b.progs, skipProgs, fields["prog_id"])
		}
	}
}

// assertReleased checks that none of the objects exists any more; the kernel
// frees them asynchronously, so it waits a little. It also runs the garbage
// collector: cilium/ebpf maps the global-data maps (.rodata, .bss) of an
// object into memory for its Variables, and that mapping, which keeps the
// map alive after Close, is only released when the collector runs.
func (b *bpfIDs) assertReleased(t *testing.T) {
	t.Helper()
	alive := func() []string {
		var left []string
		for id := range b.progs {
			if p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id)); err == nil {
				info, _ := p.Info()
				name := ""
				if info != nil {
					name = info.Name
				}
				p.Close()
				left = append(left, fmt.Sprintf("program %d %s", id, name))
			}
		}
		for id := range b.maps {
			if m, err := ebpf.NewMapFromID(ebpf.MapID(id)); err == nil {
				name := ""
				if info, err := m.Info(); err == nil {
					name = info.Name
				}
				m.Close()
				left = append(left, fmt.Sprintf("map %d %s", id, name))
			}
		}
		for id := range b.links {
			if l, err := link.NewFromID(link.ID(id)); err == nil {
				l.Close()
				left = append(left, fmt.Sprintf("link %d", id))
			}
		}
		return left
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		left := alive()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("BPF objects of whittle still exist: %s", strings.Join(left, ", "))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// entryFiles lists the corpus entries on disk (not unfinished writes).
func entryFiles(dir string) []string {
	list, _ := os.ReadDir(filepath.Join(dir, "entries"))
	var names []string
	for _, de := range list {
		if strings.HasSuffix(de.Name(), ".json") && !strings.HasPrefix(de.Name(), ".tmp-") {
			names = append(names, strings.TrimSuffix(de.Name(), ".json"))
		}
	}
	return names
}

// loadCorpus reads a corpus read-only and fails on any warning: after a
// crash at most a torn temporary file may exist, which readers ignore.
func loadCorpus(t *testing.T, dir string) *corpus.Store {
	t.Helper()
	st, err := corpus.Load(dir)
	if err != nil {
		t.Fatalf("loading the corpus: %v", err)
	}
	for _, w := range st.Warnings() {
		t.Errorf("corpus warning: %s", w)
	}
	return st
}

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the report: %v", err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("parsing the report: %v", err)
	}
	return &r
}

// waitUntil polls cond until it holds; it fails when c exits first or the
// timeout passes.
func waitUntil(t *testing.T, c *child, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if c != nil && c.exited() {
			t.Fatalf("whittle exited before %s; stderr:\n%s", what, c.stderr)
		}
		if time.Now().After(deadline) {
			msg := ""
			if c != nil {
				msg = c.stderr.String()
			}
			t.Fatalf("no %s within %s; stderr:\n%s", what, timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKillAndResume(t *testing.T) {
	cli := requireGopets(t)
	bin := buildWhittle(t)
	spec, _ := filepath.Abs(gopetsSpec)
	dir := filepath.Join(t.TempDir(), "corpus")
	tag := testTag(t, cli, "resume")
	runArgs := func(extra ...string) []string {
		return append([]string{"run", gopetsImage, "--spec", spec, "--auto", "--corpus", dir, "--tag", tag}, extra...)
	}

	// SIGKILL mid-fuzz, when the corpus has entries and the target runs. The
	// target may be between two containers (restarting after a crash) at
	// that instant; then try again.
	var leftovers []container.Summary
	bpf := newBPFIDs()
	var killedPID int
	for attempt := 1; attempt <= 3 && len(leftovers) == 0; attempt++ {
		c := startWhittle(t, bin, runArgs("--seed", "1", "--duration", "60s")...)
		pid := c.cmd.Process.Pid
		waitUntil(t, c, 2*time.Minute, "corpus entries and a running target", func() bool {
			bpf.collect(pid, nil)
			return len(entryFiles(dir)) >= 3 && running(containersOf(t, cli, pid)) > 0
		})
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		if code := c.wait(t, 30*time.Second); code != -1 {
			t.Fatalf("exit code %d after SIGKILL", code)
		}
		killedPID = pid
		leftovers = containersOf(t, cli, pid)
		t.Logf("attempt %d: killed whittle (pid %d) with %d corpus entries; %d container(s) left behind", attempt, pid, len(entryFiles(dir)), len(leftovers))
	}
	if len(leftovers) == 0 {
		t.Fatal("no container left behind by the killed run in 3 attempts: cannot check leftover removal")
	}
	for _, c := range leftovers {
		if c.Labels[probe.LabelRun] == "" || !strings.HasPrefix(c.Labels[probe.LabelOwner], strconv.Itoa(killedPID)+".") {
			t.Errorf("leftover %s lacks the run/owner labels: %v", c.ID[:12], c.Labels)
		}
	}
	if bpf.count() == 0 {
		t.Fatal("saw no BPF object of the killed whittle: the check below would prove nothing")
	}
	bpf.assertReleased(t) // the kernel's job after SIGKILL: nothing is pinned

	before := loadCorpus(t, dir)
	var ids []string
	for _, e := range before.Entries() {
		ids = append(ids, e.ID)
	}
	if len(ids) == 0 {
		t.Fatal("the corpus of the killed run is empty")
	}

	// Another whittle (a benchmark, a test) may remove the leftover first:
	// only then is the log line not ours to check.
	stillThere := 0
	leftoverIDs := map[string]bool{}
	for _, c := range leftovers {
		leftoverIDs[c.ID] = true
		if _, err := cli.ContainerInspect(context.Background(), c.ID); err == nil {
			stillThere++
		}
	}

	reportPath := filepath.Join(t.TempDir(), "report.json")
	began := time.Now()
	c := startWhittle(t, bin, runArgs("--seed", "2", "--duration", "5s", "-o", "json="+reportPath)...)
	code := c.wait(t, 5*time.Minute)
	stderr := c.stderr.String()
	t.Logf("resumed run took %s", time.Since(began).Round(time.Millisecond))
	// The run completes: verified, whatever the verdict (gopets answers
	// are not always reproducible; exit 3 says the minimal image diverged).
	if code != exitOK && code != exitDiverged {
		t.Fatalf("resumed run: exit %d; stderr:\n%s", code, stderr)
	}
	if stillThere > 0 {
		m := regexp.MustCompile(`removed (\d+) container\(s\) left behind by an interrupted run`).FindStringSubmatch(stderr)
		if n, _ := strconv.Atoi(safeIndex(m, 1)); n < stillThere {
			t.Errorf("the resumed run should say it removed the %d leftover container(s); stderr:\n%s", stillThere, stderr)
		}
	} else {
		t.Log("the leftover was removed by a concurrent whittle run before ours started")
	}
	assertContainersGone(t, cli, leftoverIDs)

	m := regexp.MustCompile(`resuming from (\d+) corpus entries`).FindStringSubmatch(stderr)
	if n, _ := strconv.Atoi(safeIndex(m, 1)); n != len(ids) {
		t.Errorf("the resumed run should load the %d entries of the killed one; stderr:\n%s", len(ids), stderr)
	}
	if strings.Contains(stderr, "corpus: ") {
		t.Errorf("corpus warnings while resuming:\n%s", stderr)
	}
	after := loadCorpus(t, dir)
	for _, id := range ids {
		if !after.Has(id) {
			t.Errorf("entry %s of the killed run is gone", id)
		}
	}
	rep := readReport(t, reportPath)
	if rep.Fuzz.Requests == 0 || rep.Verification == nil || rep.Verification.Result == "error" {
		t.Errorf("resumed run incomplete: %d requests, verification %+v", rep.Fuzz.Requests, rep.Verification)
	}
	t.Logf("corpus: %d entries before, %d after the resumed run", len(ids), after.Len())
}

func safeIndex(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func TestSignalsCleanUp(t *testing.T) {
	cli := requireGopets(t)
	bin := buildWhittle(t)
	spec, _ := filepath.Abs(gopetsSpec)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "corpus")
			reportPath := filepath.Join(t.TempDir(), "report.json")
			c := startWhittle(t, bin, "run", gopetsImage, "--spec", spec, "--auto", "--seed", "1", "--duration", "60s",
				"--corpus", dir, "--tag", testTag(t, cli, "signal"), "-o", "json="+reportPath)
			pid := c.cmd.Process.Pid
			bpf := newBPFIDs()
			seen := map[string]bool{}
			waitUntil(t, c, 2*time.Minute, "corpus entries and a running target", func() bool {
				bpf.collect(pid, nil)
				own := containersOf(t, cli, pid)
				for _, c := range own {
					seen[c.ID] = true
				}
				return len(entryFiles(dir)) >= 3 && running(own) > 0
			})
			entries := len(entryFiles(dir))
			sent := time.Now()
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code := c.wait(t, 2*time.Minute)
			t.Logf("%s with %d corpus entries: exited %d after %s", name, entries, code, time.Since(sent).Round(time.Millisecond))
			stderr := c.stderr.String()
			if code != exitInterrupted {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
			}
			if line := errorLine(t, stderr); line != "whittle: interrupted: "+name+" received" {
				t.Errorf("error line %q", line)
			}
			if left := containersOf(t, cli, pid); len(left) > 0 {
				t.Errorf("%d container(s) left behind", len(left))
			}
			assertContainersGone(t, cli, seen)
			if bpf.count() == 0 {
				t.Fatal("saw no BPF object of whittle: the check would prove nothing")
			}
			bpf.assertReleased(t)

			st := loadCorpus(t, dir)
			if st.Len() < entries {
				t.Errorf("corpus has %d entries after the signal, %d before", st.Len(), entries)
			}
			// The lock is released: another run can open the corpus.
			rw, err := corpus.Open(dir, corpus.Key{SpecHash: st.Meta().SpecHash, ImageID: st.Meta().ImageID})
			if err != nil {
				t.Errorf("opening the corpus after the signal: %v", err)
			} else {
				rw.Close()
			}
			if rep := readReport(t, reportPath); !strings.Contains(rep.Error, "interrupted") {
				t.Errorf("report error %q should say the run was interrupted", rep.Error)
			}
		})
	}
}

// observed is an in-process whittle run with what it held while it ran.
type observed struct {
	code       int
	stdout     string
	stderr     string
	bpf        *bpfIDs         // BPF objects this process opened during the run
	containers map[string]bool // containers of this process seen during the run
}

// runObserved runs whittle in this process, recording the BPF objects it
// opens and the containers it creates; targetUp is set once one of its
// containers runs. interrupt, when not nil, is polled and cancels the run
// (as a signal would) when it returns true.
func runObserved(t *testing.T, cli *client.Client, targetUp *atomic.Bool, interrupt func() bool, args ...string) observed {
	t.Helper()
	base := newBPFIDs()
	base.collect(os.Getpid(), nil)
	o := observed{bpf: newBPFIDs(), containers: map[string]bool{}}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	}()
	timeout := time.After(5 * time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case o.code = <-done:
			o.stdout, o.stderr = stdout.String(), stderr.String()
			return o
		case <-timeout:
			t.Fatalf("whittle did not return within 5 minutes; stderr:\n%s", stderr.String())
		case <-tick.C:
			o.bpf.collect(os.Getpid(), base)
			own := containersOf(t, cli, os.Getpid())
			for _, c := range own {
				o.containers[c.ID] = true
			}
			if targetUp != nil && running(own) > 0 {
				targetUp.Store(true)
			}
			if interrupt != nil && interrupt() {
				cancel(errors.New("SIGINT received"))
				interrupt = nil
			}
		}
	}
}

// TestInterruptReleasesEverythingBeforeExit checks, in one process, that an
// interrupted run closes its BPF programs, maps and links itself: a process
// exiting releases them anyway, so only this shows Execute's cleanup works.
func TestInterruptReleasesEverythingBeforeExit(t *testing.T) {
	cli := requireGopets(t)
	dir := filepath.Join(t.TempDir(), "corpus")
	var up atomic.Bool
	o := runObserved(t, cli, &up, func() bool { return up.Load() && len(entryFiles(dir)) >= 3 },
		"run", gopetsImage, "--spec", gopetsSpec, "--auto", "--seed", "1", "--duration", "60s", "--corpus", dir, "--tag", testTag(t, cli, "interrupt"))
	if o.code != exitInterrupted {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", o.code, exitInterrupted, o.stderr)
	}
	if o.bpf.count() == 0 || len(o.containers) == 0 {
		t.Fatalf("saw %d BPF objects and %d containers during the run: the checks would prove nothing", o.bpf.count(), len(o.containers))
	}
	o.bpf.assertReleased(t)
	assertContainersGone(t, cli, o.containers)
	names := slices.Sorted(func(yield func(string) bool) {
		for id := range o.containers {
			if !yield(id[:12]) {
				return
			}
		}
	})
	t.Logf("released %d programs, %d maps, %d links; removed containers %v", len(o.bpf.progs), len(o.bpf.maps), len(o.bpf.links), names)
	loadCorpus(t, dir)
}

// A second signal means the user will not wait for the cleanup: whittle
// exits at once, and says the next run removes what is left.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	cli := requireGopets(t)
	bin := buildWhittle(t)
	spec, _ := filepath.Abs(gopetsSpec)
	c := startWhittle(t, bin, "run", gopetsImage, "--spec", spec, "--auto", "--seed", "1", "--duration", "60s",
		"--tag", testTag(t, cli, "twice"))
	pid := c.cmd.Process.Pid
	t.Cleanup(func() {
		for _, ct := range containersOf(t, cli, pid) {
			_ = cli.ContainerRemove(context.Background(), ct.ID, container.RemoveOptions{Force: true})
		}
	})
	waitUntil(t, c, 2*time.Minute, "a running target", func() bool { return running(containersOf(t, cli, pid)) > 0 })
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	// Signals sent while the first is still pending merge into one (a loaded
	// machine may not run whittle for a while): send more until one counts.
	// Cleanup takes far longer than the interval, so a second arrives first.
	for range 10 {
		time.Sleep(20 * time.Millisecond)
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Signal(syscall.SIGINT)
			continue
		}
		break
	}
	code := c.wait(t, 30*time.Second)
	stderr := c.stderr.String()
	if code != exitInterrupted {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	if !strings.Contains(stderr, "whittle: SIGINT again: exiting without cleaning up (the next run removes the containers left behind)") {
		t.Errorf("stderr should say the cleanup was skipped:\n%s", stderr)
	}
}
