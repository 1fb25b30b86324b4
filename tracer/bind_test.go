package tracer

import (
	"slices"
	"testing"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// Bind is additive: a second container's namespace joins, records of
// namespaces never bound are dropped, Arm lets a new one in until the next
// bind, and Unbind keeps what was seen.
func TestCollectorMultiBind(t *testing.T) {
	c := newCollector(false, procfs.FS{Dir: t.TempDir()})
	c.handle(fileRec(7, 1, nrOpenat, "/a", 3))
	c.handle(fileRec(8, 2, nrOpenat, "/other", 3))
	c.bind(7, 0)
	c.handle(fileRec(8, 2, nrOpenat, "/other-late", 3)) // not bound: dropped
	_, cur := c.filesSince(0)
	if cur != 1 {
		t.Fatalf("cursor after the first bind = %d, want 1", cur)
	}

	// The target restarts: armed, a new namespace's first exec is kept.
	c.arm()
	c.handle(fileRec(9, 3, nrOpenat, "/a", 3))       // the restarted target, before its bind
	c.handle(fileRec(9, 3, nrOpenat, "/startup", 3)) // ditto
	c.handle(fileRec(10, 4, nrOpenat, "/stranger", 3))
	c.bind(9, 0)
	c.handle(fileRec(10, 4, nrOpenat, "/stranger-late", 3))
	c.handle(fileRec(9, 3, nrOpenat, "/b", 3))
	c.handle(fileRec(7, 1, nrOpenat, "/c", 3)) // the first container is still bound

	want := []access{{"/a", KindOpen, 0}, {"/b", KindOpen, 0}, {"/c", KindOpen, 0}, {"/startup", KindOpen, 0}}
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		t.Fatalf("files = %v, want %v", k, want)
	}
	since, cur := c.filesSince(cur)
	if k := keysOf(since); !slices.Equal(k, []access{{"/startup", KindOpen, 0}, {"/b", KindOpen, 0}, {"/c", KindOpen, 0}}) || cur != 4 {
		t.Fatalf("filesSince = %v, %d", k, cur)
	}
	for _, f := range c.files() {
		if f.Path == "/a" && f.Count != 2 {
			t.Errorf("/a counted %d times, want 2 (once per container)", f.Count)
		}
	}

	c.unbind(7)
	c.handle(fileRec(7, 1, nrOpenat, "/after-unbind", 3))
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		t.Fatalf("after unbind: files = %v, want %v", k, want)
	}
	if _, _, _, _, n := c.counters(); n != 4 {
		t.Errorf("counters: %d files, want 4", n)
	}
}

// The kernel reuses a mount namespace's inode number once the namespace is
// gone. A container that died and is not unbound yet can leave its number
// to the next one started (a restart's spare): the new container takes the
// binding over, and unbinding the dead one must not stop following it.
func TestIntegrationBindTakesOverAReusedNamespace(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	const ns = 4026500001 // made up: never the host's
	const dead, fresh = 1<<30 + 1, 1<<30 + 2
	if err := tr.bind(ns, dead); err != nil {
		t.Fatal(err)
	}
	if err := tr.bind(ns, fresh); err != nil {
		t.Fatal(err)
	}
	if err := tr.Unbind(dead); err != nil {
		t.Fatalf("unbinding the container that gave its namespace number away: %v", err)
	}
	if got := tr.Bound(); !slices.Equal(got, []uint64{ns}) {
		t.Fatalf("bound after unbinding the dead container: %v, want the fresh one's namespace", got)
	}
	var v uint8
	if err := tr.objs.BoundSet.Lookup(uint64(ns), &v); err != nil {
		t.Fatalf("BPF no longer follows the fresh container: %v", err)
	}
	if err := tr.Unbind(fresh); err != nil {
		t.Fatal(err)
	}
	if got := tr.Bound(); len(got) != 0 {
		t.Errorf("bound after unbinding both: %v", got)
	}
	if err := tr.Unbind(fresh); err == nil {
		t.Error("unbinding twice succeeded")
	}
}

// While armed for a start, another container (a build's RUN step, a CI job's
// test run) may exec, exit, and leave its mount namespace inode to the
// container being started: the kernel reuses the numbers of gone
// namespaces at once. The started container must not inherit the gone
// one's files.
func TestCollectorForgetsAGoneUnboundNamespace(t *testing.T) {
	c := newCollector(false, procfs.FS{Dir: t.TempDir()})
	c.handle(fileRec(7, 1, nrOpenat, "/app", 3))
	c.bind(7, 0)

	c.arm()
	c.handle(&record{typ: evExec, nr: nrExecve, pid: 50, tgid: 50, flags: fTracked, mntns: 9, comm: "sh", dirfd: atFDCWD, path: "/usr/sbin/useradd"})
	c.handle(fileRec(9, 50, nrOpenat, "/etc/login.defs", 3))
	c.handle(&record{typ: evExit, pid: 50, tgid: 50, mntns: 9}) // the build step is gone
	// The new container gets inode 9 again.
	c.handle(&record{typ: evExec, nr: nrExecve, pid: 60, tgid: 60, flags: fTracked, mntns: 9, comm: "app", dirfd: atFDCWD, path: "/app"})
	c.handle(fileRec(9, 60, nrOpenat, "/startup", 3))
	c.bind(9, 0)

	var paths []string
	for _, f := range c.files() {
		paths = append(paths, f.Path)
	}
	for _, p := range []string{"/usr/sbin/useradd", "/etc/login.defs"} {
		if slices.Contains(paths, p) {
			t.Errorf("%s of a gone container was credited to the one that reused its namespace: %v", p, paths)
		}
	}
	for _, p := range []string{"/app", "/startup"} {
		if !slices.Contains(paths, p) {
			t.Errorf("%s of the started container is missing: %v", p, paths)
		}
	}
}

// A container's records count as start-up from Starting until Ready, by
// their kernel time stamp; a container never marked starting has none,
// and unbinding one forgets its span (namespace numbers are reused).
func TestIntegrationStartSpansByNamespaceAndTime(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	const ns, other = 4026500011, 4026500012
	const pid, otherPid = 1<<30 + 11, 1<<30 + 12
	for _, b := range []struct {
		ns  uint64
		pid uint32
	}{{ns, pid}, {other, otherPid}} {
		if err := tr.bind(b.ns, b.pid); err != nil {
			t.Fatal(err)
		}
	}
	before := MonotonicNow()
	if tr.DuringStart(ns, before) {
		t.Fatal("a container never marked starting has records during a start")
	}
	tr.Starting(pid)
	if !tr.DuringStart(ns, before) || !tr.DuringStart(ns, MonotonicNow()+1e9) {
		t.Fatal("records of a starting container are not start-up work")
	}
	if tr.DuringStart(other, before) {
		t.Fatal("another container's records count as this one's start-up")
	}
	tr.Ready(pid)
	after := MonotonicNow() + 1
	if !tr.DuringStart(ns, before) {
		t.Error("a record stamped before the container got ready is no longer start-up work")
	}
	if tr.DuringStart(ns, after) {
		t.Error("a record stamped after the container got ready counts as start-up")
	}
	if err := tr.Unbind(pid); err != nil {
		t.Fatal(err)
	}
	if err := tr.bind(ns, pid+100); err != nil {
		t.Fatal(err)
	}
	if tr.DuringStart(ns, before) {
		t.Error("a namespace number reused by a later container keeps the gone one's start-up")
	}
}
