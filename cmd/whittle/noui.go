package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
)

// printProgress is the headless interface: timestamped lines on stderr for
// each event, and a counters line every few seconds while fuzzing.
func printProgress(ctx context.Context, w io.Writer, bus *event.Bus, progress func() event.Progress, _ bool) {
	events := make(chan event.Event)
	go func() {
		defer close(events)
		defer panics.Catch("cli: event reader", nil)
		for {
			e, ok := bus.Next(context.WithoutCancel(ctx))
			if !ok {
				return
			}
			events <- e
		}
	}()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return
			}
			_ = faults.At(faults.ProgressPrinter)
			if line := formatEvent(e); line != "" {
				fmt.Fprintf(w, "%s %s\n", e.When().Format("15:04:05"), line)
			}
		case now := <-tick.C:
			p := progress()
			if p.Phase == event.PhaseFuzz {
				restarts := ""
				if p.Restarts > 0 {
					restarts = fmt.Sprintf(", restarts %d", p.Restarts)
				}
				fmt.Fprintf(w, "%s [fuzz] %d requests (%.0f/s), corpus %d, findings %d, functions %d/%d, files %d, syscalls %d%s\n",
					now.Format("15:04:05"), p.Requests, p.RequestsPerS, p.CorpusSize, p.Findings,
					p.Functions, p.FunctionsTotal, p.Files, p.Syscalls, restarts)
			}
		}
	}
}

func formatEvent(e event.Event) string {
	switch e := e.(type) {
	case event.PhaseStarted:
		return fmt.Sprintf("[%s] %s", e.Phase, e.Detail)
	case event.PhaseFinished:
		if e.Err != nil {
			return fmt.Sprintf("[%s] failed", e.Phase)
		}
		if e.Detail == "" {
			return ""
		}
		return fmt.Sprintf("[%s] %s", e.Phase, e.Detail)
	case event.Log:
		if e.Level == event.LevelInfo {
			return e.Msg
		}
		return e.Level.String() + ": " + e.Msg
	case event.Finding:
		return fmt.Sprintf("[finding] %s %s: %s", e.Operation, e.Check, e.Summary)
	case event.Dependency:
		// Every container of the target gets fresh companions: their first
		// start is told in full, later ones only when they fail.
		if e.Starts > 1 && !strings.HasPrefix(e.State, "failed") {
			return ""
		}
		line := fmt.Sprintf("[service] %s (%s): %s", e.Service, e.Image, e.State)
		if e.Detail != "" {
			line += " " + e.Detail
		}
		return line
	case event.Divergence:
		return fmt.Sprintf("[verify] DIVERGED %s %s", e.Operation, e.Request)
	case event.Step:
		if e.Done > 0 && e.Total > 0 && e.Done < e.Total {
			return fmt.Sprintf("[%s] %s %d/%d", e.Phase, e.Name, e.Done, e.Total)
		}
		if e.Done == 0 {
			return fmt.Sprintf("[%s] %s...", e.Phase, e.Name)
		}
		return ""
	}
	return ""
}
