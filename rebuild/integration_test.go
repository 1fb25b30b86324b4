package rebuild

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/whittle-dev/whittle/event"
)

// engine returns a Docker client, or skips loudly when the test cannot use one.
func engine(t testing.TB) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP (integration): -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIP (integration): needs root (run as root with a Docker engine)")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("SKIP (integration): no Docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		_ = cli.Close()
		t.Skipf("SKIP (integration): no Docker engine answers at %s: %v (start dockerd, e.g. scripts/setup.sh)", cli.DaemonHost(), err)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("SKIP (integration): docker CLI not installed (needed for docker run)")
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// tarDir streams dir as a tar (owner root, symlinks kept).
func tarDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// importImage makes an image from dir with docker import and config changes.
func importImage(t *testing.T, cli *client.Client, dir, ref string, changes []string) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(dir, pw)) }()
	rc, err := cli.ImageImport(context.Background(), image.ImportSource{Source: pr, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		t.Fatalf("docker import: %v", err)
	}
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
	removeImage(t, cli, ref)
}

func removeImage(t testing.TB, cli *client.Client, ref string) {
	t.Cleanup(func() {
		_, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
}

func dockerRun(args ...string) (string, error) {
	full := append([]string{"run", "--rm", "--label", "dev.whittle.run=rebuild-test"}, args...)
	out, err := exec.Command("docker", full...).CombinedOutput()
	return string(out), err
}

func TestBuildIntegration(t *testing.T) {
	cli := engine(t)
	ctx := context.Background()
	fat := testFatImage(t, cli)
	tag := DefaultTag(fat)
	removeImage(t, cli, tag)

	needs := []Need{
		{Path: "/bin/cat", Reason: "traced:exec"},
		{Path: "/bin/ls", Reason: "traced:exec"},
		{Path: "/data/hello.txt", Reason: "traced:open"},
		{Path: "/etc/ld.so.cache", Reason: "traced:open"},
		{Path: "/proc/self/maps", Reason: "traced:open"},
		{Path: "/etc/hosts", Reason: "traced:open"},
	}
	out := t.TempDir()
	res, err := Build(ctx, cli, fat, needs, WithOutputDir(out), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fat %d bytes, minimal %d bytes, %d files, timings %+v, by reason %v", res.OriginalSize, res.Size, len(res.Files), res.Timings, res.ByReason)
	if res.Tag != tag {
		t.Errorf("tag %q, want %q", res.Tag, tag)
	}
	kept := keptPaths(res.Files)
	for _, p := range []string{"/usr/bin/cat", "/usr/bin/ls", "/data/hello.txt", "/etc/passwd", "/etc/group", "/bin", "/lib64"} {
		if _, ok := kept[p]; !ok {
			t.Errorf("%s not kept", p)
		}
	}
	for _, p := range []string{"/data/secret.txt", "/usr/bin/dash", "/usr/bin/sh", "/usr/share/doc/big.txt"} {
		if _, ok := kept[p]; ok {
			t.Errorf("%s kept", p)
		}
	}
	if len(res.Skipped) != 2 {
		t.Errorf("skipped = %+v", res.Skipped)
	}

	// It runs, as the named user, and only has what was needed.
	if got, err := dockerRun(tag); err != nil || got != "hello from whittle\n" {
		t.Errorf("docker run %s: %q, %v", tag, got, err)
	}
	if got, err := dockerRun("--entrypoint", "/bin/ls", tag, "-A", "/data"); err != nil || got != "hello.txt\n" {
		t.Errorf("ls /data in the minimal image: %q, %v", got, err)
	}
	if got, err := dockerRun("--entrypoint", "/bin/cat", tag, "/data/secret.txt"); err == nil {
		t.Errorf("the planted secret is readable in the minimal image: %q", got)
	}
	if got, err := dockerRun("--entrypoint", "/bin/sh", tag, "-c", "true"); err == nil {
		t.Errorf("the minimal image has a shell: %q", got)
	}

	// One layer, the original config, the source label.
	fatInsp, err := cli.ImageInspect(ctx, fat)
	if err != nil {
		t.Fatal(err)
	}
	minInsp, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(minInsp.RootFS.Layers); n != 1 {
		t.Errorf("%d layers, want 1", n)
	}
	fc, mc := fatInsp.Config, minInsp.Config
	if !reflect.DeepEqual(fc.Entrypoint, mc.Entrypoint) || !reflect.DeepEqual(fc.Cmd, mc.Cmd) ||
		!reflect.DeepEqual(fc.Env, mc.Env) || fc.WorkingDir != mc.WorkingDir || fc.User != mc.User ||
		!reflect.DeepEqual(fc.ExposedPorts, mc.ExposedPorts) || !reflect.DeepEqual(fc.Healthcheck, mc.Healthcheck) {
		t.Errorf("config not preserved:\nfat     %+v\nminimal %+v", fc, mc)
	}
	if mc.Labels["org.example.test"] != "yes" || mc.Labels[LabelSource] != fatInsp.ID {
		t.Errorf("labels %v", mc.Labels)
	}
	if minInsp.Size >= fatInsp.Size {
		t.Errorf("minimal %d >= fat %d", minInsp.Size, fatInsp.Size)
	}

	// The engine holds exactly the files of the report.
	minFS, err := ExportImage(ctx, cli, tag, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var inImage []string
	for _, p := range minFS.Paths() {
		if p != "/" {
			inImage = append(inImage, p)
		}
	}
	var reported []string
	for _, f := range res.Files {
		reported = append(reported, f.Path)
	}
	if !reflect.DeepEqual(inImage, reported) {
		t.Errorf("image paths differ from the report:\nimage  %q\nreport %q", inImage, reported)
	}
	if h, _ := minFS.Lookup("/usr/bin/cat"); h == nil || h.Mode&0o111 == 0 {
		t.Errorf("cat lost its mode: %+v", h)
	}
	_ = minFS.Close()

	// Archive and report were written.
	if fi, err := os.Stat(res.Archive); err != nil || fi.Size() == 0 {
		t.Errorf("archive %s: %v", res.Archive, err)
	}
	var why Result
	if b, err := os.ReadFile(filepath.Join(out, "why.json")); err != nil || json.Unmarshal(b, &why) != nil || len(why.Files) != len(res.Files) {
		t.Errorf("why.json: %v", err)
	}

	// Deterministic: the same inputs give the same image.
	bus := event.NewBus()
	again, err := Build(ctx, cli, fat, needs, WithWorkDir(t.TempDir()), WithEvents(bus))
	if err != nil {
		t.Fatal(err)
	}
	bus.Close()
	var steps []string
	for {
		e, ok := bus.Next(ctx)
		if !ok {
			break
		}
		if s, ok := e.(event.Step); ok && s.Phase == event.PhaseBuild {
			steps = append(steps, s.Name)
		}
	}
	if strings.Join(steps, ",") != "export,select,layer,load,done" {
		t.Errorf("build steps published: %q", steps)
	}
	if again.ImageID != res.ImageID || again.LayerDigest != res.LayerDigest {
		t.Errorf("rebuild differs: %s/%s vs %s/%s", again.ImageID, again.LayerDigest, res.ImageID, res.LayerDigest)
	}
}

// testFatImage imports the integration tests' fat image: cat, ls and dash
// with their libraries on a merged-/usr tree, data (one file read, one
// planted secret), a user database, ld.so configuration and cache, docs;
// a config with every field Build must keep. It is removed at cleanup.
func testFatImage(t *testing.T, cli *client.Client) string {
	t.Helper()
	root := mergedUsrRoot(t, "/usr/bin/cat", "/usr/bin/ls", "/usr/bin/dash")
	symlink(t, root, "usr/bin/sh", "dash")
	writeFile(t, root, "data/hello.txt", "hello from whittle\n", 0o644)
	writeFile(t, root, "data/secret.txt", "planted secret\n", 0o644)
	writeFile(t, root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/data:/usr/sbin/nologin\n", 0o644)
	writeFile(t, root, "etc/group", "root:x:0:\napp:x:1000:\n", 0o644)
	writeFile(t, root, "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n", 0o644)
	writeFile(t, root, "etc/ld.so.conf.d/x86_64-linux-gnu.conf", "/usr/lib/x86_64-linux-gnu\n", 0o644)
	if ldconfig, err := exec.LookPath("ldconfig"); err == nil {
		if out, err := exec.Command(ldconfig, "-r", root).CombinedOutput(); err != nil {
			t.Fatalf("ldconfig -r: %v\n%s", err, out)
		}
	}
	writeFile(t, root, "usr/share/doc/big.txt", strings.Repeat("documentation\n", 10000), 0o644)

	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	fat := "whittle-test/rebuild:" + suffix
	importImage(t, cli, root, fat, []string{
		`ENTRYPOINT ["/bin/cat"]`,
		`CMD ["/data/hello.txt"]`,
		`ENV GREETING=hi PATH=/usr/bin:/bin`,
		`WORKDIR /data`,
		`USER app`,
		`LABEL org.example.test=yes`,
		`EXPOSE 8080/tcp`,
		`HEALTHCHECK --interval=5s CMD ["/bin/cat", "/data/hello.txt"]`,
	})
	return fat
}

func TestBuildErrors(t *testing.T) {
	cli := engine(t)
	ctx := context.Background()
	if _, err := Build(ctx, cli, "whittle-test/does-not-exist:nope", nil); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("unknown image: %v", err)
	}
	if _, err := Build(ctx, cli, "x", nil, WithTag("Bad Tag!")); err == nil {
		t.Error("bad tag accepted")
	}
}
