package fuzz

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Content negotiation (see gen/negotiate.go): the fuzzer sends every
// representation an operation declares right after the plan, varies the
// negotiation headers afterwards, and correlates the tokens servers build
// file names from (a language tag, an extension) with the files the target
// then uses, like any other value. A token that picked one of several
// variants in a directory makes the other variants worth asking for, and
// the directory input-selected: rebuild keeps it whole.

// sweepNegotiation sends each operation's successful plan step once more
// for each value of gen.NegotiationSweep, one header at a time; steps that earn
// something new join the corpus (so verification replays them). Deletions
// are left out: the second time they only meet a missing resource.
func (f *Fuzzer) sweepNegotiation(ctx context.Context, planned map[string]Step) {
	r := f.r
	for _, op := range r.spec.Operations {
		st, ok := planned[op.ID]
		if !ok || st.Raw != nil || op.Method == http.MethodDelete || r.ctl.skipped(op.ID) {
			continue
		}
		for _, hv := range gen.NegotiationSweep(op) {
			if !r.budgetLeft(ctx) {
				return
			}
			s := cloneStep(st)
			s.Copies = nil
			s.Input.Headers = map[string]string{hv.Name: hv.Value}
			s.Intent = gen.Intent{Phase: gen.Valid, Kind: "negotiate", Target: headerTarget(hv.Name)}
			res := r.execute(ctx, []Step{s})
			if len(res) == 0 || len(res[0].new) == 0 || res[0].crash != "" {
				continue
			}
			var seq []sentStep
			if len(s.Bound) > 0 {
				seq = r.producersOf(op, s)
			}
			concrete := s
			concrete.Input = res[0].req.Input
			seq = append(seq, sentStep{step: concrete, req: res[0].req.Request, resp: res[0].resp})
			f.join(seq, res[0], nil)
		}
	}
}

func headerTarget(name string) string { return "header." + name }

// observeNegotiation correlates the negotiation tokens req sent with the
// files sig says the target newly used. A match counts when the directory
// holds other variants that map back to values of the same header (de.json
// next to fr.json; item.xml next to item.html; app.js.br next to
// app.js.gz): a lone config.json opened while Accept asked for JSON is no
// choice the header made. Those variants are queued, and the directory is
// recorded as input-selected.
func (r *runner) observeNegotiation(ctx context.Context, op *spec.Operation, st Step, req *gen.Request, sig Signal, n int64) {
	for _, sv := range req.Values {
		header, ok := gen.NegotiationHeader(sv.Target)
		if !ok || sv.Part == "" {
			continue
		}
		for _, p := range sig.NewFiles {
			sel, ok := correlateToken(sv.Value, sv.Part, p)
			if !ok {
				continue
			}
			sel.Operation, sel.Target = op.ID, sv.Target
			if r.files.hasSelection(sel) {
				continue
			}
			values := r.negotiatedAlternatives(ctx, op, header, sel, st.Input.Headers[header])
			if len(values) == 0 {
				continue
			}
			if sel, ok = r.files.addSelection(sel); !ok {
				continue
			}
			r.emit(Event{Kind: EventSelection, Request: n, Operation: op.ID, Selection: &sel})
			r.queueSelectedTries(op, st, sel.Target, values)
		}
	}
}

// negotiatedAlternatives turns the other names of sel's directory into
// values of header, without the one sent and without repeats (names may
// differ only in spelling: pt_BR, pt-br).
func (r *runner) negotiatedAlternatives(ctx context.Context, op *spec.Operation, header string, sel Selection, sent string) []string {
	seen := map[string]bool{strings.ToLower(sent): true}
	if v, ok := gen.NegotiationValue(op, header, sel.Value); ok {
		seen[strings.ToLower(v)] = true
	}
	var out []string
	for _, name := range r.files.Candidates(ctx, sel) {
		v, ok := gen.NegotiationValue(op, header, name)
		if !ok || seen[strings.ToLower(v)] {
			continue
		}
		seen[strings.ToLower(v)] = true
		out = append(out, v)
	}
	return out
}

