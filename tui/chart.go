package tui

import "strings"

// series is a bounded history of samples taken on the tick. When full,
// neighbouring values merge pairwise and later samples are merged as many at
// a time, so a chart always spans the whole run in constant memory.
type series struct {
	peak   bool // merge by maximum (cumulative counters); else by mean (rates)
	limit  int
	vals   []float64
	stride int // samples per stored value
	acc    float64
	n      int // samples in acc
}

func newSeries(peak bool, limit int) *series {
	return &series{peak: peak, limit: max(4, limit&^1), stride: 1}
}

func (s *series) merge(a, b float64, na, nb int) float64 {
	if s.peak {
		return max(a, b)
	}
	return (a*float64(na) + b*float64(nb)) / float64(na+nb)
}

func (s *series) push(v float64) {
	if s.n == 0 {
		s.acc = v
	} else {
		s.acc = s.merge(s.acc, v, s.n, 1)
	}
	s.n++
	if s.n < s.stride {
		return
	}
	s.vals = append(s.vals, s.acc)
	s.n = 0
	if len(s.vals) >= s.limit {
		half := len(s.vals) / 2
		for i := 0; i < half; i++ {
			s.vals[i] = s.merge(s.vals[2*i], s.vals[2*i+1], 1, 1)
		}
		s.vals = s.vals[:half]
		s.stride *= 2
	}
}

// values returns the stored values and the one being accumulated.
func (s *series) values() []float64 {
	out := append([]float64(nil), s.vals...)
	if s.n > 0 {
		out = append(out, s.acc)
	}
	return out
}

func (s *series) last() float64 {
	if s.n > 0 {
		return s.acc
	}
	if len(s.vals) == 0 {
		return 0
	}
	return s.vals[len(s.vals)-1]
}

// resample fits vals into at most w columns.
func resample(vals []float64, w int, peak bool) []float64 {
	if len(vals) <= w {
		return vals
	}
	out := make([]float64, w)
	for i := range out {
		from, to := i*len(vals)/w, (i+1)*len(vals)/w
		var agg float64
		for j := from; j < to; j++ {
			if peak {
				agg = max(agg, vals[j])
			} else {
				agg += vals[j] / float64(to-from)
			}
		}
		out[i] = agg
	}
	return out
}

var eighths = []rune(" ▁▂▃▄▅▆▇█")

// barChart draws vals as h rows of w columns of vertical bars in eighths,
// scaled to the largest value; a value above zero shows at least a sliver.
func barChart(vals []float64, w, h int, peak bool) []string {
	vals = resample(vals, w, peak)
	top := 0.0
	for _, v := range vals {
		top = max(top, v)
	}
	rows := make([]string, h)
	for r := range rows {
		var b strings.Builder
		for _, v := range vals {
			level := 0
			if top > 0 {
				level = int(v / top * float64(h*8))
				if v > 0 && level == 0 {
					level = 1
				}
			}
			c := level - (h-1-r)*8
			b.WriteRune(eighths[max(0, min(8, c))])
		}
		rows[r] = b.String()
	}
	return rows
}

// sparkline is a one-row bar chart.
func sparkline(vals []float64, w int, peak bool) string {
	return barChart(vals, w, 1, peak)[0]
}
