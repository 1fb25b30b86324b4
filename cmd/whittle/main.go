// Command whittle makes minimal container images that still work.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/whittle-dev/whittle/internal/panics"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer panics.Catch("cli: signal handler", nil)
		// The first SIGINT or SIGTERM cancels the run, which then removes its
		// containers, closes its BPF programs and flushes the corpus before
		// exiting with 130. A second one means the user will not wait.
		s := <-signals
		cancel(fmt.Errorf("%s received", signalName(s)))
		s = <-signals
		fmt.Fprintf(os.Stderr, "whittle: %s again: exiting without cleaning up (the next run removes the containers left behind)\n", signalName(s))
		os.Exit(exitInterrupted)
	}()
	servePprof(os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	signal.Stop(signals)
	cancel(nil)
	os.Exit(code)
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}
