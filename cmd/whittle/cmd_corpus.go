package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/corpus"
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
			"entries are kept), dropping entries whose content is already there. Corpora recorded\n" +
			"for different specs are refused unless --force; different images are allowed.",
		Example: "  whittle corpus merge all/ ci-job-1/corpus ci-job-2/corpus",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := corpus.Merge(args[0], args[1:], corpus.MergeOptions{Force: force})
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
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d corpora into %s: %d entries read, %d added, %d duplicates, %d findings added\n",
				res.Sources, args[0], res.Read, res.Added, res.Duplicates, res.Findings)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "merge corpora recorded for different specs")
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
	if len(m.Images) > 0 {
		fmt.Fprintf(w, "images:    %v\n", m.Images)
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
