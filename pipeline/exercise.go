package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/fuzz"
	"github.com/whittle-dev/whittle/report"
)

// sequence is requests that must be replayed in order.
type sequence []corpus.Request

// countingSender counts requests for the progress snapshot.
type countingSender struct {
	s *session
}

func (c countingSender) Send(ctx context.Context, req corpus.Request) corpus.Response {
	c.s.run.ctr.requests.Add(1)
	return c.s.target.Send(ctx, req)
}

// exercise drives the target from its spec and records what it sent.
func (s *session) exercise(ctx context.Context) error {
	r := s.run
	r.startPhase(event.PhaseFuzz, fmt.Sprintf("%d operations, seed %d", len(s.spec.Operations), r.cfg.Seed))
	res, err := fuzz.EachOperationOnce(ctx, s.spec, countingSender{s},
		fuzz.WithSeed(uint64(r.cfg.Seed)), fuzz.WithBaseURL(s.target.BaseURL))
	if err != nil {
		r.endPhase(event.PhaseFuzz, "", err)
		return fmt.Errorf("exercising %s: %w", r.cfg.Image, err)
	}
	var seq sequence
	ops := map[string]*report.Operation{}
	for _, x := range res.Exchanges {
		seq = append(seq, x.Request)
		o := ops[x.Request.Operation]
		if o == nil {
			o = &report.Operation{Operation: x.Request.Operation}
			ops[x.Request.Operation] = o
		}
		o.Requests++
		switch {
		case x.Response.Err != "":
			o.Errors++
		case x.Response.Status >= 500:
			o.Status5xx++
		case x.Response.Status >= 400:
			o.Status4xx++
		case x.Response.Status >= 200 && x.Response.Status < 300:
			o.Status2xx++
		}
	}
	s.corpus = append(s.corpus, seq)
	for _, o := range ops {
		s.rep.Fuzz.Operations = append(s.rep.Fuzz.Operations, *o)
	}
	sort.Slice(s.rep.Fuzz.Operations, func(i, j int) bool {
		return s.rep.Fuzz.Operations[i].Operation < s.rep.Fuzz.Operations[j].Operation
	})
	s.rep.Fuzz.Requests = int64(len(res.Exchanges))
	s.rep.Fuzz.Duration = res.Stats.Elapsed.Seconds()
	s.rep.Fuzz.CorpusSize = len(s.corpus)
	for _, f := range res.Findings {
		s.addFinding(f)
	}
	if len(res.Failed) > 0 {
		r.logf(event.LevelWarn, "no 2xx answer for: %s", strings.Join(res.Failed, ", "))
	}
	r.endPhase(event.PhaseFuzz, fmt.Sprintf("%d requests, %d operations answered 2xx, %d findings",
		len(res.Exchanges), len(res.Succeeded), len(res.Findings)), nil)
	return nil
}

func (s *session) addFinding(f fuzz.Finding) {
	rf := report.Finding{
		ID:        f.ID,
		Operation: f.Operation,
		Check:     string(f.Check),
		Severity:  severityOf(f.Check),
		Summary:   f.Message,
		Curl:      f.Curl,
		Response:  summarize(f.Response),
	}
	if n := len(f.Requests); n > 0 {
		rf.Request = f.Requests[n-1].Method + " " + f.Requests[n-1].Path
	}
	s.rep.Fuzz.Findings = append(s.rep.Fuzz.Findings, rf)
	s.run.ctr.update(func(p *event.Progress) { p.Findings = len(s.rep.Fuzz.Findings) })
	s.run.bus.Publish(event.Finding{Stamp: event.Now(), ID: f.ID, Operation: f.Operation, Check: string(f.Check), Summary: f.Message, Curl: f.Curl})
}

// severityOf grades checks: crashes and server errors are what users act on first.
func severityOf(c fuzz.Check) string {
	switch c {
	case "crash":
		return "critical"
	case fuzz.CheckServerError:
		return "high"
	case fuzz.CheckTimeout, fuzz.CheckTransport:
		return "medium"
	default:
		return "low"
	}
}
