package fuzz

import (
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// The report's latencies: the mean of every answer, and a recent figure
// that follows a slowdown within a few dozen answers.
func TestStatsLatency(t *testing.T) {
	s := newStats(nil)
	for range 200 {
		s.answerTime("GET /items", corpus.Response{Status: 200, Duration: ms(1)})
	}
	s.answerTime("GET /items", corpus.Response{Err: "timeout"}) // no answer: no latency
	for range 40 {
		s.answerTime("GET /items", corpus.Response{Status: 200, Duration: ms(10)})
	}
	o := s.snapshot().Operations["GET /items"]
	if want := (200*ms(1) + 40*ms(10)) / 240; o.MeanLatency != want {
		t.Errorf("mean %s, want %s", o.MeanLatency, want)
	}
	if o.RecentLatency < ms(9) || o.RecentLatency > ms(10) {
		t.Errorf("recent %s after 40 answers of 10ms (200 of 1ms before), want close to 10ms", o.RecentLatency)
	}
}
