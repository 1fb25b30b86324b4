package main

import (
	"math"

	"github.com/whittle-dev/whittle/report"
)

// sampleAt is the last sample taken at or before t (half a second of slack:
// the sampler ticks a little after each whole second).
func sampleAt(tl []report.Sample, t float64) (report.Sample, bool) {
	var s report.Sample
	ok := false
	for _, x := range tl {
		if x.Seconds > t+0.5 {
			break
		}
		s, ok = x, true
	}
	return s, ok
}

// RateStats describes how steadily the fuzzer sent requests.
type RateStats struct {
	Overall      float64 // requests / fuzzing seconds
	Best5s       float64 // best rate over a window of at least 5 s
	Stalled      float64 // seconds between samples that saw no new request
	WhileSending float64 // requests / (fuzzing seconds - stalled)
}

// fuzzTotals are the requests and seconds of fuzzing; when a run failed the
// report's totals are empty, and the last timeline sample stands in.
func fuzzTotals(f report.FuzzInfo) (requests int64, seconds float64) {
	if f.Duration == 0 && len(f.Timeline) > 0 {
		last := f.Timeline[len(f.Timeline)-1]
		return last.Requests, last.Seconds
	}
	return f.Requests, f.Duration
}

func rateStats(f report.FuzzInfo) RateStats {
	var st RateStats
	f.Requests, f.Duration = fuzzTotals(f)
	if f.Duration > 0 {
		st.Overall = float64(f.Requests) / f.Duration
	}
	tl := append([]report.Sample{{}}, f.Timeline...) // the start: t=0, nothing sent
	for i := 1; i < len(tl); i++ {
		if tl[i].Requests == tl[i-1].Requests {
			st.Stalled += tl[i].Seconds - tl[i-1].Seconds
		}
	}
	for i := range tl {
		for j := i + 1; j < len(tl); j++ {
			if dt := tl[j].Seconds - tl[i].Seconds; dt >= 4.99 {
				st.Best5s = math.Max(st.Best5s, float64(tl[j].Requests-tl[i].Requests)/dt)
				break
			}
		}
	}
	if sending := f.Duration - st.Stalled; sending > 0 {
		st.WhileSending = float64(f.Requests) / sending
	}
	return st
}

// Minute is one row of the endurance table: the sample closest to a whole
// minute, and what happened since the previous row.
type Minute struct {
	report.Sample
	Minute  int
	Rate    float64 // requests/s since the previous row
	HeapMax uint64  // largest heap sample since the previous row
}

// perMinute keeps the first sample, the one nearest every whole minute
// (within 6 s) and the last one.
func perMinute(tl []report.Sample) []Minute {
	if len(tl) == 0 {
		return nil
	}
	var keep []int
	keep = append(keep, 0)
	last := tl[len(tl)-1].Seconds
	for m := 1; float64(m*60) <= last+6; m++ {
		best, dist := -1, 6.0
		for i, s := range tl {
			if d := math.Abs(s.Seconds - float64(m*60)); d <= dist {
				best, dist = i, d
			}
		}
		if best > keep[len(keep)-1] {
			keep = append(keep, best)
		}
	}
	if keep[len(keep)-1] != len(tl)-1 {
		keep = append(keep, len(tl)-1)
	}
	rows := make([]Minute, 0, len(keep))
	prev := report.Sample{}
	from := 0
	for _, i := range keep {
		s := tl[i]
		r := Minute{Sample: s, Minute: int(math.Round(s.Seconds / 60))}
		if dt := s.Seconds - prev.Seconds; dt > 0 {
			r.Rate = float64(s.Requests-prev.Requests) / dt
		}
		for _, x := range tl[from : i+1] {
			r.HeapMax = max(r.HeapMax, x.HeapBytes)
		}
		rows = append(rows, r)
		prev, from = s, i+1
	}
	return rows
}

// Steadiness compares a resource early in a long run with its end.
type Steadiness struct {
	Metric      string
	Early, Late float64 // largest value in minutes 2–7 and in the last 6 minutes
	Slope       float64 // least-squares trend per minute, after the first minute
	Limit       float64 // Late must stay at or under this: Early × factor + slack
	Steady      bool
}

// steadiness judges heap, goroutines and descriptors: steady when the
// largest value of the last six minutes stays at or under the largest value
// of minutes 2 to 7 plus a small slack (the heap may also grow by 25%: the
// corpus it holds grows). The first minute is warm-up and left out.
func steadiness(tl []report.Sample) []Steadiness {
	if len(tl) == 0 {
		return nil
	}
	end := tl[len(tl)-1].Seconds
	heap := struct {
		name string
		get  func(report.Sample) float64
	}{"heap (MiB)", func(s report.Sample) float64 { return float64(s.HeapBytes) / (1 << 20) }}
	if tl[len(tl)-1].LiveHeapBytes > 0 { // reports since live_heap_bytes: judge what is reachable, not garbage
		heap.name, heap.get = "live heap (MiB)", func(s report.Sample) float64 { return float64(s.LiveHeapBytes) / (1 << 20) }
	}
	metrics := []struct {
		name          string
		factor, slack float64
		get           func(report.Sample) float64
	}{
		{heap.name, 1.25, 8, heap.get},
		{"goroutines", 1, 3, func(s report.Sample) float64 { return float64(s.Goroutines) }},
		{"open fds", 1, 3, func(s report.Sample) float64 { return float64(s.FDs) }},
	}
	var out []Steadiness
	for _, m := range metrics {
		st := Steadiness{Metric: m.name}
		var xs, ys []float64
		for _, s := range tl {
			v := m.get(s)
			if s.Seconds > 60 && s.Seconds <= 420 {
				st.Early = math.Max(st.Early, v)
			}
			if s.Seconds > end-360 {
				st.Late = math.Max(st.Late, v)
			}
			if s.Seconds > 60 {
				xs, ys = append(xs, s.Seconds/60), append(ys, v)
			}
		}
		st.Slope = slope(xs, ys)
		st.Limit = st.Early*m.factor + m.slack
		st.Steady = st.Late <= st.Limit
		out = append(out, st)
	}
	return out
}

func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}
