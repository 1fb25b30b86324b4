package rebuild

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/whittle-dev/whittle/internal/atomicfile"
	"github.com/whittle-dev/whittle/seccomp"
)

// Syscalls of "cat FILE" and "ls -A DIR" (coreutils 9.1, glibc 2.36,
// x86-64), as a trace of the container's processes after their exec shows
// them. statx is not among them: cat never calls it, ls -A does only for
// its arguments, and the test's first run does not list.
var catSyscalls = []string{"access", "arch_prctl", "brk", "close", "execve", "exit_group", "fadvise64", "futex",
	"getrandom", "mmap", "mprotect", "munmap", "newfstatat", "openat", "pread64", "prlimit64", "read", "rseq",
	"set_robust_list", "set_tid_address", "write"}

// TestBuildOutputsAndSeccomp builds the integration image with an output
// directory and the syscalls of a traced "cat": the docker-archive, the OCI
// layout (same image ID), why.json and seccomp.json are written; the minimal
// image runs under the profile and answers; a call outside the profile fails
// with EPERM.
func TestBuildOutputsAndSeccomp(t *testing.T) {
	cli := engine(t)
	ctx := context.Background()
	fat := testFatImage(t, cli)
	tag := DefaultTag(fat)
	removeImage(t, cli, tag)
	out := t.TempDir()
	needs := []Need{
		{Path: "/bin/cat", Reason: "traced:exec"},
		{Path: "/bin/ls", Reason: "traced:exec"},
		{Path: "/data/hello.txt", Reason: "traced:open"},
		{Path: "/etc/ld.so.cache", Reason: "traced:open"},
	}
	// Under umask 027 every output is 0640 (directories 0750), as
	// os.WriteFile and os.Mkdir would make them.
	oldUmask := syscall.Umask(0o027)
	res, err := Build(ctx, cli, fat, needs, WithOutputDir(out), WithWorkDir(t.TempDir()),
		WithSyscalls(append([]string{"syscall_999"}, catSyscalls...)))
	syscall.Umask(oldUmask)
	if err != nil {
		t.Fatal(err)
	}
	assertOutputModes(t, out, 0o640, 0o750)

	// OCI layout: one image, OCI media types, the same config (image ID).
	if res.Layout != filepath.Join(out, archiveName(tag)+".oci") {
		t.Errorf("layout %q", res.Layout)
	}
	idx, err := layout.ImageIndexFromPath(res.Layout)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("layout index: %+v, %v", im, err)
	}
	desc := im.Manifests[0]
	if desc.MediaType != types.OCIManifestSchema1 || desc.Annotations["org.opencontainers.image.ref.name"] != strings.SplitN(tag, ":", 2)[1] {
		t.Errorf("layout manifest %+v", desc)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if cn, err := img.ConfigName(); err != nil || cn.String() != res.ImageID {
		t.Errorf("layout config %s, image ID %s (%v)", cn, res.ImageID, err)
	}
	if m, err := img.Manifest(); err != nil || len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCIUncompressedLayer || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("layout manifest %+v: %v", m, err)
	}
	if fi, err := os.Stat(res.Archive); err != nil || fi.Size() == 0 {
		t.Errorf("archive %s: %v", res.Archive, err)
	}

	// why.json: every kept path with reasons and sizes, totals, heuristics.
	var why Result
	b, err := os.ReadFile(filepath.Join(out, "why.json"))
	if err != nil || json.Unmarshal(b, &why) != nil {
		t.Fatalf("why.json: %v", err)
	}
	if len(why.Files) != len(res.Files) || why.Totals["traced"].Files == 0 || why.Totals["elf"].Bytes == 0 ||
		len(why.Heuristics) != len(AllHeuristics) || why.Seccomp == "" || why.Layout == "" {
		t.Errorf("why.json incomplete: %d files, totals %v, %d heuristics", len(why.Files), why.Totals, len(why.Heuristics))
	}
	var sum int64
	for _, tot := range why.Totals {
		sum += tot.Bytes
	}
	var size int64
	for _, f := range why.Files {
		if len(f.Reasons) == 0 {
			t.Errorf("%s has no reason", f.Path)
		}
		size += f.Size
	}
	if sum != size {
		t.Errorf("totals add up to %d bytes, files to %d", sum, size)
	}

	// seccomp.json: the observed calls and the runtime's, not the unnameable one.
	pb, err := os.ReadFile(res.Seccomp)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := seccomp.Parse(pb)
	if err != nil {
		t.Fatal(err)
	}
	allowed := strings.Join(prof.Allowed(), " ")
	if strings.Contains(allowed, "syscall_999") || !strings.Contains(allowed, "fadvise64") || strings.Contains(allowed, "statx") ||
		strings.Join(res.Syscalls, " ") != allowed {
		t.Errorf("allowed: %s", allowed)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "syscall_999") {
		t.Errorf("no warning for the unnameable call: %q", res.Warnings)
	}

	// The minimal image starts under the profile and answers...
	opt := "seccomp=" + res.Seccomp
	if got, err := dockerRun("--security-opt", opt, tag); err != nil || got != "hello from whittle\n" {
		t.Errorf("under the profile: %q, %v", got, err)
	}
	// ...and a call the trace never showed is refused with EPERM
	// (strerror(EPERM) = "Operation not permitted").
	got, err := dockerRun("--security-opt", opt, "--entrypoint", "/bin/ls", tag, "-A", "/data")
	if err == nil || !strings.Contains(got, "Operation not permitted") {
		t.Errorf("ls (statx) under the profile: %q, %v", got, err)
	}
	if got, err := dockerRun("--entrypoint", "/bin/ls", tag, "-A", "/data"); err != nil || got != "hello.txt\n" {
		t.Errorf("ls without the profile: %q, %v", got, err)
	}
}

