package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/internal/testimage"
	"github.com/whittle-dev/whittle/probe"
)

// stackProgram plays every part of a small stack, by its first argument.
const stackProgram = `package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	switch os.Args[1] {
	case "db":
		time.Sleep(500 * time.Millisecond)
		os.WriteFile("/data/ready", []byte("yes"), 0o644)
		fallthrough
	case "sickdb":
		fmt.Println("db: listening, data in /data")
		ln, err := net.Listen("tcp", ":5432")
		if err != nil {
			panic(err)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				continue
			}
			_, statErr := os.Stat("/data/migrated")
			fmt.Fprintf(c, "db %s migrated=%v\n", os.Getenv("DB_NAME"), statErr == nil)
			c.Close()
		}
	case "check":
		if _, err := os.Stat("/data/ready"); err != nil {
			os.Exit(1)
		}
	case "migrate":
		c, err := net.Dial("tcp", "database:5432")
		if err != nil {
			fmt.Println("migrate:", err)
			os.Exit(4)
		}
		c.Close()
		if os.Getenv("FAIL") != "" {
			fmt.Println("migrate: failing as asked")
			os.Exit(5)
		}
	case "api":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			c, err := net.Dial("tcp", "database:5432")
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprint(w, line)
		})
		http.ListenAndServe(":8080", nil)
	}
}
`

func stackImage(t *testing.T) (*probe.Engine, string) {
	t.Helper()
	cli := testimage.RequireDocker(t)
	name := fmt.Sprintf("whittle-test/compose-stack-%d:latest", time.Now().UnixNano())
	testimage.GoProgram(t, cli, name, stackProgram, nil, `ENTRYPOINT ["/app"]`, `EXPOSE 8080`)
	e, err := probe.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, name
}

func stackCompose(image, dbCommand, migrateEnv string) string {
	return fmt.Sprintf(`
services:
  db:
    image: %[1]s
    command: [%[2]s]
    environment: {DB_NAME: shop}
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "/app", "check"]
      interval: 200ms
      retries: 10
  migrate:
    image: %[1]s
    command: [migrate]
    environment: {%[3]s}
    links: ["db:database"]
    depends_on:
      db: {condition: service_healthy}
  api:
    image: %[1]s
    command: [api]
    ports: ["8080"]
    depends_on:
      migrate: {condition: service_completed_successfully}
      db: {condition: service_healthy}
volumes:
  data: {}
`, image, dbCommand, migrateEnv)
}

// assertRunGone fails when anything labelled with runID is left.
func assertRunGone(t *testing.T, e *probe.Engine, runID string) {
	t.Helper()
	ctx := context.Background()
	byRun := filters.NewArgs(filters.Arg("label", probe.LabelRun+"="+runID))
	cli := e.Client()
	if l, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: byRun}); len(l) > 0 {
		t.Errorf("%d container(s) left", len(l))
	}
	if l, _ := cli.NetworkList(ctx, network.ListOptions{Filters: byRun}); len(l) > 0 {
		t.Errorf("%d network(s) left", len(l))
	}
	if l, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: byRun}); len(l.Volumes) > 0 {
		t.Errorf("%d volume(s) left", len(l.Volumes))
	}
}

func TestStackUpAndDown(t *testing.T) {
	e, image := stackImage(t)
	ctx := context.Background()
	file := writeCompose(t, map[string]string{"compose.yaml": stackCompose(image, `"db"`, "")})
	p, err := Load(ctx, file, "api")
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("compose-test-%d", time.Now().UnixNano())
	var mu sync.Mutex
	var states []string
	st, err := p.Up(ctx, e, runID, WithTimeout(time.Minute), WithObserver(func(s State) {
		mu.Lock()
		states = append(states, s.Service+":"+s.State)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	img, err := e.Inspect(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := e.Create(ctx, img, append([]probe.Option{probe.WithRun(runID)}, st.TargetOptions(p.Target.Run)...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := tgt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tgt.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	resp := tgt.Send(ctx, corpus.Request{Method: "GET", Path: "/"})
	if resp.Status != 200 || strings.TrimSpace(string(resp.Body)) != "db shop migrated=false" {
		t.Fatalf("the target did not reach its companion by its link alias: %d %q", resp.Status, resp.Body)
	}
	if err := tgt.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Down(ctx); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(states, " ")
	for _, want := range []string{"db:starting", "db:waiting (healthy)", "db:healthy", "migrate:waiting (completed)", "migrate:completed"} {
		if !strings.Contains(got, want) {
			t.Errorf("states %q lack %q", got, want)
		}
	}
	assertRunGone(t, e, runID)
}

func TestStackFailures(t *testing.T) {
	e, image := stackImage(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, db, migrateEnv string
		words                []string
	}{
		{"never healthy", `"sickdb"`, "", []string{"db is unhealthy (its health check: exit 1", "db: listening, data in /data"}},
		{"migration fails", `"db"`, "FAIL: '1'", []string{"migrate exited with status 5", "migrate: failing as asked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeCompose(t, map[string]string{"compose.yaml": stackCompose(image, tc.db, tc.migrateEnv)})
			p, err := Load(ctx, file, "api")
			if err != nil {
				t.Fatal(err)
			}
			runID := fmt.Sprintf("compose-fail-%d", time.Now().UnixNano())
			_, err = p.Up(ctx, e, runID, WithTimeout(30*time.Second))
			if !errors.Is(err, ErrDependency) {
				t.Fatalf("got %v, want ErrDependency", err)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			assertRunGone(t, e, runID)
		})
	}
}
