package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/pipeline"
)

// newCorpusCommand groups the commands that work on corpus directories.
func newCorpusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "corpus",
		Short: "Inspect and merge corpora (the requests whittle keeps, see corpus/FORMAT.md)",
	}
	cmd.AddCommand(newCorpusMergeCommand(), newCorpusInfoCommand())
	return cmd
}

func newCorpusMergeCommand() *cobra.Command {
	var force, asJSON bool
	cmd := &cobra.Command{
		Use:   "merge OUT DIR...",
		Short: "Combine corpora from several runs into OUT, without duplicates",
		Long: "merge adds the entries and findings of every DIR to OUT (created when missing; its own\n" +
			"entries are kept), dropping entries whose content is already there. The spec the corpora\n" +
			"record, their original image and the directories the fuzzer found selected by request\n" +
			"values travel with them: OUT replays (whittle replay) and builds (whittle build) like\n" +
			"each of them. Corpora recorded for different specs, or on different images (the same\n" +
			"Dockerfile built in each job makes another image), are refused unless --force; the\n" +
			"shards of a campaign that are missing are named.",
		Example: "  whittle corpus merge corpus/ shard-1/ shard-2/ shard-3/ shard-4/",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := corpus.Merge(args[0], args[1:], corpus.MergeOptions{Force: force, DescribeSpecs: pipeline.DescribeSpecDifference})
			if res != nil {
				for _, w := range res.Warnings {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w)
				}
			}
			if err != nil {
				return err
			}
			if asJSON {
				return encodeIndented(cmd.OutOrStdout(), res)
			}
			shards := ""
			if len(res.Shards) > 0 {
				shards = fmt.Sprintf(" (shards %s)", strings.Join(res.Shards, ", "))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d corpora%s into %s: %d entries read, %d added, %d duplicates, %d findings added\n",
				res.Sources, shards, args[0], res.Read, res.Added, res.Duplicates, res.Findings)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "merge corpora recorded for different specs or on different images (the first one's stay)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// corpusInfo is what `corpus info` reports.
type corpusInfo struct {
	Dir        string         `json:"dir"`
	Meta       corpus.Meta    `json:"meta"`
	Entries    int            `json:"entries"`
	Requests   int            `json:"requests"`
	Operations map[string]int `json:"operations"`
	Findings   []findingLine  `json:"findings,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
}

type findingLine struct {
	ID        string `json:"id"`
	Operation string `json:"operation"`
	Check     string `json:"check"`
	Signature string `json:"signature"`
}

func newCorpusInfoCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info DIR",
		Short: "Summarise a corpus: its key, entries per operation, findings, damaged files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := corpus.Load(args[0])
			if err != nil {
				return err
			}
			info := corpusInfo{Dir: args[0], Meta: st.Meta(), Operations: map[string]int{}, Warnings: st.Warnings()}
			for _, e := range st.Entries() {
				info.Entries++
				info.Requests += len(e.Requests)
				info.Operations[e.Requests[len(e.Requests)-1].Operation]++
			}
			for _, f := range st.Findings() {
				info.Findings = append(info.Findings, findingLine{ID: f.ID, Operation: f.Operation, Check: f.Check, Signature: f.Signature})
			}
			if asJSON {
				return encodeIndented(cmd.OutOrStdout(), info)
			}
			printCorpusInfo(cmd.OutOrStdout(), info)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	return cmd
}

func printCorpusInfo(w io.Writer, info corpusInfo) {
	m := info.Meta
	fmt.Fprintf(w, "corpus:    %s (format %d)\n", info.Dir, m.Version)
	fmt.Fprintf(w, "spec:      %s\n", m.SpecHash)
	if s := m.Spec; s != nil {
		fmt.Fprintf(w, "           recorded in %s/spec/%s (%d documents), first read from %s\n", info.Dir, s.Root, len(s.Documents), s.Source)
	} else {
		fmt.Fprintln(w, "           (only the hash: replaying needs --spec)")
	}
	if m.ImageID != "" {
		fmt.Fprintf(w, "original:  %s\n", originalImageName(m))
	}
	if len(m.Images) > 1 {
		fmt.Fprintf(w, "images:    %v\n", m.Images)
	}
	if m.Shard != nil {
		fmt.Fprintf(w, "shard:     %s of the campaign with seed %d\n", m.Shard, m.Shard.CampaignSeed)
	}
	if len(m.Sources) > 0 {
		fmt.Fprintf(w, "merged:    %d corpora\n", len(m.Sources))
	}
	if len(m.Selected) > 0 {
		fmt.Fprintf(w, "selected:  %d directories kept whole\n", len(m.Selected))
	}
	fmt.Fprintf(w, "entries:   %d (%d requests)\n", info.Entries, info.Requests)
	ops := make([]string, 0, len(info.Operations))
	for op := range info.Operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Fprintf(w, "  %5d  %s\n", info.Operations[op], op)
	}
	fmt.Fprintf(w, "findings:  %d\n", len(info.Findings))
	for _, f := range info.Findings {
		fmt.Fprintf(w, "  %s  %s  %s  %s\n", f.ID, f.Check, f.Operation, f.Signature)
	}
	for _, x := range info.Warnings {
		fmt.Fprintf(w, "warning:   %s\n", x)
	}
}

func encodeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
