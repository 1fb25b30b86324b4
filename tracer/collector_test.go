package tracer

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// fakeProc makes a procfs with one live process, pid, whose root is a fake
// container root and whose mount namespace inode is returned.
func fakeProc(t *testing.T, pid string) (procfs.FS, string, uint64) {
	t.Helper()
	dir := t.TempDir()
	root := fakeRoot(t)
	if err := os.MkdirAll(filepath.Join(dir, pid, "ns"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, pid, "ns", "mnt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(dir, pid, "root")); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, pid, "ns", "mnt"), &st); err != nil {
		t.Fatal(err)
	}
	return procfs.FS{Dir: dir}, root, st.Ino
}

func fileRec(ns uint64, tgid uint32, nr uint16, path string, ret int64) *record {
	s, _ := specFor(int(nr))
	return &record{typ: evFile, kind: s.kind, nr: nr, pid: tgid, tgid: tgid, flags: fTracked, mntns: ns,
		comm: "app", ret: ret, dirfd: atFDCWD, path: path}
}

const (
	nrOpenat     = 257
	nrNewfstatat = 262
)

func TestCollectorDedupAndOrder(t *testing.T) {
	c := newCollector(false, procfs.FS{Dir: t.TempDir()})
	c.handle(fileRec(7, 1, nrOpenat, "/b", 3))
	c.handle(fileRec(7, 1, nrOpenat, "/a", -2))
	c.handle(fileRec(7, 2, nrOpenat, "/b", 4))
	c.handle(fileRec(7, 1, nrNewfstatat, "/b", 0))
	c.handle(fileRec(7, 1, nrOpenat, "/a", 5))
	got := c.files()
	want := []access{{"/a", KindOpen, 0}, {"/a", KindOpen, 2}, {"/b", KindOpen, 0}, {"/b", KindStat, 0}}
	if k := keysOf(got); !slices.Equal(k, want) {
		t.Fatalf("files = %v, want %v", k, want)
	}
	if got[2].Count != 2 || got[2].Tgid != 1 {
		t.Errorf("/b open: count %d tgid %d, want 2 and the first seen (1)", got[2].Count, got[2].Tgid)
	}
	since, cur := c.filesSince(0)
	if since != nil || cur != 0 {
		t.Errorf("filesSince before Bind = %v, %d", since, cur)
	}
}

func keysOf(files []FileAccess) []access {
	var out []access
	for _, f := range files {
		out = append(out, access{f.Path, f.Kind, f.Errno})
	}
	return out
}

func TestCollectorBind(t *testing.T) {
	c := newCollector(false, procfs.FS{Dir: t.TempDir()})
	c.handle(fileRec(7, 1, nrOpenat, "/mine", 3))
	c.handle(fileRec(8, 2, nrOpenat, "/other", 3))
	c.bind(7, 1)
	c.handle(fileRec(8, 2, nrOpenat, "/other-late", 3)) // queued before BPF saw the bind
	c.handle(fileRec(7, 1, nrOpenat, "/mine-late", 3))
	want := []access{{"/mine", KindOpen, 0}, {"/mine-late", KindOpen, 0}}
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		t.Fatalf("files = %v, want %v", k, want)
	}
	since, cur := c.filesSince(0)
	if len(since) != 2 || since[0].Path != "/mine" || cur != 2 {
		t.Fatalf("filesSince(0) = %v, %d", since, cur)
	}
	c.handle(fileRec(7, 1, nrOpenat, "/mine", 3)) // repeat: nothing new
	c.handle(fileRec(7, 1, nrOpenat, "/new", 3))
	since, cur = c.filesSince(cur)
	if len(since) != 1 || since[0].Path != "/new" || cur != 3 {
		t.Fatalf("filesSince(2) = %v, %d", since, cur)
	}
}

func TestCollectorKernelBases(t *testing.T) {
	c := newCollector(false, procfs.FS{Dir: t.TempDir()})
	r := fileRec(7, 1, nrOpenat, "x.txt", 3)
	r.flags |= fBase
	r.base = "/data/dir"
	c.handle(r)
	r = fileRec(7, 1, nrChdir, "..", 0) // succeeded: base is the new cwd
	r.flags |= fBase
	r.base = "/data"
	c.handle(r)
	r = fileRec(7, 1, nrChdir, "nope", -2) // failed: base is the unchanged cwd
	r.flags |= fBase
	r.base = "/data"
	c.handle(r)
	r = fileRec(7, 1, nrMmap, "", 0x7f0000000000)
	r.flags |= fBase
	r.base = "/usr/lib/libc.so.6"
	r.dirfd = 3
	c.handle(r)
	want := []access{{"/data", KindChdir, 0}, {"/data/dir/x.txt", KindOpen, 0}, {"/data/nope", KindChdir, 2},
		{"/usr/lib/libc.so.6", KindMmapExec, 0}}
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		t.Fatalf("files = %v, want %v", k, want)
	}
}

