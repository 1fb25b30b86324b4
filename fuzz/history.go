package fuzz

import "github.com/whittle-dev/whittle/corpus"

// history is what the target was sent since it last (re)started, for crash
// reproducers: concrete steps (with the values sent) and their requests.
// Of the answers it keeps no header and no body (a target chooses their
// size: up to the answer caps, a megabyte or two a step), only the status
// and the ids they produced (see recorded).
type history struct {
	// produce takes from an answer to op the values later steps are
	// bound to (links.Produced); nil keeps none.
	produce func(op string, resp corpus.Response) map[string][]any

	steps  []Step
	reqs   []corpus.Request
	starts []int // index of the first step of each sequence
	// gone counts the steps forgotten so far: a step's absolute number
	// (what add returns) minus gone is its index in steps.
	gone int
}

// maxHistory bounds the steps kept; older ones are dropped.
const maxHistory = 1024

// recorded is what the history keeps of a step's answer: its status and
// the values its bindings took from it, so that a reproduction can map the
// ids it produced to the new ones (renames).
type recorded struct {
	status   int
	produced map[string][]any
}

// fresh is an empty history that records as h does.
func (h *history) fresh() history { return history{produce: h.produce} }

func (h *history) reset() {
	h.gone += len(h.steps)
	h.steps, h.reqs, h.starts = nil, nil, nil
}

func (h *history) startSequence() { h.starts = append(h.starts, len(h.steps)) }

// add records a sent step and its answer and returns its absolute number;
// local maps the sequence's step indexes to those numbers (-1: not sent) so
// that its copies can be rebased.
func (h *history) add(st Step, req corpus.Request, resp corpus.Response, local []int) int {
	s := cloneStep(st)
	s.orig = &recorded{status: resp.Status}
	if is2xx(resp.Status) && h.produce != nil {
		s.orig.produced = h.produce(st.Op, resp)
	}
	cs := s.Copies[:0]
	for _, c := range s.Copies {
		if c.Step < 0 || c.Step >= len(local) || local[c.Step] < 0 {
			continue
		}
		if i := local[c.Step] - h.gone; i >= 0 && i < len(h.steps) {
			c.Step = i
			cs = append(cs, c)
		}
	}
	s.Copies = cs
	h.steps = append(h.steps, s)
	h.reqs = append(h.reqs, req)
	n := h.gone + len(h.steps) - 1
	if len(h.steps) > maxHistory {
		h.drop(maxHistory / 4)
	}
	return n
}

// drop forgets the n oldest steps (in place: the history owns its steps).
func (h *history) drop(n int) {
	rest := h.steps[n:]
	for i := range rest {
		cs := rest[i].Copies[:0]
		for _, c := range rest[i].Copies {
			if c.Step -= n; c.Step >= 0 {
				cs = append(cs, c)
			}
		}
		rest[i].Copies = cs
	}
	h.steps = append(h.steps[:0:0], rest...)
	h.reqs = append(h.reqs[:0:0], h.reqs[n:]...)
	h.gone += n
	starts := h.starts[:0]
	for _, s := range h.starts {
		if s-n >= 0 {
			starts = append(starts, s-n)
		}
	}
	h.starts = starts
}

// tail returns the steps of the last k sequences (k ≤ 0: all).
func (h *history) tail(k int) []Step {
	from := 0
	if k > 0 && k <= len(h.starts) {
		from = h.starts[len(h.starts)-k]
	}
	return subsequence(h.steps, seqRange(from, len(h.steps)))
}

func (h *history) sequences() int { return len(h.starts) }

func seqRange(from, to int) []int {
	out := make([]int, 0, max(0, to-from))
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
