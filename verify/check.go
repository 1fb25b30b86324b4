package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Check replays stored corpus entries against an image (`whittle replay`)
// and compares the answers with the ones stored with the entries, or with
// a previous check's report (the baseline).
type Check struct {
	Entries []corpus.Entry
	// Start starts a fresh container of the image.
	Start StartFunc
	// Spec returns the spec to replay with. It is called once, with the
	// first container answering on baseURL (a spec discovered there).
	Spec func(ctx context.Context, baseURL string) (*spec.Spec, error)
	// Runs is the number of replays, each on fresh containers; the first
	// one's answers are compared, and with 2 or more what changes between
	// them by itself (timestamps, generated ids) is ignored.
	Runs int
	// Baseline is a previous check's report to compare with instead of
	// the stored answers.
	Baseline *Report
	// Reference, when set, starts containers of the image whose answers
	// are the reference (the original the corpus was recorded on): the
	// entries are replayed Runs times on it too, like for like, and what
	// changes between its replays is ignored. It is used instead of the
	// stored answers when no Baseline is given.
	Reference StartFunc
	// ReferenceName names the reference's containers in messages.
	ReferenceName string
	// OnRun is told when each replay starts (1-based); reference is set
	// for the replays of the Reference image.
	OnRun func(run, runs int, baseURL string, reference bool)
	// Options configure each replay's target.
	Options []Option
}

// Report is a check's result, the -o file of `whittle replay` (which
// --baseline reads back). The command fills in what it knows of the corpus
// and image.
type Report struct {
	Corpus   string `json:"corpus"`
	Image    string `json:"image"`
	ImageID  string `json:"image_id"`
	SpecHash string `json:"spec_hash"`
	Runs     int    `json:"runs"`
	// Against is what the answers were compared with: "original" (the
	// reference image replayed now, Reference naming it), "corpus" (the
	// answers stored while fuzzing) or the baseline file.
	Against   string `json:"against"`
	Reference string `json:"reference,omitempty"`
	// ReferenceID is the reference image's id.
	ReferenceID string   `json:"reference_id,omitempty"`
	Summary     Summary  `json:"summary"`
	Answers     []Answer `json:"answers"`
	Warnings    []string `json:"warnings,omitempty"`
}

// Summary counts a check's answers.
type Summary struct {
	Requests   int `json:"requests"` // sent by the compared replay
	Identical  int `json:"identical"`
	Differ     int `json:"differ"`
	NotSent    int `json:"not_sent,omitempty"` // compared-with answers the replay never asked for
	Unrecorded int `json:"unrecorded"`
	Crashes    int `json:"crashes"`
}

// Answer is one answer of the compared replay (or, when Match is "not
// sent", one the reference has and the replay never asked for).
type Answer struct {
	EntryID  string          `json:"entry_id"`
	Entry    int             `json:"entry"`
	Step     int             `json:"step"`
	Request  corpus.Request  `json:"request"`
	Response corpus.Response `json:"response"`
	Crash    string          `json:"crash,omitempty"`
	Volatile corpus.Volatile `json:"volatile"`
	// Match is "identical", "differs", "not sent" or "unrecorded" (nothing
	// to compare with).
	Match  Match  `json:"match"`
	Reason string `json:"reason,omitempty"`
}

// Differences counts the answers that are not as the reference's.
func (r *Report) Differences() int { return r.Summary.Differ + r.Summary.NotSent }

