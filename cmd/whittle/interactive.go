package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/report"
	"github.com/whittle-dev/whittle/tui"
)

// interactiveOption adjusts runInteractive.
type interactiveOption func(*interactiveRun)

// withAfterRun runs f once Execute has returned and before the results are
// shown, e.g. to write the -o reports so the results view lists them. An
// error from f becomes the run's error when the run had none.
func withAfterRun(f func(*report.Report, error) error) interactiveOption {
	return func(r *interactiveRun) { r.afterRun = f }
}

// withProgramOptions adds Bubble Tea options (tests).
func withProgramOptions(opts ...tea.ProgramOption) interactiveOption {
	return func(r *interactiveRun) { r.programOptions = append(r.programOptions, opts...) }
}

// runInteractive runs p under the dashboard: Execute in a goroutine, the
// Bubble Tea program on the alternate screen fed by bus and p's progress,
// and the results once the run has returned. It returns when the user quits.
// Quitting during the run (after confirming), or ctx ending, cancels the
// run; either way runInteractive returns only after Execute has returned, so
// containers are removed. bus is closed when Execute returns.
func runInteractive(ctx context.Context, p *pipeline.Run, bus *event.Bus, in io.Reader, out io.Writer, opts ...interactiveOption) (*report.Report, error) {
	r := &interactiveRun{
		execute:  p.Execute,
		progress: p.Progress,
		controls: controlsOf(p),
		bus:      bus,
		in:       in,
		out:      out,
		noColor:  noColor(),
	}
	for _, o := range opts {
		o(r)
	}
	return r.run(ctx)
}

// controlsOf returns p's pause/build-now/skip controls, or nil while the
// pipeline has none (the interface then offers none of those keys).
func controlsOf(p *pipeline.Run) tui.Controls {
	if c, ok := any(p).(tui.Controls); ok {
		return c
	}
	return nil
}

// interactiveRun is runInteractive over functions, so tests need no Docker.
type interactiveRun struct {
	execute  func(context.Context) (*report.Report, error)
	progress func() event.Progress
	controls tui.Controls
	bus      *event.Bus
	in       io.Reader
	out      io.Writer
	noColor  bool

	afterRun       func(*report.Report, error) error
	programOptions []tea.ProgramOption
}

func (r *interactiveRun) run(ctx context.Context) (*report.Report, error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		rep    *report.Report
		runErr error
	)
	outcome := make(chan tui.Outcome, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer panics.Catch("interactive run", nil)
		rep, runErr = r.execute(runCtx)
		r.bus.Close()
		if r.afterRun != nil {
			if err := r.afterRun(rep, runErr); err != nil && runErr == nil {
				runErr = err
			}
		}
		outcome <- tui.Outcome{Report: rep, Err: sayFlags(runErr)}
	}()
	// Even when the interface panics on this goroutine, the run is cancelled
	// and has cleaned up before the panic goes on.
	defer func() {
		cancel()
		<-done
	}()

	renderer := lipgloss.NewRenderer(r.out)
	if r.noColor {
		renderer.SetColorProfile(termenv.Ascii)
	}
	model := tui.New(tui.Config{
		Events:   r.bus,
		Progress: r.progress,
		Controls: r.controls,
		Stop:     cancel,
		Outcome:  outcome,
		Renderer: renderer,
	})
	opts := append([]tea.ProgramOption{
		tea.WithContext(ctx),
		tea.WithInput(r.in),
		tea.WithOutput(r.out),
		tea.WithAltScreen(),
	}, r.programOptions...)
	_, uiErr := tea.NewProgram(model, opts...).Run()

	// However the interface ended, the run ends too and cleans up first.
	cancel()
	<-done
	// A panic in the interface (Bubble Tea recovered it and printed its
	// stack) is the run's error: the run was cancelled because of it.
	if errors.Is(uiErr, tea.ErrProgramPanic) {
		return rep, &panics.Panic{Where: "the interactive interface", Value: tea.ErrProgramPanic}
	}
	// A signal or ctx ending the interface is not an error of its own: the
	// run's error says it was interrupted, if it was.
	killed := errors.Is(uiErr, tea.ErrProgramKilled) || errors.Is(uiErr, tea.ErrInterrupted)
	if uiErr != nil && !killed && runErr == nil {
		return rep, fmt.Errorf("running the interactive interface: %w", uiErr)
	}
	return rep, runErr
}
