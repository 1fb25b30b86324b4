package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/whittle-dev/whittle/event"
)

// eventsMsg carries a batch of events taken off the bus.
type eventsMsg []event.Event

// eventsClosedMsg: the bus is closed and drained.
type eventsClosedMsg struct{}

// tickMsg asks for a fresh progress snapshot.
type tickMsg time.Time

// progressMsg is the snapshot pulled on a tick, forwarded to the panes.
type progressMsg struct {
	p   event.Progress
	now time.Time
}

// outcomeMsg: the run returned.
type outcomeMsg Outcome

// maxBatch bounds the events handled by one Update, so keys stay responsive
// while a backlog drains.
const maxBatch = 512

// pump moves events from the bus into the program through a re-arming
// command: one Next at a time, never Program.Send, so the publisher never
// waits for the interface. Events arriving faster than every interval are
// delivered together, which keeps the number of renders bounded whatever the
// event rate.
type pump struct {
	src      EventSource
	interval time.Duration
	last     time.Time
	full     bool // the previous batch was full: there is a backlog, do not wait
}

// drained is an already cancelled context: Next with it takes what is queued
// and never waits.
var drained = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (p *pump) next() tea.Cmd {
	if p == nil || p.src == nil {
		return nil
	}
	return func() tea.Msg {
		e, ok := p.src.Next(context.Background())
		if !ok {
			return eventsClosedMsg{}
		}
		if wait := p.interval - time.Since(p.last); wait > 0 && !p.full {
			time.Sleep(wait)
		}
		batch := eventsMsg{e}
		for len(batch) < maxBatch {
			e, ok := p.src.Next(drained)
			if !ok {
				break
			}
			batch = append(batch, e)
		}
		p.full = len(batch) == maxBatch
		p.last = time.Now()
		return batch
	}
}

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func waitOutcome(ch <-chan Outcome) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg { return outcomeMsg(<-ch) }
}