// correlateToken finds token tok of a negotiated value in p where a server
// puts such a token (see gen.NamePart): an extension in the last
// component, or a tag as a whole component, a stem, a dot-separated part
// or a name's ending after "_" or "-" (messages_fr.json).
func correlateToken(tok string, part gen.NamePart, p string) (Selection, bool) {
	if len(tok) < minCorrelatedLen || strings.ContainsAny(tok, "/\x00") || part != gen.PartExtension && part != gen.PartTag {
		return Selection{}, false
	}
	return matchComponent(tok, p, func(comp string, last bool) int {
		if part == gen.PartExtension && !last {
			return -1 // extensions are the file's own
		}
		for from := 0; ; {
			j := strings.Index(comp[from:], tok)
			if j < 0 {
				return -1
			}
			j += from
			from = j + 1
			if end := j + len(tok); end < len(comp) && comp[end] != '.' {
				continue
			}
			before := byte(0)
			if j > 0 {
				before = comp[j-1]
			}
			if part == gen.PartExtension && before == '.' && j > 1 ||
				part == gen.PartTag && (before == 0 || before == '.' || before == '_' || before == '-') {
				return j
			}
		}
	})
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

// refusedNegotiation reports whether a 406 answer to req is the server's
// right, not to be judged against the spec: it was asked, by a header the
// spec does not declare for op, for something it need not offer (an
// Accept naming no declared media type, an Accept-Language or
// Accept-Encoding it may not have). A 406 the operation documents (by
// that code: a 4XX range is not about negotiation) is judged like any
// other answer.
func refusedNegotiation(op *spec.Operation, req corpus.Request) bool {
	if op.Op != nil && op.Op.Responses.Value(strconv.Itoa(http.StatusNotAcceptable)) != nil {
		return false
	}
	h := http.Header(req.Header)
	for _, name := range gen.Negotiable(op) {
		v := h.Get(name)
		if v == "" {
			continue
		}
		if name == gen.HeaderAccept && !acceptsDeclared(v, op.ResponseMedia) || name != gen.HeaderAccept && refusable(v) {
			return true
		}
	}
	return false
}

// refusable reports whether a server may refuse an Accept-Language or
// Accept-Encoding value: it accepts something (q > 0), and nothing a server
// always has ("*", "identity"). Ranges with q=0 are the client's own
// refusals ("identity;q=0, br" leaves a server without br nothing to send).
func refusable(value string) bool {
	accepted := 0
	for _, p := range gen.Preferences(value) {
		if p.Q <= 0 {
			continue
		}
		if p.Value == "*" || strings.EqualFold(p.Value, "identity") {
			return false
		}
		accepted++
	}
	return accepted > 0
}

// acceptsDeclared reports whether an Accept value admits one of the
// declared media types.
func acceptsDeclared(accept string, declared []string) bool {
	for _, p := range gen.Preferences(accept) {
		if p.Q <= 0 {
			continue
		}
		for _, d := range declared {
			d, _, _ = strings.Cut(d, ";")
			if mediaMatch(strings.ToLower(p.Value), strings.ToLower(strings.TrimSpace(d))) {
				return true
			}
		}
	}
	return false
}

// mediaMatch matches two media types or ranges (either may hold wildcards).
func mediaMatch(a, b string) bool {
	at, as, _ := strings.Cut(a, "/")
	bt, bs, _ := strings.Cut(b, "/")
	typeOK := at == "*" || bt == "*" || at == bt
	subOK := as == "*" || bs == "*" || as == bs
	return typeOK && subOK
}

// contentEncoded reports whether resp's body is compressed (Content-Encoding
// other than identity): the validator would read gzip as broken JSON.
func contentEncoded(resp corpus.Response) bool {
	ce := strings.TrimSpace(http.Header(resp.Header).Get("Content-Encoding"))
	return ce != "" && !strings.EqualFold(ce, "identity")
}
