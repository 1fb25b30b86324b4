package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/internal/panics"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run is the whole CLI, testable without a process: it returns the exit code.
//
// A panic anywhere in whittle ends the run cleanly instead of the process:
// goroutines recover their panics and hand them to the handler installed
// here, which cancels the run (containers are removed, BPF programs closed,
// the corpus flushed); the command's own goroutine is recovered below. The
// user gets one error line naming the panic and the file holding its stack,
// and exit code 1.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var first atomic.Pointer[panics.Panic]
	restore := panics.SetHandler(func(p *panics.Panic) {
		first.CompareAndSwap(nil, p)
		cancel(p)
	})
	defer restore()

	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = panics.New("whittle", v)
			}
		}()
		return root.ExecuteContext(ctx)
	}()
	if p := first.Load(); p != nil {
		err = p // the run ended because of it, whatever else it says
	}
	var p *panics.Panic
	if errors.As(err, &p) {
		fmt.Fprintln(stderr, "whittle: "+strings.TrimSpace(err.Error())+" ("+stackNote(p, args)+")")
		return exitError
	}
	if err != nil {
		fmt.Fprintln(stderr, "whittle: "+strings.TrimSpace(withFlags(err)))
	}
	return exitCode(err)
}

// stackNote writes a panic's stack to a file in the temporary directory and
// says where, for the error line; the stack is too long for the terminal and
// the CI log alike, and only needed to report the bug.
func stackNote(p *panics.Panic, args []string) string {
	if len(p.Stack) == 0 {
		return "its stack is printed above; please report it"
	}
	f, err := os.CreateTemp("", "whittle-panic-*.txt")
	if err == nil {
		_, err = fmt.Fprintf(f, "whittle %s: %v\nargs: %q\n\n%s", version, p, args, p.Stack)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Sprintf("could not save its stack: %v", err)
	}
	return "stack in " + f.Name() + "; please report it"
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "whittle",
		Short: "Make minimal container images that still work",
		Long: "whittle starts a container image, observes it with eBPF while fuzzing it from its\n" +
			"OpenAPI spec, rebuilds a minimal image from what was used, and proves the minimal\n" +
			"image answers every request as the original did.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newRunCommand(), newBuildCommand(), newReplayCommand(), newCorpusCommand(), newCoverageCommand())
	return root
}
