package main

import (
	"math"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/report"
)

func TestThroughput(t *testing.T) {
	// 120 s sampled every second from a sample at the start: 1000/s for the
	// first minute, then 250/s.
	tl := []report.Sample{{}}
	reqs := int64(0)
	for i := 1; i <= 120; i++ {
		if i <= 60 {
			reqs += 1000
		} else {
			reqs += 250
		}
		tl = append(tl, report.Sample{Seconds: float64(i) + 0.01, Requests: reqs})
	}
	tp := throughput(report.FuzzInfo{Requests: reqs, Duration: 120, Timeline: tl})
	if math.Abs(tp.First30-1000) > 1 || math.Abs(tp.Last30-250) > 1 || math.Abs(tp.Ratio()-0.25) > 0.01 {
		t.Errorf("first %v last %v ratio %v", tp.First30, tp.Last30, tp.Ratio())
	}
	if len(tp.Windows) != 12 || math.Abs(tp.Windows[0]-1000) > 1 || math.Abs(tp.Windows[11]-250) > 1 {
		t.Errorf("windows %v", tp.Windows)
	}
	in := &inputs{stateful: map[string]*report.Report{statefulRun: {Fuzz: report.FuzzInfo{Requests: reqs, Duration: 120, Timeline: tl, LatencyRestarts: 2, GCDeletes: 40}}}}
	tg := statefulTarget(in)
	if !tg.known || tg.met || !strings.Contains(tg.measured, "2 latency restarts") {
		t.Errorf("target %+v: a run ending at a quarter of its start rate must not meet it", tg)
	}
	// Too short a run says nothing.
	if tp := throughput(report.FuzzInfo{Requests: 100, Duration: 40, Timeline: tl[:41]}); tp.First30 != 0 {
		t.Errorf("a 40-s run compared its first and last 30 s: %+v", tp)
	}
}
