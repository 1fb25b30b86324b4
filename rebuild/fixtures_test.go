package rebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const gopetsImage = "whittle-fixture/gopets:latest"

// gopetsNeeds is what a trace of gopets serving its spec shows, written by
// hand: the binary, its config, and the two input-selected directories.
var gopetsNeeds = []Need{
	{Path: "/usr/local/bin/gopets", Reason: "traced:exec"},
	{Path: "/etc/gopets/config.json", Reason: "traced:open"},
	{Path: "/etc/nsswitch.conf", Reason: "traced:open"},
	{Path: "/etc/passwd", Reason: "traced:open"},
	{Path: "/etc/hosts", Reason: "traced:open"},
	{Path: "/usr/share/gopets/templates", Reason: "input-selected:GET /pets/{petId}/card param lang", Whole: true},
	{Path: "/usr/share/gopets/breeds", Reason: "input-selected:GET /breeds/{breed} param breed", Whole: true},
}

// startTarget runs image detached with port published on 127.0.0.1 and
// returns its base URL; the container is removed at cleanup.
func startTarget(t *testing.T, image, port string) string {
	t.Helper()
	out, err := exec.Command("docker", "run", "-d", "--label", "dev.whittle.run=rebuild-test",
		"-p", "127.0.0.1::"+port, image).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s: %v\n%s", image, err, out)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	out, err = exec.Command("docker", "port", id, port).Output()
	if err != nil {
		t.Fatalf("docker port: %v", err)
	}
	addr := strings.TrimSpace(strings.Split(string(out), "\n")[0])
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			return base
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", "--tail", "20", id).CombinedOutput()
			t.Fatalf("%s never answered: %v\n%s", image, err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func call(t *testing.T, method, url, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

// TestBuildGopetsFixture builds the gopets fixture's minimal image from a
// hand-written need list and compares answers with the fat image. It skips
// when the fixture image has not been built (make fixtures).
func TestBuildGopetsFixture(t *testing.T) {
	cli := engine(t)
	ctx := context.Background()
	if _, err := cli.ImageInspect(ctx, gopetsImage); err != nil {
		t.Skipf("SKIP: fixture %s not built (make fixtures): %v", gopetsImage, err)
	}
	tag := fmt.Sprintf("whittle-test/gopets:%d", os.Getpid())
	removeImage(t, cli, tag)
	res, err := Build(ctx, cli, gopetsImage, gopetsNeeds, WithTag(tag), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gopets: fat %d, minimal %d (%.1fx smaller), %d entries, timings %+v, by reason %v, warnings %q",
		res.OriginalSize, res.Size, float64(res.OriginalSize)/float64(res.Size), len(res.Files), res.Timings, res.ByReason, res.Warnings)
	var list []string
	for _, f := range res.Files {
		if f.Mode.IsRegular() {
			list = append(list, fmt.Sprintf("%s (%d) %s", f.Path, f.Size, f.Reasons[0]))
		}
	}
	t.Logf("regular files kept:\n%s", strings.Join(list, "\n"))
	kept := keptPaths(res.Files)
	for p := range kept {
		base := p[strings.LastIndex(p, "/")+1:]
		switch base {
		case "sh", "bash", "dash", "apt", "apt-get", "dpkg", "curl":
			t.Errorf("minimal gopets keeps %s", p)
		}
		if strings.HasPrefix(p, "/usr/share/doc/") || strings.HasPrefix(p, "/opt/gopets") {
			t.Errorf("minimal gopets keeps %s", p)
		}
	}
	if res.Size*5 > res.OriginalSize {
		t.Errorf("minimal image %d is not 5x smaller than %d", res.Size, res.OriginalSize)
	}

	fat := startTarget(t, gopetsImage, "8080")
	min := startTarget(t, tag, "8080")
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/health", ""},
		{"GET", "/whoami", ""},
		{"GET", "/breeds/beagle", ""},
		{"GET", "/breeds/goldfish", ""},
		{"GET", "/breeds/no-such-breed", ""},
		{"POST", "/pets", `{"name":"Rex","species":"dog","age":3}`},
		{"GET", "/pets/1/card?lang=de", ""},
		{"GET", "/pets/1/card?lang=nl", ""},
	} {
		a, b := call(t, r.method, fat+r.path, r.body), call(t, r.method, min+r.path, r.body)
		if strings.HasPrefix(r.path, "/pets") && r.method == "POST" {
			a, b = a[:3], b[:3] // createdAt differs
		}
		if a != b {
			t.Errorf("%s %s:\nfat     %s\nminimal %s", r.method, r.path, a, b)
		}
	}
}

const pypetsImage = "whittle-fixture/pypets:latest"

// pypetsNeeds runs testdata/pypets_driver.py in the fixture (a stand-in for
// a trace): the files its imports and requests use.
func pypetsNeeds(t testing.TB) []Need {
	t.Helper()
	driver, err := filepath.Abs("testdata/pypets_driver.py")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("docker", "run", "--rm", "--label", "dev.whittle.run=rebuild-test",
		"-v", driver+":/tmp/driver.py:ro", "--entrypoint", "python3", pypetsImage, "/tmp/driver.py").Output()
	if err != nil {
		t.Fatalf("running the driver: %v", err)
	}
	var used []string
	if err := json.Unmarshal(out, &used); err != nil {
		t.Fatalf("driver output: %v\n%s", err, out)
	}
	needs := []Need{
		// python -m uvicorn runs uvicorn/__main__.py, which the driver cannot import.
		{Path: "/usr/lib/python3/dist-packages/uvicorn/__main__.py", Reason: "traced:open"},
		// getpath's landmarks
		{Path: "/usr/lib/python3.11/lib-dynload", Reason: "traced:stat"},
	}
	for _, p := range used {
		needs = append(needs, Need{Path: p, Reason: "traced:open"})
	}
	return needs
}

// TestBuildPypetsFixture builds the pypets fixture's minimal image from the
// files testdata/pypets_driver.py reports (a stand-in for a trace) and
// compares answers with the fat image, lazily imported exporters included.
func TestBuildPypetsFixture(t *testing.T) {
	cli := engine(t)
	ctx := context.Background()
	if _, err := cli.ImageInspect(ctx, pypetsImage); err != nil {
		t.Skipf("SKIP: fixture %s not built (make fixtures): %v", pypetsImage, err)
	}
	needs := pypetsNeeds(t)
	tag := fmt.Sprintf("whittle-test/pypets:%d", os.Getpid())
	removeImage(t, cli, tag)
	res, err := Build(ctx, cli, pypetsImage, needs, WithTag(tag), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pypets: %d needs, fat %d, minimal %d (%.1fx smaller), %d entries, timings %+v, by reason %v, warnings %q",
		len(needs), res.OriginalSize, res.Size, float64(res.OriginalSize)/float64(res.Size), len(res.Files), res.Timings, res.ByReason, res.Warnings)
	kept := keptPaths(res.Files)
	for _, p := range []string{"/usr/bin/dash", "/usr/bin/bash", "/usr/bin/apt", "/usr/bin/dpkg"} {
		if _, ok := kept[p]; ok {
			t.Errorf("minimal pypets keeps %s", p)
		}
	}
	if res.Size*5 > res.OriginalSize {
		t.Errorf("minimal image %d is not 5x smaller than %d", res.Size, res.OriginalSize)
	}
	fat := startTarget(t, pypetsImage, "8000")
	min := startTarget(t, tag, "8000")
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/health", ""},
		{"GET", "/items", ""},
		{"POST", "/items", `{"name":"Ball","category":"toys","price":3.5,"quantity":2}`},
		{"GET", "/items/1/export?format=json", ""},
		{"GET", "/items/1/export?format=csv", ""},
		{"GET", "/items/1/export?format=xml", ""},
		{"GET", "/items/999", ""},
		{"GET", "/openapi.json", ""},
	} {
		a, b := call(t, r.method, fat+r.path, r.body), call(t, r.method, min+r.path, r.body)
		if r.method == "POST" || strings.Contains(r.path, "export") {
			a, b = a[:3], b[:3] // createdAt differs
		}
		if a != b {
			t.Errorf("%s %s:\nfat     %.300s\nminimal %.300s", r.method, r.path, a, b)
		}
	}
}

// gopetsTypicalTrace is what the tracer reports for gopets serving a typical
// run (start-up, /whoami, one breed, one card), with its requested paths.
var gopetsTypicalTrace = []Need{
	{Path: "/usr/local/bin/gopets", Reason: "traced:exec"},
	{Path: "/lib64/ld-linux-x86-64.so.2", Reason: "traced:exec"},
	{Path: "/etc/ld.so.cache", Reason: "traced:open"},
	{Path: "/lib/x86_64-linux-gnu/libc.so.6", Reason: "traced:open"},
	{Path: "/lib/x86_64-linux-gnu/libc.so.6", Reason: "traced:mmap-exec"},
	{Path: "/lib/x86_64-linux-gnu/libm.so.6", Reason: "traced:open"},
	{Path: "/etc/gopets/config.json", Reason: "traced:open"},
	{Path: "/etc/nsswitch.conf", Reason: "traced:open"},
	{Path: "/etc/passwd", Reason: "traced:open"},
	{Path: "/usr/share/gopets/templates/en.tmpl", Reason: "traced:open"},
	{Path: "/usr/share/gopets/breeds/beagle.json", Reason: "traced:open"},
}

// TestGopetsMinimalHygiene builds gopets' minimal image from a typical
// trace and checks it holds only the binary, the libraries it loads and the
// files it reads (plus the user database the engine reads for USER): no
// shell, no package manager, no docs, not the planted secret, none of the
// NSS and CA files gopets never reads; and that the engine's image holds
// exactly the reported file set.
func TestGopetsMinimalHygiene(t *testing.T) {
	cli := engine(t)
	ctx := context.Background()
	if _, err := cli.ImageInspect(ctx, gopetsImage); err != nil {
		t.Skipf("SKIP: fixture %s not built (make fixtures): %v", gopetsImage, err)
	}
	tag := fmt.Sprintf("whittle-test/gopets-hygiene:%d", os.Getpid())
	removeImage(t, cli, tag)
	res, err := Build(ctx, cli, gopetsImage, gopetsTypicalTrace, WithTag(tag), WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gopets minimal: %d bytes (fat %d, %.1fx), %d entries, export %v", res.Size, res.OriginalSize,
		float64(res.OriginalSize)/float64(res.Size), len(res.Files), res.Timings.Export)

	var regular []string
	for _, f := range res.Files {
		if f.Mode.IsRegular() {
			regular = append(regular, f.Path)
		}
		base := f.Path[strings.LastIndex(f.Path, "/")+1:]
		switch base {
		case "sh", "bash", "dash", "busybox", "zsh", "ash", "apt", "apt-get", "apt-cache", "dpkg", "dpkg-query", "perl":
			t.Errorf("minimal gopets keeps %s (%q)", f.Path, f.Reasons)
		}
		for _, bad := range []string{"/usr/share/doc", "/var/lib/dpkg", "/var/lib/apt", "/etc/apt", "/usr/lib/apt", "/opt"} {
			if f.Path == bad || strings.HasPrefix(f.Path, bad+"/") {
				t.Errorf("minimal gopets keeps %s (%q)", f.Path, f.Reasons)
			}
		}
	}
	want := []string{
		"/etc/gopets/config.json", "/etc/group", "/etc/ld.so.cache", "/etc/nsswitch.conf", "/etc/passwd",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/usr/lib/x86_64-linux-gnu/libm.so.6", "/usr/local/bin/gopets",
		"/usr/share/gopets/breeds/beagle.json", "/usr/share/gopets/templates/en.tmpl",
	}
	if strings.Join(regular, " ") != strings.Join(want, " ") {
		t.Errorf("regular files:\n got %q\nwant %q", regular, want)
	}
	kept := keptPaths(res.Files)
	if !hasReason(kept["/etc/group"], "user:") {
		t.Errorf("/etc/group: %+v", kept["/etc/group"])
	}
	for _, h := range res.Heuristics {
		switch h.Name {
		case HeuristicCACerts:
			if h.Kept != 0 || len(h.Evidence) != 0 {
				t.Errorf("cacerts fired for gopets: %+v", h)
			}
		case HeuristicNSS:
			if !h.Enabled || strings.Join(h.Evidence, "\n") == "" || strings.Contains(strings.Join(h.Evidence, "\n"), "hosts") {
				t.Errorf("nss evidence: %+v", h)
			}
		}
	}

	// The engine's image holds exactly the reported entries, as reported.
	minFS, err := ExportImage(ctx, cli, tag, WithWorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer minFS.Close()
	var inImage, reported []string
	for _, p := range minFS.Paths() {
		if p != "/" {
			inImage = append(inImage, p)
		}
	}
	for _, f := range res.Files {
		reported = append(reported, f.Path)
		h, ok := minFS.Lookup(f.Path)
		if !ok {
			continue
		}
		if h.FileInfo().Mode() != f.Mode || (f.Mode.IsRegular() && h.Size != f.Size) || h.Linkname != f.Linkname {
			t.Errorf("%s in the image: %v %d %q, reported %v %d %q", f.Path, h.FileInfo().Mode(), h.Size, h.Linkname, f.Mode, f.Size, f.Linkname)
		}
	}
	if strings.Join(inImage, "\n") != strings.Join(reported, "\n") {
		t.Errorf("image paths differ from the report:\nimage  %q\nreport %q", inImage, reported)
	}

	// And it still answers like the original on what the trace covered.
	fat := startTarget(t, gopetsImage, "8080")
	min := startTarget(t, tag, "8080")
	for _, p := range []string{"/health", "/whoami", "/breeds/beagle", "/breeds/no-such-breed"} {
		if a, b := call(t, "GET", fat+p, ""), call(t, "GET", min+p, ""); a != b {
			t.Errorf("GET %s:\nfat     %s\nminimal %s", p, a, b)
		}
	}
}
