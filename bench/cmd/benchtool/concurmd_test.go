package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/report"
)

func writeRaw(t *testing.T, dir, name string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tableRow is the main table's row of fixture fx, its cells trimmed.
func tableRow(t *testing.T, md, fx string) []string {
	t.Helper()
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| "+fx+" |") {
			cells := strings.Split(strings.Trim(l, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells
		}
	}
	t.Fatalf("no row for %s in:\n%s", fx, md)
	return nil
}

// The capacity set against executions/s is the adaptive run's own, measured
// on its traced container; the untraced one is context. Raw files of runs
// before the traced measurement (older names, reports without it) still
// render, with "-" where the figure is missing.
func TestConcurrencyCapacityFromTheRunItself(t *testing.T) {
	dir := t.TempDir()
	run := func(requests int64, capacity *report.Capacity) *report.Report {
		return &report.Report{Fuzz: report.FuzzInfo{Requests: requests, Duration: 60, Capacity: capacity,
			Concurrency: &report.Concurrency{Workers: 2, MaxWorkers: 4}}}
	}
	// slowdb: this run's files.
	writeRaw(t, dir, "slowdb-capacity-untraced-8.json", Rate{Workers: 8, RPS: 900})
	writeRaw(t, dir, "slowdb-concur-adaptive.json", run(6000, &report.Capacity{Path: "/health", CodeCoverage: "paused",
		Measurements: []report.CapacityMeasurement{
			{Connections: 8, Seconds: 10, Requests: 4000, RequestsPerSecond: 400, Statuses: map[string]int64{"200": 4000}},
			{Connections: 1, Seconds: 5, Requests: 500, RequestsPerSecond: 100, Statuses: map[string]int64{"200": 500}},
			{Connections: 8, FreshConnections: true, Seconds: 5, Requests: 1000, RequestsPerSecond: 200, Statuses: map[string]int64{"200": 1000}}}}))
	writeRaw(t, dir, "slowdb-concur-1.json", run(3000, nil))
	// jvmnagle: kept-alive answers are slow; whittle opened a connection per
	// request, and the fresh-connection load is the higher ceiling.
	nagle := run(6000, &report.Capacity{Path: "/health", CodeCoverage: "on",
		Measurements: []report.CapacityMeasurement{
			{Connections: 8, Seconds: 10, Requests: 500, RequestsPerSecond: 50, Statuses: map[string]int64{"200": 500}},
			{Connections: 1, Seconds: 5, Requests: 30, RequestsPerSecond: 6, Statuses: map[string]int64{"200": 30}},
			{Connections: 8, FreshConnections: true, Seconds: 5, Requests: 2500, RequestsPerSecond: 500, Statuses: map[string]int64{"200": 2500}}}})
	nagle.Fuzz.Connections = "keep-alive answers took 42ms, answers on fresh connections 2ms: every request opens a connection of its own"
	writeRaw(t, dir, "jvmnagle-concur-adaptive.json", nagle)
	// gopets: an older step (untraced capacity under its old name, no traced one).
	writeRaw(t, dir, "gopets-capacity-8.json", Rate{Workers: 8, RPS: 3907})
	writeRaw(t, dir, "gopets-concur-adaptive.json", run(29160, nil))
	// pypets: the traced measurement failed.
	writeRaw(t, dir, "pypets-concur-adaptive.json", run(600, &report.Capacity{Path: "/health",
		Measurements: []report.CapacityMeasurement{{Connections: 8, Seconds: 1, Requests: 10, RequestsPerSecond: 10,
			Statuses: map[string]int64{"500": 10}, Error: "10 of 10 answers were not 2xx: not an operation the target serves"}}}))

	md := renderConcurrency(&inputs{raw: dir}).String()
	for fx, want := range map[string][]string{
		// fixture, capacity 8 kept alive, 8 fresh, 1 connection, adaptive, of capacity, max workers, 1 worker, untraced 8
		"slowdb":   {"slowdb", "400/s", "200/s", "100/s", "100/s", "**25%**", "4", "50/s", "900/s"},
		"jvmnagle": {"jvmnagle", "50/s", "500/s", "6/s", "100/s", "**20%**", "4", "-", "-"},
		"gopets":   {"gopets", "-", "-", "-", "486/s", "-", "4", "-", "3907/s"},
		"pypets":   {"pypets", "-", "-", "-", "10/s", "-", "4", "-", "-"},
	} {
		if got := tableRow(t, md, fx); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: row %q, want %q", fx, got, want)
		}
	}
	for _, w := range []string{"slowdb: code coverage during the load: paused", "pypets: the capacity was not measured: 10 of 10 answers were not 2xx",
		"jvmnagle: whittle chose: keep-alive answers took 42ms"} {
		if !strings.Contains(md, w) {
			t.Errorf("the notes lack %q:\n%s", w, md)
		}
	}
}
