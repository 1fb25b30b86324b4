package verify

import (
	"slices"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz"
)

// Key locates an answer in a replay: the entry (its index in the replayed
// entries) and the step. Replays are compared by key, never by position: a
// crash noticed one request later, or an entry sent again after a crash,
// shifts every position after it.
type Key struct{ Entry, Step int }

func keyOf(x fuzz.Exchange) Key { return Key{x.Entry, x.Step} }

func (k Key) less(o Key) bool {
	return k.Entry < o.Entry || k.Entry == o.Entry && k.Step < o.Step
}

// index finds a replay's exchanges by key, and the entries in which the
// target crashed (with the reason).
type index struct {
	at      map[Key]int
	crashed map[int]string
}

func indexRun(xs []fuzz.Exchange) index {
	ix := index{at: make(map[Key]int, len(xs)), crashed: map[int]string{}}
	for i, x := range xs {
		ix.at[keyOf(x)] = i
		if x.Crash != "" {
			if _, seen := ix.crashed[x.Entry]; !seen {
				ix.crashed[x.Entry] = x.Crash
			}
		}
	}
	return ix
}

// sameCrash reports whether both replays saw the target die in entry e for
// the same reason. A process that dies just after answering (a goroutine
// panicking once the handler returned) is noticed at this request in one
// run and at the next in another: where exactly is timing, not behaviour.
func sameCrash(a, b index, e int) bool {
	ra, okA := a.crashed[e]
	rb, okB := b.crashed[e]
	return okA && okB && ra == rb
}

// Volatility says, per answer, what changes between replays of the same
// image by itself (timestamps, generated ids): comparisons ignore it.
type Volatility map[Key]corpus.Volatile

// LearnVolatility compares replays of one image on fresh containers and
// returns, per answer of the first, what changed in any of the others. An
// answer another replay never got (it took another path, or died earlier
// in the same entry for the same reason) is volatile entirely.
func LearnVolatility(runs ...[]fuzz.Exchange) Volatility {
	v := Volatility{}
	if len(runs) == 0 {
		return v
	}
	a := runs[0]
	for _, x := range a {
		v[keyOf(x)] = corpus.Volatile{}
	}
	ia := indexRun(a)
	for _, b := range runs[1:] {
		ib := indexRun(b)
		for _, x := range a {
			k := keyOf(x)
			cur := v[k]
			j, ok := ib.at[k]
			switch {
			case !ok || sameCrash(ia, ib, x.Entry) && (x.Response.NoAnswer() || b[j].Response.NoAnswer()):
				cur.Merge(corpus.Volatile{Status: true, Body: true})
			default:
				cur.Merge(corpus.LearnVolatile(x.Response, b[j].Response))
				if (x.Crash == "") != (b[j].Crash == "") {
					cur.Status = true
				}
			}
			v[k] = cur
		}
	}
	return v
}

// Merge widens v with what o found volatile.
func (v Volatility) Merge(o Volatility) {
	for k, x := range o {
		cur := v[k]
		cur.Merge(x)
		v[k] = cur
	}
}

// Fields counts the volatile fields: JSON paths, plus one per answer whose
// whole status or body is volatile.
func (v Volatility) Fields() int {
	n := 0
	for _, x := range v {
		n += len(x.Paths)
		if x.Body || x.Status {
			n++
		}
	}
	return n
}

// Reference is what a replay is compared with: answers recorded before
// (the original image's replay, a previous replay, or the answers stored
// with the corpus) and what in them changes by itself.
type Reference struct {
	Answers  []fuzz.Exchange
	Volatile Volatility
	// CrashesUnknown: the answers were recorded without watching the
	// target (stored while fuzzing), so where it died is not compared, only
	// what it answered.
	CrashesUnknown bool
}

// Match is the verdict on one answer.
type Match string

// Verdicts.
const (
	Identical Match = "identical"
	Differs   Match = "differs"
	// NotSent: the reference has an answer the replay never asked for (it
	// took another path); a difference.
	NotSent Match = "not sent"
	// Unrecorded: the replay got an answer the reference has nothing to
	// compare with (a seed stored without answers, a new entry).
	Unrecorded Match = "unrecorded"
)

// Outcome is the comparison of one answer.
type Outcome struct {
	Key
	Want, Got *fuzz.Exchange // nil on the side that has no answer
	Volatile  corpus.Volatile
	Match     Match
	Reason    string // why it is not identical
}

// Compare lines the replay got up with the reference by entry and step and
// judges every answer of either, in key order. Crash timing is tolerated:
// when both died in the same entry for the same reason, the answers that
// only one side got, or that one side did not get, count as identical.
func (r *Reference) Compare(got []fuzz.Exchange) []Outcome {
	want := r.Answers
	iw, ig := indexRun(want), indexRun(got)
	crashedAlike := func(e int) bool { return !r.CrashesUnknown && sameCrash(iw, ig, e) }
	var out []Outcome
	for i := range want {
		w := &want[i]
		k := keyOf(*w)
		o := Outcome{Key: k, Want: w, Volatile: r.Volatile[k]}
		j, ok := ig.at[k]
		if ok {
			o.Got = &got[j]
		}
		alike := crashedAlike(w.Entry)
		switch {
		case alike && (!ok || w.Response.NoAnswer() || o.Got.Response.NoAnswer()):
			o.Match = Identical // both died in this entry, for the same reason
		case !ok:
			o.Match, o.Reason = NotSent, "not sent: the replay took another path"
		case !r.CrashesUnknown && (w.Crash == "") != (o.Got.Crash == "") && !alike && !o.Volatile.Status:
			o.Match, o.Reason = Differs, "crash behaviour differs"
		default:
			if same, why := corpus.Equivalent(w.Response, o.Got.Response, o.Volatile); same {
				o.Match = Identical
			} else {
				o.Match, o.Reason = Differs, why
			}
		}
		out = append(out, o)
	}
	for i := range got {
		g := &got[i]
		k := keyOf(*g)
		if _, ok := iw.at[k]; ok {
			continue
		}
		o := Outcome{Key: k, Got: g, Volatile: r.Volatile[k], Match: Unrecorded}
		if crashedAlike(g.Entry) && g.Response.NoAnswer() {
			o.Match = Identical // the reference noticed the same crash one request earlier
		}
		out = append(out, o)
	}
	slices.SortStableFunc(out, func(a, b Outcome) int {
		switch {
		case a.Key.less(b.Key):
			return -1
		case b.Key.less(a.Key):
			return 1
		}
		return 0
	})
	return out
}
