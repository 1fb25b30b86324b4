package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/testimage"
)

const echoServer = `package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "die" {
		fmt.Println("fatal: config file /etc/app.conf not found")
		os.Exit(3)
	}
	if len(os.Args) > 1 && os.Args[1] == "mute" {
		time.Sleep(time.Hour)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.RequestURI())
	})
	http.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 5<<20)))
	})
	http.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/elsewhere", http.StatusFound)
	})
	http.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * time.Second)
	})
	http.ListenAndServe(":8080", nil)
}
`

func testImage(t *testing.T, changes ...string) (*Engine, string) {
	cli := testimage.RequireDocker(t)
	name := fmt.Sprintf("whittle-test/probe-%d:latest", time.Now().UnixNano())
	testimage.GoProgram(t, cli, name, echoServer, nil, changes...)
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, name
}

func assertNoContainers(t *testing.T, e *Engine, runID string) {
	t.Helper()
	list, err := e.cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelRun+"="+runID))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("%d container(s) of run %s left behind", len(list), runID)
	}
}

func startTarget(t *testing.T, e *Engine, ref, runID string, opts ...Option) (*Target, error) {
	t.Helper()
	ctx := context.Background()
	img, err := e.Inspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	tgt, err := e.Create(ctx, img, append([]Option{WithRun(runID)}, opts...)...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { tgt.Remove(context.Background()) })
	if err := tgt.Start(ctx); err != nil {
		return tgt, err
	}
	return tgt, tgt.WaitReady(ctx)
}

func TestTargetAnswersOnLoopbackOnly(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app"]`, `EXPOSE 8080`)
	tgt, err := startTarget(t, e, ref, "probe-ok", WithRequestTimeout(time.Second), WithMaxBody(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tgt.BaseURL, "http://127.0.0.1:") || tgt.Pid <= 0 {
		t.Fatalf("BaseURL %q pid %d", tgt.BaseURL, tgt.Pid)
	}
	ctx := context.Background()
	resp := tgt.Send(ctx, corpus.Request{Method: "POST", Path: "/pets?x=1", Body: []byte("{}")})
	if resp.Status != 200 || string(resp.Body) != "POST /pets?x=1" {
		t.Fatalf("answer %d %q %s", resp.Status, resp.Body, resp.Err)
	}
	big := tgt.Send(ctx, corpus.Request{Method: "GET", Path: "/big"})
	if !big.Truncated || len(big.Body) != 1<<20 {
		t.Fatalf("big answer: truncated=%v len=%d", big.Truncated, len(big.Body))
	}
	redir := tgt.Send(ctx, corpus.Request{Method: "GET", Path: "/redirect"})
	if redir.Status != http.StatusFound || redir.Err != "" {
		t.Fatalf("redirect must be reported, not followed: %d %s", redir.Status, redir.Err)
	}
	slow := tgt.Send(ctx, corpus.Request{Method: "GET", Path: "/slow"})
	if !strings.HasPrefix(slow.Err, "timeout") {
		t.Fatalf("slow answer: want a timeout error, got %d %q", slow.Status, slow.Err)
	}
	if tgt.Exited() {
		t.Fatal("target reported as exited while running")
	}
	if err := tgt.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoContainers(t, e, "probe-ok")
}

func TestUnknownImage(t *testing.T) {
	testimage.RequireDocker(t)
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.Inspect(context.Background(), "whittle-test/does-not-exist:nope")
	if !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("got %v, want ErrImageNotFound", err)
	}
}

func TestImageWithoutPort(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app"]`)
	_, err := startTarget(t, e, ref, "probe-noport")
	if !errors.Is(err, ErrNoPort) || !strings.Contains(err.Error(), "("+FixPort+")") {
		t.Fatalf("got %v, want ErrNoPort naming the fix", err)
	}
	_, err = startTarget(t, e, ref, "probe-noport", WithPort(8080))
	if err != nil {
		t.Fatalf("with --port: %v", err)
	}
}

func TestTargetExitsDuringStartup(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app", "die"]`, `EXPOSE 8080`)
	_, err := startTarget(t, e, ref, "probe-die")
	if !errors.Is(err, ErrExited) {
		t.Fatalf("got %v, want ErrExited", err)
	}
	if !strings.Contains(err.Error(), "config file /etc/app.conf not found") || !strings.Contains(err.Error(), "status 3") {
		t.Fatalf("error must show the exit status and last log lines: %v", err)
	}
}

func TestTargetNeverReady(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app", "mute"]`, `EXPOSE 8080`)
	_, err := startTarget(t, e, ref, "probe-mute", WithReadyTimeout(2*time.Second))
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "("+FixNotReady+")") {
		t.Fatalf("got %v, want ErrNotReady naming the fix", err)
	}
}

func TestRemoveLeftovers(t *testing.T) {
	e, ref := testImage(t, `ENTRYPOINT ["/app"]`, `EXPOSE 8080`)
	ctx := context.Background()
	img, err := e.Inspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// A container owned by a process that is gone, and one owned by a live one.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead, err := e.Create(ctx, img, WithRun("probe-leftover"), withOwnerPID(gone.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	live, err := e.Create(ctx, img, WithRun("probe-leftover"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove(ctx)
	defer dead.Remove(ctx)
	removed, err := e.RemoveLeftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, id := range removed.Containers {
		if id == live.ID {
			t.Fatal("removed a live run's container")
		}
		found = found || id == dead.ID
	}
	if !found {
		t.Fatalf("dead run's container %s not removed (removed %v)", dead.ID, removed)
	}
}

func TestOwnerToken(t *testing.T) {
	self := ownerToken(os.Getpid())
	if !ownerAlive(self) {
		t.Fatalf("own token %q reported dead", self)
	}
	pid, _, _ := strings.Cut(self, ".")
	if ownerAlive(pid + ".1") {
		t.Fatal("a token with another start time (pid reused) must be dead")
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	if ownerAlive(ownerToken(gone.Process.Pid)) {
		t.Fatal("exited process reported alive")
	}
	if !ownerAlive("garbage") {
		t.Fatal("unparseable tokens must count as alive (never remove what is not provably abandoned)")
	}
}
