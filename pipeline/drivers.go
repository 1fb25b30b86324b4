package pipeline

import (
	"context"
	"fmt"
	"sync"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/driver"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/report"
)

// drivers are the user's commands running against the target while it is
// fuzzed, one after another, each through a recording proxy.
type drivers struct {
	done    chan struct{}
	results []driver.Result
	failed  error
	mu      sync.Mutex
}

// startDrivers runs the configured drivers in the background; stop is
// called when one fails (the run then fails with its message).
func (s *session) startDrivers(ctx context.Context, stop func()) *drivers {
	cmds := s.run.cfg.Drivers
	d := &drivers{done: make(chan struct{})}
	if len(cmds) == 0 {
		close(d.done)
		return d
	}
	send := func(ctx context.Context, req corpus.Request) corpus.Response { return s.orig.Send(ctx, req) }
	go func() {
		defer close(d.done)
		defer panics.Catch("driver runner", s.run.fail)
		for _, cmd := range cmds {
			s.run.logf(event.LevelInfo, "driver %q: started (%s points at the target)", cmd, driver.EnvURL)
			res := driver.Run(ctx, cmd, send)
			d.mu.Lock()
			d.results = append(d.results, res)
			d.mu.Unlock()
			if res.Err != nil {
				if ctx.Err() == nil {
					d.failed = res.Err
					stop()
				}
				return
			}
			s.run.logf(event.LevelInfo, "driver %q: exited 0 after %.1fs, %d requests", cmd, res.Duration.Seconds(), len(res.Exchanges))
		}
	}()
	return d
}

// wait waits for the drivers to finish and records them in the report.
func (s *session) waitDrivers(ctx context.Context, d *drivers) error {
	select {
	case <-d.done:
	default:
		s.run.bus.Publish(event.Step{Stamp: event.Now(), Phase: event.PhaseFuzz, Name: "waiting for the drivers to finish"})
		select {
		case <-d.done:
		case <-ctx.Done():
			<-d.done // Run kills the driver when ctx ends
		}
	}
	sec := s.run.secrets
	for _, res := range d.results {
		rd := report.Driver{Command: sec.Redact(res.Command), ExitCode: res.ExitCode, Duration: res.Duration.Seconds(),
			Requests: len(res.Exchanges) + res.Dropped, Output: sec.Redact(res.Tail(20))}
		if res.Err != nil {
			rd.Error = sec.Redact(res.Err.Error())
		}
		s.rep.Drivers = append(s.rep.Drivers, rd)
		if res.Dropped > 0 {
			s.run.logf(event.LevelWarn, "driver %q sent %d requests more than are recorded: they are not in the corpus", res.Command, res.Dropped)
		}
	}
	if d.failed != nil {
		return fmt.Errorf("%w (its last output lines are in the report)", d.failed)
	}
	return nil
}

// driverEntries turns what the drivers sent into corpus entries, marked as
// theirs, stored with the corpus when there is one, and replayed by the
// verification like the fuzzer's.
func (s *session) driverEntries(d *drivers, st *corpus.Store) []fuzz.Entry {
	var out []fuzz.Entry
	for _, res := range d.results {
		ce, ok := res.Entry()
		if !ok {
			continue
		}
		if st != nil {
			stored, _, err := st.Put(ce)
			if err != nil {
				s.run.logf(event.LevelWarn, "storing the driver's requests: %v", err)
			} else {
				ce = stored
			}
		}
		// No steps: the requests are replayed as they were sent.
		es, _ := fuzz.EntriesFromCorpus([]corpus.Entry{ce})
		out = append(out, es...)
	}
	return out
}
