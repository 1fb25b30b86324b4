package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/testimage"
)

// configServer answers with what it was started with: arguments, the
// environment it was given, its working directory, user and the content
// of a file named by CONFIG_FILE.
const configServer = `package main

import (
	"encoding/json"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		wd, _ := os.Getwd()
		conf, err := os.ReadFile(os.Getenv("CONFIG_FILE"))
		if err != nil {
			conf = []byte(err.Error())
		}
		json.NewEncoder(w).Encode(map[string]any{
			"args": os.Args, "token": os.Getenv("TOKEN"), "wd": wd, "uid": os.Getuid(),
			"config": string(conf), "write": os.WriteFile(os.Getenv("CONFIG_FILE")+".new", nil, 0o644) == nil,
		})
	})
	http.ListenAndServe(":8080", nil)
}
`

func TestRunConfigReachesTheContainer(t *testing.T) {
	cli := testimage.RequireDocker(t)
	name := fmt.Sprintf("whittle-test/probe-config-%d:latest", time.Now().UnixNano())
	testimage.GoProgram(t, cli, name, configServer, nil, `ENTRYPOINT ["/app", "from-image"]`, `EXPOSE 8080`)
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.conf"), []byte("mode=test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ParseMount(dir + ":/etc/app:ro")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "wd"), 0o755); err != nil {
		t.Fatal(err)
	}
	rc := RunConfig{
		Env:        []string{"TOKEN=s3cret-value", "CONFIG_FILE=/etc/app/app.conf"},
		Mounts:     []Mount{m},
		Entrypoint: []string{"/app"},
		Cmd:        []string{"from-run"},
		User:       "1234",
		WorkingDir: "/etc/app",
	}
	tgt, err := startTarget(t, e, name, "probe-runconfig", WithRunConfig(rc))
	if err != nil {
		t.Fatal(err)
	}
	resp := tgt.Send(context.Background(), corpus.Request{Method: "GET", Path: "/"})
	var got struct {
		Args   []string
		Token  string
		Wd     string
		UID    int
		Config string
		Write  bool
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatalf("answer %d %q: %v", resp.Status, resp.Body, err)
	}
	if strings.Join(got.Args, " ") != "/app from-run" || got.Token != "s3cret-value" || got.Wd != "/etc/app" ||
		got.UID != 1234 || got.Config != "mode=test\n" || got.Write {
		t.Fatalf("the container did not get the run configuration: %+v", got)
	}
}