// Run replays the entries Runs times and compares. The report's warnings
// name entries whose steps could not be read (replayed from their
// recorded requests).
func (c *Check) Run(ctx context.Context) (*Report, error) {
	if c.Runs < 1 {
		return nil, fmt.Errorf("%d replays: at least one is needed", c.Runs)
	}
	if len(c.Entries) == 0 {
		return nil, errors.New("no corpus entries to replay")
	}
	es, warns := fuzz.EntriesFromCorpus(c.Entries)
	var sp *spec.Spec
	var refRuns [][]fuzz.Exchange
	if c.Reference != nil && c.Baseline == nil {
		for i := range c.Runs {
			x, err := c.replay(ctx, c.Reference, i, true, &sp, es)
			if err != nil {
				return nil, fmt.Errorf("replaying on the reference image: %w", err)
			}
			refRuns = append(refRuns, x)
		}
	}
	var runs [][]fuzz.Exchange
	for i := range c.Runs {
		x, err := c.replay(ctx, c.Start, i, false, &sp, es)
		if err != nil {
			return nil, err
		}
		runs = append(runs, x)
	}
	var ref *Reference
	if refRuns != nil {
		ref = &Reference{Answers: refRuns[0], Volatile: LearnVolatility(refRuns...)}
	} else {
		ref = c.reference(es)
	}
	ref.Volatile.Merge(LearnVolatility(runs...))
	rep := &Report{SpecHash: sp.Hash, Runs: c.Runs, Warnings: warns}
	rep.Summary.Requests = len(runs[0])
	for _, x := range runs[0] {
		if x.Crash != "" {
			rep.Summary.Crashes++
		}
	}
	for _, o := range ref.Compare(runs[0]) {
		a := Answer{Entry: o.Entry, Step: o.Step, EntryID: es[o.Entry].StoreID, Volatile: o.Volatile, Match: o.Match, Reason: o.Reason}
		x := o.Got
		if x == nil {
			x = o.Want
			a.Request = x.Request
		} else {
			a.Request, a.Response, a.Crash = x.Request, x.Response, x.Crash
		}
		switch o.Match {
		case Identical:
			rep.Summary.Identical++
		case Differs:
			rep.Summary.Differ++
		case NotSent:
			rep.Summary.NotSent++
		case Unrecorded:
			rep.Summary.Unrecorded++
		}
		rep.Answers = append(rep.Answers, a)
	}
	return rep, nil
}

// replay runs the entries once on a fresh target of start; the first run
// loads the spec once its container answers.
func (c *Check) replay(ctx context.Context, start StartFunc, i int, reference bool, sp **spec.Spec, es []fuzz.Entry) ([]fuzz.Exchange, error) {
	opts := c.Options
	if reference && c.ReferenceName != "" {
		opts = append(slices.Clone(opts), WithName(c.ReferenceName))
	}
	t := NewTarget(start, opts...)
	defer t.Close(ctx)
	if err := t.Start(ctx); err != nil {
		return nil, err
	}
	if *sp == nil {
		s, err := c.Spec(ctx, t.BaseURL())
		if err != nil {
			return nil, err
		}
		*sp = s
	}
	if c.OnRun != nil {
		c.OnRun(i+1, c.Runs, t.BaseURL(), reference)
	}
	return ReplayOn(ctx, *sp, t, es)
}

// reference is what the replay is compared with: the baseline's answers
// (crashes included) or those stored with the entries (no crash is known
// there: the fuzzer stored answers, not where the target died).
func (c *Check) reference(es []fuzz.Entry) *Reference {
	at := make(map[string]int, len(es))
	for i, e := range es {
		at[e.StoreID] = i
	}
	ref := &Reference{Volatile: Volatility{}}
	if b := c.Baseline; b != nil {
		for _, a := range b.Answers {
			i, ok := at[a.EntryID]
			if !ok || a.Match == NotSent {
				continue // an entry the corpus no longer holds, or no answer then
			}
			ref.Answers = append(ref.Answers, fuzz.Exchange{Entry: i, Step: a.Step, Request: a.Request, Response: a.Response, Crash: a.Crash})
			ref.Volatile[Key{i, a.Step}] = a.Volatile
		}
		return ref
	}
	ref.CrashesUnknown = true
	byID := make(map[string]corpus.Entry, len(c.Entries))
	for _, ce := range c.Entries {
		byID[ce.ID] = ce
	}
	for i, e := range es {
		ce := byID[e.StoreID]
		for s, resp := range ce.Responses {
			x := fuzz.Exchange{Entry: i, Step: s, Response: resp}
			if s < len(ce.Requests) {
				x.Request = ce.Requests[s]
			}
			ref.Answers = append(ref.Answers, x)
		}
	}
	return ref
}
