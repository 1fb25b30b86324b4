package fuzz

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/oracle"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Minimisation shrinks a finding's sequence to one that still triggers the
// same check and signature, by delta debugging over its steps (Zeller's
// ddmin, complements only: the result is 1-minimal when the budget allows).
//
// A crash is reproduced on a fresh target per attempt (TargetHealth.Restart):
// the candidate runs from a clean start, and the crash must follow. Other
// findings are reproduced on the running target, but a candidate only
// counts when every bound or copied parameter found its value within the
// candidate, so that the result does not rely on what the running target
// already holds; without TargetHealth, sequences of more than one step are
// not minimised (an attempt could crash the target with no way back).

const (
	defaultMinimizeRequests = 1000
	defaultMinimizeRestarts = 24
	// maxCrashCandidate bounds the steps of history a crash is looked for in.
	maxCrashCandidate = 64
)

// minimizer reproduces one finding.
type minimizer struct {
	l        *loop
	check    oracle.Check
	sig      string
	op       string // for oracle findings: the operation whose answer must violate
	fresh    bool   // restart before each attempt (crashes)
	requests int    // budget left
	restarts int
	dirty    bool // the target served an attempt since its last restart
	lost     error

	// what the last successful attempt sent and got
	reqs []corpus.Request
	resp corpus.Response
	used int // steps of the candidate up to the trigger
}

func (l *loop) newMinimizer(check oracle.Check, sig, op string) *minimizer {
	return &minimizer{l: l, check: check, sig: sig, op: op, fresh: check == oracle.CheckCrash || l.cfg.freshMinimize,
		requests: l.cfg.minRequests, restarts: l.cfg.minRestarts}
}

func (m *minimizer) budgetLeft(ctx context.Context) bool {
	return m.lost == nil && ctx.Err() == nil && m.requests > 0 && (!m.fresh || m.restarts > 0) && !m.l.ctl.isStopped()
}

// try runs a candidate and reports whether it triggers the finding.
func (m *minimizer) try(ctx context.Context, steps []Step) bool {
	l := m.l
	if len(steps) == 0 || !m.budgetLeft(ctx) {
		return false
	}
	if m.fresh && m.dirty {
		m.restarts--
		if err := l.restart(ctx, "minimising "+string(m.check)+" "+m.sig); err != nil {
			m.lost = err
			return false
		}
	}
	m.dirty = true
	x := newExecutor(l.spec, l.links, l.gen, l.exec.send)
	sent := make([]*gen.Input, len(steps))
	rn := renames{}
	var reqs []corpus.Request
	for i, st := range steps {
		if m.requests <= 0 || ctx.Err() != nil {
			return false
		}
		p, ok := x.prepare(rn.apply(l.links, l.spec, cloneStep(st)), sent)
		if !ok {
			continue
		}
		if p.unbound && !m.fresh {
			return false // would rely on the running target's state
		}
		m.requests--
		l.mon.stats.minimizeRequest()
		resp := x.deliver(ctx, p.req.Request)
		if ctx.Err() != nil && resp.Status == 0 {
			return false
		}
		l.coverage.drain(ctx)
		reqs = append(reqs, p.req.Request)
		sent[i] = &p.req.Input
		x.learn(p.op, p.req, resp)
		rn.learn(l.links, l.spec, p.op, st.orig, resp)
		if dead, why := crashed(ctx, l.cfg.target, resp, l.cfg.crashGrace); dead {
			if m.check == oracle.CheckCrash && why == m.sig {
				m.keep(reqs, resp, i+1)
				return true
			}
			m.recover(ctx)
			return false
		}
		if m.check != oracle.CheckCrash && p.op != nil && p.op.ID == m.op {
			for _, v := range l.oracle.Check(ctx, p.req.Request, p.req.Intent, resp) {
				if v.Check == m.check && v.Signature == m.sig {
					m.keep(reqs, resp, i+1)
					return true
				}
			}
		}
	}
	if m.check == oracle.CheckCrash && len(reqs) > 0 {
		// The crash may follow the last answer (a goroutine dying after it).
		if dead, why := l.checkAlive(ctx); dead {
			if why == m.sig {
				m.keep(reqs, corpus.Response{Err: "target crashed: " + why}, len(steps))
				return true
			}
			m.recover(ctx)
		}
	}
	return false
}

