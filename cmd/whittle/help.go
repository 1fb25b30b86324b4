package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A command's help lists its flags in groups, in this order. A flag joins
// its group where it is defined, with inGroup; TestEveryFlagIsInAHelpGroup
// fails for a flag in none, and TestREADMEListsEveryFlag for a flag the
// README's tables lack.
const (
	groupTarget   = "Target and run configuration"
	groupCompose  = "Compose and drivers"
	groupBudget   = "Fuzzing budget and campaigns"
	groupCoverage = "Coverage"
	groupImage    = "Minimal image"
	groupCompare  = "Comparison"
	groupOutputs  = "Outputs"
)

var groupOrder = []string{groupTarget, groupCompose, groupBudget, groupCoverage, groupImage, groupCompare, groupOutputs}

// groupAnnotation is the pflag annotation holding a flag's help group.
const groupAnnotation = "whittle-help-group"

// inGroup puts the named flags of fl in a help group.
func inGroup(fl *pflag.FlagSet, group string, names ...string) {
	if !slices.Contains(groupOrder, group) {
		panic("unknown help group " + group)
	}
	for _, n := range names {
		if err := fl.SetAnnotation(n, groupAnnotation, []string{group}); err != nil {
			panic(fmt.Sprintf("help group of --%s: %v", n, err))
		}
	}
}

// flagGroup is the help group of f ("" for none).
func flagGroup(f *pflag.Flag) string {
	if g := f.Annotations[groupAnnotation]; len(g) > 0 {
		return g[0]
	}
	return ""
}

// helpFooter is what a command's help ends with: its exit codes and what
// it needs to run.
type helpFooter struct {
	exitCodes []int
	meanings  map[int]string // the command's own words for some codes
	needs     string
}

// setGroupedHelp makes cmd's usage list its flags by group, in the order
// they were defined, then the footer.
func setGroupedHelp(cmd *cobra.Command, footer helpFooter) {
	cmd.Flags().SortFlags = false
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		writeGroupedUsage(c.OutOrStderr(), c, footer)
		return nil
	})
}

func writeGroupedUsage(w io.Writer, c *cobra.Command, footer helpFooter) {
	fmt.Fprintf(w, "Usage:\n  %s\n", c.UseLine())
	if c.Example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", c.Example)
	}
	groups := map[string]*pflag.FlagSet{}
	other := pflag.NewFlagSet("other", pflag.ContinueOnError)
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		g := flagGroup(f)
		if g == "" {
			other.AddFlag(f)
			return
		}
		if groups[g] == nil {
			groups[g] = pflag.NewFlagSet(g, pflag.ContinueOnError)
			groups[g].SortFlags = false
		}
		groups[g].AddFlag(f)
	})
	for _, g := range groupOrder {
		if fs := groups[g]; fs != nil {
			fmt.Fprintf(w, "\n%s:\n%s", g, fs.FlagUsagesWrapped(helpWidth))
		}
	}
	if other.HasFlags() {
		fmt.Fprintf(w, "\nOther flags:\n%s", other.FlagUsagesWrapped(helpWidth))
	}
	if len(footer.exitCodes) > 0 {
		fmt.Fprintln(w, "\nExit codes:")
		for _, code := range footer.exitCodes {
			meaning := exitMeanings[code]
			if m, ok := footer.meanings[code]; ok {
				meaning = m
			}
			fmt.Fprintf(w, "  %-4d %s\n", code, meaning)
		}
	}
	if footer.needs != "" {
		fmt.Fprintf(w, "\nNeeds:\n%s\n", indent(footer.needs, "  "))
	}
}

// helpWidth is the column the flags' help is wrapped at.
const helpWidth = 100

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// What each command needs, for its help.
const (
	needsTracing = "root: whittle loads eBPF programs (tracepoints, ring buffers; code coverage through\n" +
		"uprobe_multi on Linux 6.6+, one uprobe per function before), on Linux 5.17+ with BTF;\n" +
		"a Docker engine, 20.10 or newer (API 1.40+), answering on DOCKER_HOST or /var/run/docker.sock.\n" +
		"Targets run with Docker's default confinement, their port published on 127.0.0.1 only."
	needsEngine = "a Docker engine, 20.10 or newer (API 1.40+), and the images to replay on (no eBPF: root\n" +
		"only where the engine's socket needs it). Containers run with Docker's default\n" +
		"confinement, their port published on 127.0.0.1 only."
)
