package cover

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

// Python coverage of the pypets fixture (Debian python3.11 with USDT).

func requirePypets(t *testing.T) *fixture.Container {
	t.Helper()
	requireIntegration(t)
	if err := fixture.Available(fixture.PypetsImage); err != nil {
		t.Skipf("INTEGRATION TEST SKIPPED: %v", err)
	}
	c, err := fixture.Start(fixture.PypetsImage, 8000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.WaitReady(ctx, "/health"); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIntegrationCoverPython(t *testing.T) {
	t.Run("uprobe_multi", func(t *testing.T) { checkCoverPython(t, "uprobe_multi") })
	t.Run("uprobe per address", func(t *testing.T) {
		t.Cleanup(faults.Set(faults.UprobeMulti, func() error { return errors.New("simulated: no uprobe_multi links") }))
		checkCoverPython(t, "uprobe per address")
	})
}

func checkCoverPython(t *testing.T, attach string) {
	c := requirePypets(t)
	tr := newTestTracer(t)
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cov, err := Attach(ctx, tr, c.Pid, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cov.Close()
	st := cov.Stats()
	t.Logf("coverage: %+v", st)
	if st.Kind != PythonLines || !strings.Contains(st.Source, "python3") || !st.Enabled || st.Attach != attach {
		t.Fatalf("unexpected coverage: %+v", st)
	}
	if st.Total < 20 {
		t.Errorf("estimated %d functions in /app, want more", st.Total)
	}
	if sem := pySemaphore(t, c.Pid, cov); sem == 0 {
		t.Errorf("semaphore is 0 with the probe attached")
	}
	cursor, bg, err := cov.Baseline(ctx, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("background: %d units", len(bg))

	client := &http.Client{Timeout: 10 * time.Second}
	step := func(method, path, body string) []string {
		t.Helper()
		a, err := fixture.Do(client, "http://"+c.Addr, fixture.Request{Method: method, Path: path, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		syncTracer(t, tr)
		var units []string
		units, cursor = cov.NewSince(cursor)
		t.Logf("%s %s -> %d, +%d units %v", method, path, a.Status, len(units), units)
		return units
	}
	step("GET", "/health", "")
	if again := step("GET", "/health", ""); len(again) != 0 {
		t.Errorf("repeated GET /health yielded %v", again)
	}
	created := step("POST", "/items", `{"name":"hammer","category":"tools","price":9.5,"quantity":3}`)
	requireUnit(t, created, "/app/pypets/main.py:create_item:")
	requireUnit(t, created, "/app/pypets/store.py:create:")
	export := step("GET", "/items/1/export?format=csv", "")
	requireUnit(t, export, "/app/pypets/exporters/csv_export.py:")
	for _, u := range append(created, export...) {
		if !strings.HasPrefix(u, "/app/") {
			t.Errorf("unit out of scope: %s", u)
		}
	}

	// Off: the semaphore drops, nothing is seen; on again: seen.
	if err := cov.Enable(false); err != nil {
		t.Fatal(err)
	}
	if sem := pySemaphore(t, c.Pid, cov); sem != 0 {
		t.Errorf("semaphore is %d with the probe detached", sem)
	}
	if off := step("DELETE", "/items/1", ""); len(off) != 0 {
		t.Errorf("disabled coverage yielded %v", off)
	}
	if err := cov.Enable(true); err != nil {
		t.Fatal(err)
	}
	step("POST", "/items", `{"name":"ball","category":"toys","price":1,"quantity":1}`)
	requireUnit(t, step("DELETE", "/items/2", ""), "/app/pypets/main.py:delete_item:")

	st = cov.Stats()
	t.Logf("after: %+v", st)
	hit := map[string]bool{}
	for _, f := range cov.Hit() {
		hit[f.Package+":"+f.Name] = true
	}
	for _, want := range []string{"/app/pypets/main.py:create_item", "/app/pypets/store.py:create", "/app/pypets/main.py:delete_item"} {
		if !hit[want] {
			t.Errorf("function %s not hit: %v", want, hit)
		}
	}
	if running, code, _ := c.State(); !running {
		t.Fatalf("pypets died (%d): %s", code, c.Logs())
	}
}

func requireUnit(t *testing.T, units []string, prefix string) {
	t.Helper()
	for _, u := range units {
		if strings.HasPrefix(u, prefix) {
			return
		}
	}
	t.Errorf("no unit %s* among %v", prefix, units)
}

// pySemaphore reads the python:line semaphore from the process's memory.
func pySemaphore(t *testing.T, pid int, cov *Coverage) uint16 {
	t.Helper()
	semOff := cov.py.sites[0].SemaphoreOffset
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 6 || fl[5] != cov.py.probes {
			continue
		}
		se := strings.SplitN(fl[0], "-", 2)
		start, _ := strconv.ParseUint(se[0], 16, 64)
		end, _ := strconv.ParseUint(se[1], 16, 64)
		off, _ := strconv.ParseUint(fl[2], 16, 64)
		if semOff < off || semOff >= off+(end-start) {
			continue
		}
		mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
		if err != nil {
			t.Fatal(err)
		}
		defer mem.Close()
		var b [2]byte
		if _, err := mem.ReadAt(b[:], int64(start+semOff-off)); err != nil {
			t.Fatal(err)
		}
		return binary.LittleEndian.Uint16(b[:])
	}
	t.Fatalf("semaphore at file offset %#x of %s not mapped", semOff, cov.py.probes)
	return 0
}