// assertOutputModes checks every file and directory under dir, and that no
// temporary file of an atomic write was left behind.
func assertOutputModes(t *testing.T, dir string, file, sub fs.FileMode) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		n++
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := file
		if d.IsDir() {
			want = sub
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %03o, want %03o", strings.TrimPrefix(p, dir), info.Mode().Perm(), want)
		}
		if strings.HasPrefix(d.Name(), atomicfile.TempPrefix) {
			t.Errorf("%s: temporary file left behind", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("only %d outputs under %s", n, dir)
	}
}

// TestBuildReplacesPreviousMinimal: building again under the same tag
// removes the previous minimal image when nothing uses it, and keeps it
// (with a warning) when a container does.
func TestBuildReplacesPreviousMinimal(t *testing.T) {
	cli := engine(t)
	ctx := context.Background()
	fat := testFatImage(t, cli)
	tag := DefaultTag(fat)
	removeImage(t, cli, tag)
	build := func(needs ...string) *Result {
		t.Helper()
		var ns []Need
		for _, p := range needs {
			ns = append(ns, Need{Path: p, Reason: "traced:open"})
		}
		res, err := Build(ctx, cli, fat, ns, WithWorkDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := build("/bin/cat", "/data/hello.txt")
	second := build("/bin/cat", "/data/hello.txt", "/bin/ls")
	if second.ImageID == first.ImageID || second.Replaced != first.ImageID {
		t.Errorf("replaced %q, want %q", second.Replaced, first.ImageID)
	}
	if _, err := cli.ImageInspect(ctx, first.ImageID); err == nil {
		t.Errorf("previous minimal image %s still there", first.ImageID)
	}
	same := build("/bin/cat", "/data/hello.txt", "/bin/ls")
	if same.ImageID != second.ImageID || same.Replaced != "" {
		t.Errorf("identical rebuild replaced %q", same.Replaced)
	}

	// A container of the current minimal image keeps it alive.
	c, err := cli.ContainerCreate(ctx, &container.Config{Image: tag, Labels: map[string]string{"dev.whittle.run": "rebuild-test"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true}) })
	third := build("/bin/cat", "/data/hello.txt", "/bin/ls", "/usr/share/doc/big.txt")
	if third.Replaced != "" || !strings.Contains(strings.Join(third.Warnings, "\n"), "previous minimal image") {
		t.Errorf("replaced %q, warnings %q", third.Replaced, third.Warnings)
	}
	if _, err := cli.ImageInspect(ctx, second.ImageID); err != nil {
		t.Errorf("image in use was removed: %v", err)
	}
	_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	if _, err := cli.ImageRemove(ctx, second.ImageID, image.RemoveOptions{}); err != nil {
		t.Logf("cleanup of %s: %v", second.ImageID, err)
	}
}
