package pipeline

import (
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/report"
)

// sampleTimeline records the fuzzer's progress and whittle's own resource
// use at intervals until the returned function is called: the coverage
// curve of the report (from what start-up alone covered, sampled before
// the first request), and the evidence that long runs stay steady.
func (s *session) sampleTimeline(f *fuzz.Fuzzer, started time.Time) (stop func()) {
	interval := time.Second
	if s.run.cfg.Duration > 2*time.Minute {
		interval = 10 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var samples []report.Sample
	take := func() {
		st := f.Stats()
		smp := report.Sample{
			Seconds:    time.Since(started).Seconds(),
			Requests:   st.Requests,
			Functions:  st.Functions,
			Files:      st.Files,
			CorpusSize: st.CorpusSize,
			Findings:   st.Findings,
			Goroutines: runtime.NumGoroutine(),
			FDs:        openFDs(),
		}
		if s.cov != nil {
			smp.Functions = s.cov.Stats().Hit
		}
		smp.HeapBytes, smp.LiveHeapBytes = heapBytes()
		samples = append(samples, smp)
	}
	// The first sample is the start: what start-up alone covered.
	take()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer panics.Catch(string(faults.TimelineSampler), s.run.fail)
		_ = faults.At(faults.TimelineSampler)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				take()
				return
			case <-tick.C:
				take()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		s.rep.Fuzz.Timeline = samples
	}
}

// openFDs counts this process's open file descriptors.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}

// heapBytes returns the Go heap now (garbage included) and as the last
// collection left it (live objects only).
func heapBytes() (now, live uint64) {
	m := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(m)
	if m[0].Value.Kind() == metrics.KindUint64 {
		now = m[0].Value.Uint64()
	}
	if m[1].Value.Kind() == metrics.KindUint64 {
		live = m[1].Value.Uint64()
	}
	return now, live
}