func (m *minimizer) keep(reqs []corpus.Request, resp corpus.Response, used int) {
	m.reqs, m.resp, m.used = reqs, resp, used
}

// recover restarts a target an attempt crashed in another way.
func (m *minimizer) recover(ctx context.Context) {
	if m.l.cfg.target == nil {
		return
	}
	if m.fresh {
		m.restarts--
	}
	if err := m.l.restart(ctx, "crashed while minimising"); err != nil {
		m.lost = err
	}
	m.dirty = false
}

// ddmin shrinks steps, which must already reproduce (m holds what they
// sent): delta debugging over chunks while the sequence is long, then one
// pass that tries to drop each remaining step.
func (m *minimizer) ddmin(ctx context.Context, steps []Step) []Step {
	steps = steps[:m.used]
	drop := func(from, to int) bool {
		keep := make([]int, 0, len(steps))
		for i := range steps {
			if i < from || i >= to {
				keep = append(keep, i)
			}
		}
		cand := subsequence(steps, keep)
		if m.try(ctx, cand) {
			steps = cand[:m.used]
			return true
		}
		return false
	}
	n := 2
	for len(steps) > linearBelow && m.budgetLeft(ctx) {
		reduced := false
		for _, c := range split(len(steps), n) {
			if drop(c[0], c[1]) {
				n = max(n-1, 2)
				reduced = true
				break
			}
		}
		if !reduced {
			if n >= len(steps) {
				return steps
			}
			n = min(2*n, len(steps))
		}
	}
	for i := 0; i < len(steps) && len(steps) > 1 && m.budgetLeft(ctx); {
		if !drop(i, i+1) {
			i++
		}
	}
	return steps
}

// linearBelow is the length under which steps are dropped one at a time.
const linearBelow = 10

// split cuts [0,n) into k nearly equal ranges.
func split(n, k int) [][2]int {
	k = min(k, n)
	out := make([][2]int, 0, k)
	start := 0
	for i := 0; i < k; i++ {
		size := (n - start) / (k - i)
		out = append(out, [2]int{start, start + size})
		start += size
	}
	return out
}

