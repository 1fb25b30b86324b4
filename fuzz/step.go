package fuzz

import (
	"slices"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
)

// Step is one request of a sequence, before encoding.
type Step struct {
	Op     string     `json:"op"`
	Input  gen.Input  `json:"input"`
	Intent gen.Intent `json:"intent"`
	// Bound lists parameters that take, at each run, the latest value an
	// earlier answer produced for them (ids of resources created before).
	Bound []string `json:"bound,omitempty"`
	// Copies set parameters to what an earlier step of the same sequence
	// sent (the id a DELETE removed, used again afterwards).
	Copies []Copy `json:"copies,omitempty"`
	// Raw, when set, is sent as it is instead of encoding Input: requests
	// of a corpus whose steps could not be read.
	Raw *corpus.Request `json:"raw,omitempty"`

	// orig is the answer the step got when it was recorded (history), so
	// that a reproduction can map the ids it produced to the new ones.
	orig *recorded
}

// Copy makes parameter Param take the value step Step of the sequence sent
// for its parameter From.
type Copy struct {
	Param string `json:"param"`
	Step  int    `json:"step"`
	From  string `json:"from"`
}

func cloneStep(s Step) Step {
	s.Input = s.Input.Clone()
	s.Bound = slices.Clone(s.Bound)
	s.Copies = slices.Clone(s.Copies)
	if s.Raw != nil {
		raw := cloneRequest(*s.Raw)
		s.Raw = &raw
	}
	return s
}

func cloneSteps(steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		out[i] = cloneStep(s)
	}
	return out
}

func cloneRequest(r corpus.Request) corpus.Request {
	if r.Header != nil {
		h := make(map[string][]string, len(r.Header))
		for k, v := range r.Header {
			h[k] = slices.Clone(v)
		}
		r.Header = h
	}
	r.Body = slices.Clone(r.Body)
	return r
}

// subsequence keeps the steps at the given (increasing) indexes; copies
// from removed steps are dropped (the step then sends its own value),
// the others renumbered.
func subsequence(steps []Step, keep []int) []Step {
	pos := make(map[int]int, len(keep))
	for i, k := range keep {
		pos[k] = i
	}
	out := make([]Step, 0, len(keep))
	for _, k := range keep {
		s := cloneStep(steps[k])
		cs := s.Copies[:0]
		for _, c := range s.Copies {
			if p, ok := pos[c.Step]; ok {
				c.Step = p
				cs = append(cs, c)
			}
		}
		s.Copies = cs
		out = append(out, s)
	}
	return out
}

// sentStep is a step with what it sent and got.
type sentStep struct {
	step Step
	req  corpus.Request
	resp corpus.Response
}
