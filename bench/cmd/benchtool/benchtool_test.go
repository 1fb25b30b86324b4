package main

import (
	"math"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/report"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
BenchmarkExport/gopets-2         	       1	 912345678 ns/op	         1200 entries	 336575228 fat-bytes
BenchmarkBuild/gopets-2          	       1	1500000000 ns/op	  11424500 min-bytes	        29.46 ratio
BenchmarkBuild/gopets-2          	       1	1300000000 ns/op	  11424500 min-bytes	        29.46 ratio
BenchmarkBuild/gopets-2          	       1	1400000000 ns/op	  11424500 min-bytes	        29.46 ratio
    bench_test.go:37: SKIP: fixture whittle-fixture/pypets:latest not built (make fixtures)
--- SKIP: BenchmarkBuild/pypets
BenchmarkLoopHTTP-2   	    3000	    400000 ns/op	      2500 req/s
PASS
`
	benches, skips := parseGoBench(strings.NewReader(out))
	if len(benches) != 3 {
		t.Fatalf("got %d benchmarks: %+v", len(benches), benches)
	}
	if b := benches[1]; b.Name != "BenchmarkBuild/gopets" || len(b.Metrics["ns/op"]) != 3 {
		t.Errorf("build: %+v", b)
	}
	if v, _ := benches[1].Median("ns/op"); v != 1.4e9 {
		t.Errorf("median ns/op %v", v)
	}
	if v, ok := benches[2].Median("req/s"); !ok || v != 2500 {
		t.Errorf("loop req/s %v %v", v, ok)
	}
	if _, ok := benches[0].Median("min-bytes"); ok {
		t.Error("export has no min-bytes")
	}
	if len(skips) != 2 {
		t.Errorf("skips %q", skips)
	}
}

func samples(n int, every float64, f func(i int) report.Sample) []report.Sample {
	var tl []report.Sample
	for i := 1; i <= n; i++ {
		s := f(i)
		s.Seconds = float64(i) * every
		tl = append(tl, s)
	}
	return tl
}

func TestRateStats(t *testing.T) {
	// 10 samples a second apart; no request between t=3 and t=6.
	reqs := []int64{100, 200, 300, 300, 300, 300, 400, 500, 600, 700}
	tl := samples(10, 1, func(i int) report.Sample { return report.Sample{Requests: reqs[i-1]} })
	st := rateStats(report.FuzzInfo{Requests: 700, Duration: 10, Timeline: tl})
	if st.Overall != 70 || st.Stalled != 3 || math.Abs(st.WhileSending-100) > 1e-9 {
		t.Errorf("%+v", st)
	}
	if st.Best5s != 80 { // t=5 → t=10: 400 requests in 5 s
		t.Errorf("best 5 s %v", st.Best5s)
	}
}

func TestPerMinute(t *testing.T) {
	// 20 minutes of samples every 10 s, plus a final sample at 1200.4 s.
	tl := samples(120, 10, func(i int) report.Sample {
		return report.Sample{Requests: int64(i) * 1000, HeapBytes: uint64(i%6) << 20}
	})
	tl = append(tl, report.Sample{Seconds: 1200.4, Requests: 120000, HeapBytes: 1 << 20})
	rows := perMinute(tl)
	if len(rows) != 22 { // the first sample (t=10), minutes 1..20 and the final sample
		t.Fatalf("%d rows", len(rows))
	}
	if rows[0].Seconds != 10 || rows[1].Seconds != 60 || rows[20].Seconds != 1200 || rows[21].Seconds != 1200.4 {
		t.Errorf("rows at %v %v %v %v", rows[0].Seconds, rows[1].Seconds, rows[20].Seconds, rows[21].Seconds)
	}
	if math.Abs(rows[2].Rate-100) > 1e-9 || rows[2].HeapMax != 5<<20 {
		t.Errorf("minute 2: rate %v heap max %v", rows[2].Rate, rows[2].HeapMax)
	}
}

func TestSteadiness(t *testing.T) {
	flat := samples(120, 10, func(i int) report.Sample {
		return report.Sample{HeapBytes: uint64(20+i%5) << 20, Goroutines: 15 + i%3, FDs: 56}
	})
	for _, s := range steadiness(flat) {
		if !s.Steady {
			t.Errorf("flat run judged growing: %+v", s)
		}
	}
	leak := samples(120, 10, func(i int) report.Sample {
		return report.Sample{HeapBytes: uint64(20+i) << 20, Goroutines: 15 + i/4, FDs: 56 + i/10}
	})
	for _, s := range steadiness(leak) {
		if s.Steady || s.Slope <= 0 {
			t.Errorf("leaking run judged steady: %+v", s)
		}
	}
	// With live heap figures, garbage swings do not count; live growth does.
	swings := samples(120, 10, func(i int) report.Sample {
		return report.Sample{HeapBytes: uint64(20+(i%7)*i/4) << 20, LiveHeapBytes: 20 << 20, Goroutines: 15, FDs: 56}
	})
	if s := steadiness(swings)[0]; s.Metric != "live heap (MiB)" || !s.Steady {
		t.Errorf("garbage swings judged growing: %+v", s)
	}
	liveLeak := samples(120, 10, func(i int) report.Sample {
		return report.Sample{HeapBytes: 60 << 20, LiveHeapBytes: uint64(20+i/2) << 20, Goroutines: 15, FDs: 56}
	})
	if s := steadiness(liveLeak)[0]; s.Steady {
		t.Errorf("live heap growth judged steady: %+v", s)
	}
}

func TestSampleAtAndBar(t *testing.T) {
	tl := samples(10, 1, func(i int) report.Sample { return report.Sample{Functions: i} })
	tl[4].Seconds = 5.0009 // the sampler ticks a little late
	if s, ok := sampleAt(tl, 5); !ok || s.Functions != 5 {
		t.Errorf("at 5: %+v %v", s, ok)
	}
	if _, ok := sampleAt(tl, 0.2); ok {
		t.Error("no sample before t=1")
	}
	if b := bar(40, 80, 10); b != "#####     " {
		t.Errorf("bar %q", b)
	}
}