// minimizeCrash looks for a part of the history since the last restart that
// reproduces the crash on a fresh target, cheapest guesses first: the
// suspects (the sequences of the workers left unanswered); the last
// sequence; the steps that touched the resources it addressed (created,
// changed or deleted them: a slice by id); the same for the last two
// sequences; then ever longer suffixes. It shrinks the first that does. It
// returns false when nothing reproduced within the budget; f is then left
// as recorded (the history since the last restart).
func (l *loop) minimizeCrash(ctx context.Context, f *Finding, h *history, suspects [][]Step) bool {
	m := l.newMinimizer(oracle.CheckCrash, f.Signature, "")
	all := h.tail(0)
	var cands [][]Step
	// Several workers' sequences interleave in the history: each suspect's
	// own sequence, alone, comes first (short, so cheap to shrink). The
	// tries of those that did not do it are the price of concurrency, not
	// taken from what shrinking the one that did may spend.
	if len(suspects) > 1 && m.restarts > 0 {
		m.restarts += len(suspects) - 1
	}
	for _, seq := range suspects {
		if len(seq) > 0 && len(seq) <= maxCrashCandidate {
			cands = append(cands, seq)
		}
	}
	seen := map[string]bool{}
	add := func(keep []int) {
		if len(keep) > maxCrashCandidate {
			keep = keep[len(keep)-maxCrashCandidate:]
		}
		k := fmt.Sprint(keep)
		if len(keep) > 0 && !seen[k] {
			seen[k] = true
			cands = append(cands, subsequence(all, keep))
		}
	}
	last1 := len(h.tail(1))
	last2 := len(h.tail(2))
	add(seqRange(len(all)-last1, len(all)))
	add(l.resourceSlice(all, len(all)-last1))
	add(l.resourceSlice(all, len(all)-last2))
	for n := 2; ; n *= 2 {
		n = min(n, len(all), maxCrashCandidate)
		add(seqRange(len(all)-n, len(all)))
		if n == len(all) || n == maxCrashCandidate {
			break
		}
	}
	// The caller restarted the target: the first attempt runs on a fresh one.
	var found []Step
	for _, cand := range cands {
		if !m.budgetLeft(ctx) {
			break
		}
		if m.try(ctx, cand) {
			found = cand
			break
		}
	}
	ok := found != nil
	if ok {
		min := m.ddmin(ctx, found)
		f.Steps, f.Requests, f.Response = min, m.reqs, m.resp
		if len(m.reqs) > 0 {
			f.Operation = m.reqs[len(m.reqs)-1].Operation
		}
		f.Minimized = true
	}
	// Leave a live target behind for the loop.
	if m.lost == nil && l.cfg.target != nil {
		if dead, _ := l.cfg.target.Crashed(); dead {
			if err := l.restart(ctx, "crashed while minimising"); err != nil {
				m.lost = err
			}
		}
	}
	if m.lost != nil && l.instance.lost == nil {
		l.instance.lost = m.lost
	}
	l.exec.values.Reset()
	return ok
}

// resourceSlice returns the indexes of the steps from 'from' on, and of the
// earlier steps that sent or produced one of the ids those steps sent.
func (l *loop) resourceSlice(steps []Step, from int) []int {
	ids := map[string]bool{}
	for _, st := range steps[from:] {
		for _, v := range l.idValues(st) {
			ids[v] = true
		}
	}
	var keep []int
	for i, st := range steps {
		in := i >= from
		for _, v := range append(l.idValues(st), l.producedValues(st)...) {
			in = in || ids[v]
		}
		if in {
			keep = append(keep, i)
		}
	}
	return keep
}

