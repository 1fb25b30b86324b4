package pipeline

import (
	"strings"
	"testing"
	"time"
)

const slowdbImage = "whittle-fixture/slowdb:latest"

// The capacity probe measures the traced slowdb (Python: its line coverage
// is costly, paused during the load) right before fuzzing, puts the figures
// in the report, and changes nothing else: the run fuzzes and verifies.
func TestCapacityProbeOnTheTracedTarget(t *testing.T) {
	requireFixture(t, slowdbImage)
	const tag = "whittle-test/slowdb:capacity"
	t.Cleanup(func() { removeImage(tag) })
	rep, logs := runPipelineLogged(t, Config{Image: slowdbImage, Seed: 1, Duration: 4 * time.Second, MaxRequests: 300, Tag: tag,
		Capacity: &CapacityProbe{Path: "/health", Loads: []CapacityLoad{{Connections: 8, Duration: 2 * time.Second}, {Connections: 1, Duration: time.Second}}}})
	assertVerified(t, rep, 2)
	c := rep.Fuzz.Capacity
	if c == nil {
		t.Fatal("no capacity in the report")
	}
	if c.Path != "/health" || c.CodeCoverage != "paused" || len(c.Measurements) != 2 {
		t.Fatalf("capacity %+v: want /health, paused Python line coverage, 2 measurements", c)
	}
	for i, want := range []int{8, 1} {
		m := c.Measurements[i]
		if m.Connections != want || m.Error != "" || m.Requests == 0 || m.RequestsPerSecond <= 0 || m.Statuses["200"] != m.Requests {
			t.Errorf("measurement %d: %+v: want %d connections, 200s only, no error", i, m, want)
		}
		if m.Seconds < 0.5 || m.Seconds > 10 {
			t.Errorf("measurement %d lasted %.1f s, asked for about %d", i, m.Seconds, []int{2, 1}[i])
		}
		line := logged(logs, "capacity: GET /health, "+[]string{"8", "1"}[i]+" connection(s)")
		if !strings.Contains(line, "/s (200: ") {
			t.Errorf("measurement %d is not logged with its rate and statuses: %q", i, line)
		}
	}
	if rep.Timings["capacity"] < 2.5 {
		t.Errorf("timings %v: the load's seconds are not their own", rep.Timings)
	}
	if rep.Fuzz.Requests == 0 || rep.Fuzz.Duration <= 0 {
		t.Errorf("fuzzing after the load: %d requests in %.1f s", rep.Fuzz.Requests, rep.Fuzz.Duration)
	}
	// None of the load's requests is the fuzzer's: they are not counted
	// as its requests nor in any operation.
	var health int64
	for _, o := range rep.Fuzz.Operations {
		if o.Operation == "GET /health" {
			health = o.Requests
		}
	}
	if health >= c.Measurements[0].Requests || rep.Fuzz.Requests > 300 {
		t.Errorf("the fuzzer counts %d requests, %d of GET /health; the load sent %d", rep.Fuzz.Requests, health, c.Measurements[0].Requests)
	}
	t.Logf("capacity on the traced target: %.0f/s with 8 connections, %.0f/s with 1; fuzzing %d requests in %.1f s",
		c.Measurements[0].RequestsPerSecond, c.Measurements[1].RequestsPerSecond, rep.Fuzz.Requests, rep.Fuzz.Duration)
}

// A path the target does not serve with 2xx is in the report as such; the
// run goes on.
func TestCapacityProbeOfAMissingPathDoesNotFailTheRun(t *testing.T) {
	requireFixture(t, slowdbImage)
	rep, logs := runPipelineLogged(t, Config{Image: slowdbImage, Seed: 1, Duration: 2 * time.Second, MaxRequests: 100,
		FuzzOnly: true, CorpusDir: t.TempDir(),
		Capacity: &CapacityProbe{Path: "/no-such-path", Loads: []CapacityLoad{{Connections: 8, Duration: time.Second}, {Connections: 1, Duration: time.Second}}}})
	c := rep.Fuzz.Capacity
	if c == nil || len(c.Measurements) != 1 {
		t.Fatalf("capacity %+v: want the one failed measurement (the next is not made)", c)
	}
	m := c.Measurements[0]
	if m.Statuses["404"] == 0 || !strings.Contains(m.Error, "not 2xx") {
		t.Errorf("measurement %+v: want 404s and an error saying they are not 2xx", m)
	}
	if line := logged(logs, "capacity: GET /no-such-path"); !strings.Contains(line, "the run goes on") {
		t.Errorf("the failed measurement is not logged: %q", line)
	}
	if rep.Fuzz.Requests == 0 {
		t.Error("no fuzzing after the failed measurement")
	}
}
