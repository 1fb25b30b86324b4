package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// documentedCommands are the commands whose every flag the help groups and
// the README's flag tables list.
func documentedCommands() []*cobra.Command {
	return []*cobra.Command{newRunCommand(), newReplayCommand(), newBuildCommand()}
}

func eachFlag(cmd *cobra.Command, fn func(*pflag.Flag)) {
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		// Hidden flags are hooks for the bench, not documented options.
		if f.Name != "help" && !f.Hidden {
			fn(f)
		}
	})
}

// TestEveryFlagIsInAHelpGroup: a flag added without inGroup would land in
// "Other flags"; the help shows each flag under its group's heading, and
// ends with the exit codes and what the command needs.
func TestEveryFlagIsInAHelpGroup(t *testing.T) {
	for _, cmd := range documentedCommands() {
		t.Run(cmd.Name(), func(t *testing.T) {
			stdout, _, err := execCommand(t, cmd, "--help")
			if err != nil {
				t.Fatal(err)
			}
			sections := helpSections(stdout)
			n := 0
			eachFlag(cmd, func(f *pflag.Flag) {
				n++
				g := flagGroup(f)
				if g == "" {
					t.Errorf("--%s is in no help group: add it with inGroup where it is defined", f.Name)
					return
				}
				if !regexp.MustCompile(`(?m)^\s+(-\w, )?--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(sections[g]) {
					t.Errorf("--%s is not shown under %q:\n%s", f.Name, g, sections[g])
				}
			})
			if n < 5 {
				t.Fatalf("%d flags: the test proves nothing", n)
			}
			if strings.Contains(stdout, "Other flags:\n") && !strings.Contains(sections["Other flags"], "--help") || strings.Count(sections["Other flags"], "--") > 1 {
				t.Errorf("flags outside the groups:\n%s", sections["Other flags"])
			}
			for _, want := range []string{"Exit codes:\n  0 ", "\n  1 ", "\n  3 ", "\n  130 ", "Needs:\n", "Docker engine"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("help lacks %q:\n%s", want, stdout)
				}
			}
			if cmd.Name() != "replay" && (!strings.Contains(sections["Needs"], "root") || !strings.Contains(stdout, "\n  2 ")) {
				t.Errorf("%s's help must say it needs root and exits 2 on findings:\n%s", cmd.Name(), stdout)
			}
		})
	}
}

// helpSections splits a help text by its headings ("Outputs:").
func helpSections(help string) map[string]string {
	out := map[string]string{}
	cur := ""
	for _, line := range strings.Split(help, "\n") {
		if line != "" && !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(line, ":")
			continue
		}
		out[cur] += line + "\n"
	}
	return out
}

// --measure-capacity is a bench hook: run takes it, its help does not show
// it, and what it says explains it.
func TestBenchHookIsHidden(t *testing.T) {
	cmd := newRunCommand()
	f := cmd.Flags().Lookup("measure-capacity")
	if f == nil || !f.Hidden || !strings.Contains(f.Usage, "fuzz.capacity") {
		t.Fatalf("--measure-capacity: %+v: want a hidden flag whose usage explains it", f)
	}
	stdout, _, err := execCommand(t, cmd, "--help")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout, "measure-capacity") {
		t.Errorf("run's help shows the bench hook:\n%s", stdout)
	}
}

// TestREADMEListsEveryFlag: every flag of run, replay and build is in the
// first column of one of the README's flag tables.
func TestREADMEListsEveryFlag(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	inTable := false
	flagRe := regexp.MustCompile(`(?:^|[\s\x60,(])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b`)
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "| flag |"):
			inTable = true
			continue
		case !strings.HasPrefix(line, "|"):
			inTable = false
			continue
		case !inTable:
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, ""), "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range flagRe.FindAllStringSubmatch(cells[1], -1) {
			listed[m[1]] = true
		}
		// Flags named in a row's meaning count only as that row's aliases
		// ("also on replay"), not as documented: the first column lists them.
	}
	if len(listed) < 20 {
		t.Fatalf("%d flags found in the README's tables: the tables were not found", len(listed))
	}
	for _, cmd := range documentedCommands() {
		eachFlag(cmd, func(f *pflag.Flag) {
			if !listed["--"+f.Name] && (f.Shorthand == "" || !listed["-"+f.Shorthand]) {
				t.Errorf("README's flag tables lack --%s (of %s)", f.Name, cmd.Name())
			}
		})
	}
}
