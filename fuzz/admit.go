package fuzz

import (
	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/inputsel"
)

// Corpus admission (LibAFL's feedbacks decide it): a sequence joins the
// corpus, cut after its last step that brought something new (the
// novelty and coverage observers' news), unless all it brought are more
// files of a directory kept whole already (floods). The entry it was a
// mutation of is credited, or blamed when the sequence crashed the target.

// maxEntriesPerSelectedDir bounds the corpus entries whose only news are
// files of one input-selected directory (see floods).
const maxEntriesPerSelectedDir = 4

// admit lets seq, which ran with results res, join the corpus; parent is
// the corpus entry it mutated (nil: none).
func (f *Fuzzer) admit(seq []Step, res []record, parent *Entry) {
	if n := len(res); n > 0 && res[n-1].crash != "" && parent != nil {
		f.corpus.blame(parent)
	}
	for i := len(res) - 1; i >= 0; i-- {
		if len(res[i].new) > 0 && res[i].crash == "" {
			if !f.floods(res[i]) {
				f.join(sentSteps(seq, res[:i+1]), res[i])
				if parent != nil {
					f.corpus.credit(parent)
				}
			}
			break
		}
	}
}

// sentSteps pairs the steps of seq that were sent with what they sent and
// got, with the values they were sent with; copies are renumbered.
func sentSteps(seq []Step, res []record) []sentStep {
	keep := make([]int, len(res))
	for i, x := range res {
		keep[i] = x.idx
	}
	steps := subsequence(seq, keep)
	out := make([]sentStep, len(res))
	for i, x := range res {
		steps[i].Input = x.req.Input.Clone()
		out[i] = sentStep{step: steps[i], req: x.req.Request, resp: x.resp}
	}
	return out
}

// stepsOf returns the steps of sent, without their requests and answers.
func stepsOf(sent []sentStep) []Step {
	steps := make([]Step, len(sent))
	for i, s := range sent {
		steps[i] = s.step
	}
	return steps
}

// join adds a sequence whose last step earned something new to the corpus
// (and to the store).
func (f *Fuzzer) join(seq []sentStep, last record) {
	l := f.l
	e := Entry{Reasons: last.new, AddedAt: l.mon.stats.requests.Load()}
	resps := make([]corpus.Response, len(seq))
	for i, s := range seq {
		e.Steps = append(e.Steps, s.step)
		e.Requests = append(e.Requests, s.req)
		resps[i] = s.resp
	}
	e.StoreID = l.persistEntry(e, resps, last.sig)
	f.corpus.add(e)
}

// floods reports whether res, which brought something new, should stay out
// of the corpus: all it brought are files of input-selected directories
// (another module of a plugin package, another template), and such entries
// already number maxEntriesPerSelectedDir for that directory. The directory
// is kept whole anyway; each of its names in the corpus would only make
// mutation and the verifying replay longer.
func (f *Fuzzer) floods(res record) bool {
	sig := res.sig
	if sig.Files == 0 || sig.Syscalls > 0 || len(res.new) != 1 || len(sig.NewFiles) == 0 {
		return false
	}
	selected := f.l.selection.files.Dirs()
	dir := ""
	for _, file := range sig.NewFiles {
		d := inputsel.Containing(selected, file)
		if d == "" {
			return false
		}
		if dir == "" {
			dir = d
		}
	}
	f.perSelectedDir[dir]++
	return f.perSelectedDir[dir] > maxEntriesPerSelectedDir
}