func TestParseMount(t *testing.T) {
	wd, _ := os.Getwd()
	for _, tc := range []struct {
		in   string
		want Mount
		err  bool
	}{
		{in: "/srv/conf:/etc/app", want: Mount{Source: "/srv/conf", Target: "/etc/app"}},
		{in: "./conf:/etc/app/:ro", want: Mount{Source: filepath.Join(wd, "conf"), Target: "/etc/app", ReadOnly: true}},
		{in: "data:/var/lib/app:rw", want: Mount{Source: "data", Target: "/var/lib/app", Volume: true}},
		{in: "data:relative", err: true},
		{in: "data:/", err: true},
		{in: ":/x", err: true},
		{in: "/a:/b:rx", err: true},
		{in: "/a", err: true},
		{in: "a b:/x", err: true},
	} {
		got, err := ParseMount(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseMount(%q): error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadMount) {
				t.Errorf("ParseMount(%q): %v does not wrap ErrBadMount", tc.in, err)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("ParseMount(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if err := CheckMounts([]Mount{{Source: "/nonexistent/whittle-test", Target: "/x"}}); !errors.Is(err, ErrNoSuchMount) {
		t.Errorf("CheckMounts of a missing source: %v", err)
	}
}

func TestParseEnvFile(t *testing.T) {
	env, err := ParseEnvFile("app.env", []byte("# settings\nA=1\n\n  B = x=y \r\nEMPTY=\nQ=\"quoted\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "B= x=y ", "EMPTY=", `Q="quoted"`}
	if strings.Join(env, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", env, want)
	}
	_, err = ParseEnvFile("app.env", []byte("A=1\nJUSTANAME\n"))
	if !errors.Is(err, ErrBadEnv) || !strings.Contains(err.Error(), "app.env:2") {
		t.Fatalf("a line without '=': %v", err)
	}
	if _, err := ParseEnvFile("app.env", []byte("1A=x\n")); !errors.Is(err, ErrBadEnv) {
		t.Fatalf("a bad name: %v", err)
	}
}

func FuzzParseEnvFile(f *testing.F) {
	f.Add([]byte("A=1\n# c\nB=\"x\"\n"))
	f.Add([]byte("NOEQ\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvFile("f", data)
		if err != nil {
			return
		}
		for _, kv := range env {
			if _, _, err := ParseEnv(kv); err != nil {
				t.Fatalf("ParseEnvFile returned %q that ParseEnv refuses: %v", kv, err)
			}
		}
	})
}

func FuzzParseMount(f *testing.F) {
	f.Add("/a:/b:ro")
	f.Add("vol:/data")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMount(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(m.Target, "/") || m.Target == "/" || m.Source == "" {
			t.Fatalf("ParseMount(%q) = %+v", s, m)
		}
	})
}

// A run killed with SIGKILL whose parent has not reaped it yet is a zombie
// with the same pid and start time: what it left must go all the same
// (containers, networks and volumes), whatever the image of the next run.
func TestRemoveLeftoversOfAZombieOwner(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app"]`, `EXPOSE 8080`)
	ctx := context.Background()
	img, err := e.Inspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	killed := exec.Command("sleep", "600")
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	pid := killed.Process.Pid
	token := ownerToken(pid)
	defer killed.Wait()
	if err := killed.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ { // until it is a zombie (not reaped: no Wait yet)
		if _, st, _, err := processStat(pid); err == nil && st == 'Z' {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	runID := fmt.Sprintf("probe-zombie-%d", time.Now().UnixNano())
	labels := map[string]string{LabelRun: runID, LabelOwner: token}
	dead, err := e.Create(ctx, img, WithRun(runID), withOwnerPID(pid))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Remove(ctx)
	if dead.cfg.owner != token {
		t.Fatalf("owner %q, want %q", dead.cfg.owner, token)
	}
	netName := "whittle-test-zombie-" + runID
	if _, err := e.cli.NetworkCreate(ctx, netName, network.CreateOptions{Labels: labels}); err != nil {
		t.Fatal(err)
	}
	defer e.cli.NetworkRemove(ctx, netName)
	vol, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	defer e.cli.VolumeRemove(ctx, vol.Name, true)

	removed, err := e.RemoveLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %s", removed)
	byRun := filters.NewArgs(filters.Arg("label", LabelRun+"="+runID))
	if list, _ := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: byRun}); len(list) > 0 {
		t.Errorf("the zombie's container is still there")
	}
	if list, _ := e.cli.NetworkList(ctx, network.ListOptions{Filters: byRun}); len(list) > 0 {
		t.Errorf("the zombie's network is still there")
	}
	if list, _ := e.cli.VolumeList(ctx, volume.ListOptions{Filters: byRun}); len(list.Volumes) > 0 {
		t.Errorf("the zombie's volume is still there")
	}
}

func TestNetworkAliasesReachCompanions(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app"]`, `EXPOSE 8080`)
	ctx := context.Background()
	img, err := e.Inspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("probe-net-%d", time.Now().UnixNano())
	net, err := e.CreateNetwork(ctx, "whittle-test-"+runID, runID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.RemoveNetwork(ctx, net); err != nil {
			t.Error(err)
		}
	}()
	comp, err := e.Create(ctx, img, WithRun(runID), WithoutPort(), WithNetwork(net, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Remove(ctx)
	if err := comp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := comp.Health(ctx)
	if err != nil || !h.Running || h.Status != "" {
		t.Fatalf("companion health %+v, %v", h, err)
	}
	info, err := e.cli.ContainerInspect(ctx, comp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.NetworkSettings.Ports) != 0 && len(info.HostConfig.PortBindings) != 0 {
		t.Errorf("a companion publishes ports: %v", info.HostConfig.PortBindings)
	}
	tgt, err := e.Create(ctx, img, WithRun(runID), WithNetwork(net, "api"))
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Remove(ctx)
	if err := tgt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tgt.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tgt.BaseURL, "http://127.0.0.1:") {
		t.Fatalf("target on a run network answers at %q", tgt.BaseURL)
	}
	comp.Remove(ctx)
	tgt.Remove(ctx)
}
