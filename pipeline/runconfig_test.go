package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/report"
)

func drainLogs(bus *event.Bus) []string {
	bus.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var out []string
	for {
		e, ok := bus.Next(ctx)
		if !ok {
			return out
		}
		if l, ok := e.(event.Log); ok {
			out = append(out, l.Msg)
		}
	}
}

func TestWideningIsWarned(t *testing.T) {
	bus := event.NewBus()
	r := New(Config{Image: "x", Run: probe.RunConfig{User: "0:0", Env: []string{"TOKEN=tok-secret-1"}, Mounts: []probe.Mount{
		{Source: "/srv/conf", Target: "/etc/app", ReadOnly: true},
		{Source: "data", Target: "/data", Volume: true},
	}}}, bus)
	s := &session{run: r, rep: &report.Report{}}
	s.warnWidening()
	logs := strings.Join(drainLogs(bus), "\n")
	for _, want := range []string{"host path /srv/conf is mounted into the target at /etc/app (read-only), as asked", "the target runs as root (user 0:0)"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no warning %q in:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "/data") {
		t.Errorf("a named volume is not a host path:\n%s", logs)
	}
}

func TestMergeRunConfig(t *testing.T) {
	svc := probe.RunConfig{Env: []string{"A=1", "B=2"}, Cmd: []string{"serve"}, User: "app", Mounts: []probe.Mount{{Source: "v", Target: "/v", Volume: true}}}
	user := probe.RunConfig{Env: []string{"B=3"}, User: "1000", Mounts: []probe.Mount{{Source: "/h", Target: "/h"}}}
	got := MergeRunConfig(svc, user)
	if strings.Join(got.Env, " ") != "A=1 B=2 B=3" || strings.Join(got.Cmd, " ") != "serve" || got.User != "1000" || len(got.Mounts) != 2 {
		t.Fatalf("merged %+v", got)
	}
}