// The user-space tier rebuilds cwd and descriptors from the records alone:
// runc's chdir before the exec, fork inheritance, dirfds through symlinks.
func TestCollectorUserShadow(t *testing.T) {
	proc, _, ns := fakeProc(t, "100")
	c := newCollector(true, proc)

	// runc init (untracked) moves to the working directory, then execs.
	r := fileRec(ns, 100, nrChdir, "/data/link", 0)
	r.flags = 0
	c.handle(r)
	if b := c.buckets[ns]; (b != nil && b.root != nil) || c.procs[100].cwd != "/data/link" {
		// runc init may not have pivoted yet: its /proc/PID/root could be the host's.
		t.Fatalf("an untracked record resolved through /proc/PID/root (cwd %q)", c.procs[100].cwd)
	}
	c.handle(&record{typ: evExec, nr: nrExecve, pid: 100, tgid: 100, flags: fTracked, mntns: ns, comm: "app",
		dirfd: atFDCWD, path: "/lib64/ld.so"})
	if len(c.files()) != 1 {
		t.Fatalf("the untracked chdir was recorded: %v", keysOf(c.files()))
	}
	c.handle(fileRec(ns, 100, nrOpenat, "sub", 3)) // cwd /data/dir (resolved)
	dfd := fileRec(ns, 100, nrOpenat, "/data/link", 4)
	dfd.aux = oDirectory
	c.handle(dfd)
	c.handle(&record{typ: evFork, pid: 100, tgid: 100, mntns: ns, child: 101})
	at := fileRec(ns, 101, nrOpenat, "sub/f", -2)
	at.dirfd = 4 // inherited descriptor of /data/link -> /data/dir
	c.handle(at)
	c.handle(fileRec(ns, 101, nrChdir, "sub", 0))
	c.handle(fileRec(ns, 101, nrOpenat, "g", 5))
	c.handle(fileRec(ns, 100, nrOpenat, "h", 5)) // the parent's cwd did not move
	lib := fileRec(ns, 100, nrOpenat, "/lib/x86_64/ld.so", 6)
	c.handle(lib)
	mm := fileRec(ns, 100, nrMmap, "", 0x7f0000000000)
	mm.dirfd = 6
	c.handle(mm)

	want := []access{
		{"/data/dir/h", KindOpen, 0},
		{"/data/dir/sub", KindOpen, 0},
		{"/data/dir/sub", KindChdir, 0},
		{"/data/dir/sub/f", KindOpen, 2},
		{"/data/dir/sub/g", KindOpen, 0},
		{"/data/link", KindOpenDir, 0},
		{"/lib/x86_64/ld.so", KindOpen, 0},
		{"/lib64/ld.so", KindExec, 0},
		{"/usr/lib/x86_64/ld.so", KindMmapExec, 0},
	}
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		dumpFiles(t, c.files())
		t.Fatalf("files = %v\nwant %v", k, want)
	}
	c.handle(&record{typ: evExit, pid: 101, tgid: 101, mntns: ns})
	if _, ok := c.procs[101]; ok {
		t.Error("shadow state of an exited process kept")
	}
}

func TestCollectorUntrackedFailedExec(t *testing.T) {
	c := newCollector(false, procfs.FS{Dir: t.TempDir()})
	r := fileRec(7, 1, nrExecve, "/missing-entrypoint", -2)
	r.flags = 0
	c.handle(r)
	r = fileRec(7, 1, nrOpenat, "/runc-noise", 3)
	r.flags = 0
	c.handle(r)
	want := []access{{"/missing-entrypoint", KindExec, 2}}
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		t.Fatalf("files = %v, want %v", k, want)
	}
}

func TestCollectorELFInterp(t *testing.T) {
	host := "/usr/bin/true"
	hostRoot, err := procfs.OpenRoot("/")
	if err != nil {
		t.Fatal(err)
	}
	defer hostRoot.Close()
	interp := readInterp(hostRoot, host)
	if interp == "" {
		t.Skip("no dynamically linked /usr/bin/true on this host")
	}
	proc, root, ns := fakeProc(t, "100")
	data, err := os.ReadFile(host)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/true"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	c := newCollector(false, proc)
	c.handle(&record{typ: evExec, nr: nrExecve, pid: 100, tgid: 100, flags: fTracked, mntns: ns, comm: "true",
		dirfd: atFDCWD, path: "/usr/bin/true"})
	want := []access{{interp, KindExec, 0}, {"/usr/bin/true", KindExec, 0}}
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		t.Fatalf("files = %v, want %v", k, want)
	}
}

func TestCollectorSyncNotify(t *testing.T) {
	c := newCollector(false, procfs.FS{Dir: t.TempDir()})
	last, next, _ := c.syncState()
	if last != 0 {
		t.Fatalf("lastSync = %d", last)
	}
	c.handle(&record{typ: evSync, seq: 3})
	select {
	case <-next:
	default:
		t.Fatal("sync record did not notify")
	}
	if last, _, _ = c.syncState(); last != 3 {
		t.Fatalf("lastSync = %d, want 3", last)
	}
	c.close()
	if _, _, closed := c.syncState(); !closed {
		t.Fatal("not closed")
	}
}

// Once a root was found it stays usable after the process is gone.
func TestCollectorPinnedRoot(t *testing.T) {
	proc, _, ns := fakeProc(t, "100")
	c := newCollector(true, proc)
	defer c.close()
	c.bind(ns, 100)
	if err := os.RemoveAll(filepath.Join(proc.Dir, "100")); err != nil { // the process exits
		t.Fatal(err)
	}
	c.handle(fileRec(ns, 100, nrChdir, "/data/link", 0))
	c.handle(fileRec(ns, 100, nrOpenat, "x", 3))
	want := []access{{"/data/dir/x", KindOpen, 0}, {"/data/link", KindChdir, 0}}
	if k := keysOf(c.files()); !slices.Equal(k, want) {
		t.Fatalf("files = %v, want %v", k, want)
	}
}
