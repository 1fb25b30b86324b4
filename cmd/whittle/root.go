package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// run is the whole CLI, testable without a process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "whittle: "+strings.TrimSpace(err.Error()))
	}
	return exitCode(err)
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
	root.AddCommand(newRunCommand(), newReplayCommand(), newCorpusCommand())
	return root
}
