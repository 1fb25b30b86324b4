package fuzz

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/probe"
)

// The fixture images fuzzed for real, through their published port and
// without the tracer (response novelty only). Slow (WHITTLE_REAL_DURATION
// each, default 60s), so it only runs with WHITTLE_REAL_TARGETS=1:
//
//	WHITTLE_REAL_TARGETS=1 go test ./fuzz -run TestRealTargets -v -timeout 10m

// dockerTarget runs an image with probe and restarts it when it dies; it is
// the Sender and the TargetHealth of a run, as the pipeline's will be.
type dockerTarget struct {
	eng   *probe.Engine
	img   *probe.Image
	mu    sync.Mutex
	cur   *probe.Target
	start time.Duration // total time spent starting containers
	n     int
}

func (d *dockerTarget) launch(ctx context.Context) error {
	t0 := time.Now()
	t, err := d.eng.Create(ctx, d.img, probe.WithRun("fuzz-realtarget-test"), probe.WithReadyTimeout(60*time.Second), probe.WithRequestTimeout(10*time.Second))
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.cur = t
	d.mu.Unlock()
	if err := t.Start(ctx); err != nil {
		return err
	}
	if err := t.WaitReady(ctx); err != nil {
		return err
	}
	d.start += time.Since(t0)
	d.n++
	return nil
}

func (d *dockerTarget) Send(ctx context.Context, req corpus.Request) corpus.Response {
	return d.cur.Send(ctx, req)
}

func (d *dockerTarget) Crashed() (bool, string) {
	if d.cur.Exited() {
		return true, fmt.Sprintf("exited with status %d", d.cur.ExitCode())
	}
	return false, ""
}

func (d *dockerTarget) Restart(ctx context.Context) error {
	_ = d.cur.Remove(ctx)
	return d.launch(ctx)
}

func (d *dockerTarget) remove() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur != nil {
		_ = d.cur.Remove(context.Background())
	}
}

func TestRealTargets(t *testing.T) {
	if os.Getenv("WHITTLE_REAL_TARGETS") != "1" {
		t.Skip("SKIPPED: fuzzing the fixture images takes minutes; set WHITTLE_REAL_TARGETS=1 to run it")
	}
	dur := 60 * time.Second
	if v := os.Getenv("WHITTLE_REAL_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		dur = d
	}
	ctx := context.Background()
	eng, err := probe.Connect(ctx)
	if err != nil {
		t.Skipf("SKIPPED: no Docker engine: %v", err)
	}
	defer eng.Close()
	tests := []struct {
		image, spec string
		bugs        map[string]func(Finding) bool
	}{
		{"whittle-fixture/gopets:latest", "../testdata/targets/gopets/openapi.yaml", map[string]func(Finding) bool{
			"a: 500 on limit=100": func(f Finding) bool {
				return f.Check == oracle.CheckServerError && f.Operation == "GET /pets" && strings.Contains(f.Curl, "limit=100")
			},
			"b: schema violation (tags null)": func(f Finding) bool {
				return f.Check == oracle.CheckSchema && strings.Contains(f.Signature, "tags")
			},
			"c: crash on create → foster → delete": func(f Finding) bool {
				return f.Check == oracle.CheckCrash && f.Operation == "DELETE /pets/{petId}" && strings.Contains(f.Curl, "foster")
			},
		}},
		{"whittle-fixture/pypets:latest", "../testdata/targets/pypets/openapi.json", map[string]func(Finding) bool{
			"a: 500 on limit=50": func(f Finding) bool {
				return f.Check == oracle.CheckServerError && f.Operation == "GET /items" && strings.Contains(f.Curl, "limit=50")
			},
			"b: schema violation (sold out)": func(f Finding) bool {
				return f.Check == oracle.CheckSchema && f.Operation == "GET /items/{item_id}"
			},
			"c: crash on create → delete → export": func(f Finding) bool {
				return f.Check == oracle.CheckCrash && f.Operation == "GET /items/{item_id}/export"
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			img, err := eng.Inspect(ctx, tt.image)
			if err != nil {
				t.Skipf("SKIPPED: %v (scripts/fixtures.sh builds it)", err)
			}
			s, err := spec.LoadSpec(ctx, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			d := &dockerTarget{eng: eng, img: img}
			defer d.remove()
			if err := d.launch(ctx); err != nil {
				t.Fatal(err)
			}
			f := New(s, d, WithSeed(1), WithDuration(dur), WithTarget(d), WithBaseURL(d.cur.BaseURL))
			res, err := f.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st := res.Stats
			t.Logf("%s: %d requests in %.0fs = %.0f req/s (+%d minimising), corpus %d, %d crashes, %d restarts (%.1fs starting each), stop %q",
				tt.image, st.Requests, st.Elapsed.Seconds(), st.RequestsPerSecond, st.MinimizeRequests, st.CorpusSize,
				st.Crashes, st.Restarts, d.start.Seconds()/float64(d.n), res.StopReason)
			var ops []string
			for op := range st.Operations {
				ops = append(ops, op)
			}
			sort.Strings(ops)
			for _, op := range ops {
				o := st.Operations[op]
				t.Logf("  %-32s %6d requests  2xx %5d  4xx %5d  5xx %4d  none %3d  new %3d", op, o.Requests, o.Status[2], o.Status[4], o.Status[5], o.Status[0], o.New)
			}
			if len(res.NoSuccess) > 0 {
				t.Errorf("operations without a 2xx: %v", res.NoSuccess)
			}
			for _, fd := range res.Findings {
				t.Logf("finding %s %s %q ×%d, first at request %d, minimised=%v\n%s", fd.Operation, fd.Check, fd.Signature, fd.Count, fd.FirstRequest, fd.Minimized, fd.Curl)
			}
			var names []string
			for name := range tt.bugs {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				found := false
				for _, fd := range res.Findings {
					found = found || tt.bugs[name](fd)
				}
				if found {
					t.Logf("planted bug %s: found", name)
				} else {
					t.Errorf("planted bug %s: NOT found", name)
				}
			}
		})
	}
}
