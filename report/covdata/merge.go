package covdata

import (
	"slices"
	"strings"
)

// Merge joins the coverage of runs of one application (shards of a
// campaign, resumed runs): a function is in the result when it is in any
// of them, hit when any run hit it, in the strongest state any gave it
// (start-up over requests over background), with the earliest first hit
// of that state and its operation; lines hit anywhere are hit, lines
// missed everywhere are missed. Functions omitted from a source stay
// counted in the summaries only when no source lists them; the result is
// bounded again (Bound). Nil sources are skipped; Merge of nothing is nil.
func Merge(sources ...*Coverage) *Coverage {
	var out *Coverage
	index := map[string]int{}
	omitted := 0
	for _, src := range sources {
		if src == nil {
			continue
		}
		if out == nil {
			out = &Coverage{Kind: src.Kind, Started: src.Started}
		} else {
			out.Kind = joinKinds(out.Kind, src.Kind)
			if !src.Started.IsZero() && (out.Started.IsZero() || src.Started.Before(out.Started)) {
				out.Started = src.Started
			}
		}
		omitted = max(omitted, src.Omitted)
		for _, f := range src.Functions {
			k := f.Key()
			i, ok := index[k]
			if !ok {
				index[k] = len(out.Functions)
				f.LinesHit, f.LinesMissed = slices.Clone(f.LinesHit), slices.Clone(f.LinesMissed)
				out.Functions = append(out.Functions, f)
				continue
			}
			mergeFunction(&out.Functions[i], &f)
		}
	}
	if out == nil {
		return nil
	}
	out.Sort()
	out.Summarize()
	if omitted > 0 {
		// Never-hit functions one source left out and no other listed are
		// not known by name: the largest count is the best estimate.
		out.Omitted = omitted
		addOmitted(out, sources)
	}
	out.Bound(0)
	return out
}

// mergeFunction folds g into f.
func mergeFunction(f, g *Function) {
	switch {
	case g.State.rank() > f.State.rank():
		f.State, f.FirstHit, f.Operation = g.State, g.FirstHit, g.Operation
	case g.State.rank() == f.State.rank() && g.State.Hit() && g.FirstHit < f.FirstHit:
		f.FirstHit, f.Operation = g.FirstHit, g.Operation
	}
	if f.EndLine == 0 {
		f.EndLine = g.EndLine
	}
	f.LinesHit = addLines(f.LinesHit, g.LinesHit)
	f.LinesMissed = removeLines(addLines(f.LinesMissed, g.LinesMissed), f.LinesHit)
}

// addOmitted adds the omitted functions to the package summaries of the
// source that omitted most, so that totals stay whole.
func addOmitted(out *Coverage, sources []*Coverage) {
	var most *Coverage
	for _, s := range sources {
		if s != nil && (most == nil || s.Omitted > most.Omitted) {
			most = s
		}
	}
	listed := map[string]int{}
	for i := range most.Functions {
		listed[most.Functions[i].Package]++
	}
	for _, p := range most.Packages {
		missing := p.Functions - listed[p.Package]
		if missing <= 0 {
			continue
		}
		for i := range out.Packages {
			if out.Packages[i].Package == p.Package {
				out.Packages[i].Functions += missing
			}
		}
	}
}

func joinKinds(a, b string) string {
	if b == "" || slices.Contains(strings.Split(a, "+"), b) {
		return a
	}
	if a == "" {
		return b
	}
	return a + "+" + b
}