// idValues are the values st sends for its path parameters and for the
// parameters links feed.
func (l *loop) idValues(st Step) []string {
	op := l.spec.Operation(st.Op)
	if op == nil || st.Raw != nil {
		return nil
	}
	linked := map[string]bool{}
	for _, b := range l.links.For(op.ID) {
		linked[b.Param] = true
	}
	var out []string
	for _, p := range op.Params {
		if p.In != openapi3.ParameterInPath && !linked[p.Key()] {
			continue
		}
		if pv, ok := st.Input.Param(p.Key()); ok && pv.Set {
			if v := gen.Scalar(pv.Value); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// producedValues are the ids st's recorded answer gave for later steps.
func (l *loop) producedValues(st Step) []string {
	if st.orig == nil || !is2xx(st.orig.status) {
		return nil
	}
	var out []string
	for _, list := range st.orig.produced {
		for _, v := range list {
			out = append(out, gen.Scalar(v))
		}
	}
	return out
}

// minimizeFinding shrinks the sequence of an oracle finding (not a crash),
// then drops the optional parameters and negotiation headers of its last
// step that do not matter.
// With withFreshMinimization every attempt runs on a fresh target, as for
// crashes; otherwise on the running one.
func (l *loop) minimizeFinding(ctx context.Context, f *Finding, steps []Step) {
	if l.cfg.minRequests <= 0 || l.cfg.target == nil && len(steps) > 1 {
		return
	}
	m := l.newMinimizer(f.Check, f.Signature, f.Operation)
	if m.fresh && l.cfg.target == nil {
		m.fresh = false
	}
	if m.fresh {
		m.dirty = true // the running target holds the state that led here
	}
	defer func() {
		if m.lost != nil && l.instance.lost == nil {
			l.instance.lost = m.lost
		}
		if m.fresh {
			l.exec.values.Reset()
		}
	}()
	if !m.try(ctx, steps) {
		return
	}
	min := m.ddmin(ctx, steps)
	min = m.dropParams(ctx, min)
	f.Steps, f.Requests, f.Response = min, m.reqs, m.resp
	f.Minimized = true
}

// dropParams unsets, one at a time, the optional parameters of the last
// step, keeping each removal that still reproduces.
func (m *minimizer) dropParams(ctx context.Context, steps []Step) []Step {
	last := len(steps) - 1
	op := m.l.spec.Operation(steps[last].Op)
	if op == nil || steps[last].Raw != nil {
		return steps
	}
	for _, p := range op.Params {
		if p.Required || !m.budgetLeft(ctx) {
			continue
		}
		pv, ok := steps[last].Input.Param(p.Key())
		if !ok || !pv.Set {
			continue
		}
		cand := cloneSteps(steps)
		cp, _ := cand[last].Input.Param(p.Key())
		cp.Set, cp.Value = false, nil
		cand[last].Bound = slices.DeleteFunc(cand[last].Bound, func(b string) bool { return b == p.Key() })
		cand[last].Copies = slices.DeleteFunc(cand[last].Copies, func(c Copy) bool { return c.Param == p.Key() })
		if m.try(ctx, cand) && m.used == len(cand) {
			steps = cand
		}
	}
	steps = m.dropNegotiation(ctx, steps)
	if len(m.reqs) != len(steps) {
		m.try(ctx, steps) // leave m with what the result sends
	}
	return steps
}

// dropNegotiation removes, one at a time, the negotiation headers of the
// last step that the finding does not need, so that a reproducer carries
// an Accept only when the answer depends on it.
func (m *minimizer) dropNegotiation(ctx context.Context, steps []Step) []Step {
	last := len(steps) - 1
	if steps[last].Raw != nil {
		return steps
	}
	names := slices.Sorted(maps.Keys(steps[last].Input.Headers))
	for _, h := range names {
		if !m.budgetLeft(ctx) {
			break
		}
		cand := cloneSteps(steps)
		delete(cand[last].Input.Headers, h)
		if m.try(ctx, cand) && m.used == len(cand) {
			steps = cand
		}
	}
	return steps
}

// renames maps ids the recorded run got to those a reproduction gets: when a
// step produced pet 57 then and pet 1 now, later steps send 1 where they
// sent 57. Only path parameters and parameters fed by links are renamed.
type renames map[string]any

// learn pairs the values the bindings of op take from the recorded answer
// and from the new one.
func (rn renames) learn(l *links.Links, sp *spec.Spec, op *spec.Operation, orig *recorded, now corpus.Response) {
	if op == nil || orig == nil || !is2xx(orig.status) || !is2xx(now.Status) {
		return
	}
	was := orig.produced
	got := links.Produced(sp, l, op, now)
	for k, old := range was {
		cur := got[k]
		for i := 0; i < len(old) && i < len(cur); i++ {
			if a, b := gen.Scalar(old[i]), gen.Scalar(cur[i]); a != b && a != "" {
				rn[a] = cur[i]
			}
		}
	}
}

// apply renames the values of st's id-like parameters.
func (rn renames) apply(l *links.Links, sp *spec.Spec, st Step) Step {
	if len(rn) == 0 || st.Raw != nil {
		return st
	}
	op := sp.Operation(st.Op)
	if op == nil {
		return st
	}
	linked := map[string]bool{}
	for _, b := range l.For(op.ID) {
		linked[b.Param] = true
	}
	for _, p := range op.Params {
		if p.In != openapi3.ParameterInPath && !linked[p.Key()] {
			continue
		}
		pv, ok := st.Input.Param(p.Key())
		if !ok || !pv.Set {
			continue
		}
		if v, ok := rn[gen.Scalar(pv.Value)]; ok {
			pv.Value = v
		}
	}
	return st
}

func is2xx(status int) bool { return status >= 200 && status < 300 }
