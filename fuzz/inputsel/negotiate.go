package inputsel

import (
	"context"
	"strings"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Content negotiation (see gen/negotiate.go): servers build file names from
// the tokens of negotiation headers (a language tag, an extension). A token
// that picked one of several variants in a directory makes the other
// variants worth asking for, and the directory input-selected.

// Negotiated is a selection a negotiation header made, with the values of
// that header that ask for the other variants of its directory.
type Negotiated struct {
	Selection Selection
	Values    []string
}

// ObserveNegotiation correlates the negotiation tokens sent (values of a
// header, with their part) with the files the target newly used. A match
// counts when the directory holds other variants that map back to values
// of the same header (de.json next to fr.json; item.xml next to item.html;
// app.js.br next to app.js.gz): a lone config.json opened while Accept
// asked for JSON is no choice the header made. It records and returns the
// new selections with those values; headers are the ones the request's
// step set (the value sent is not asked for again).
func (c *Correlator) ObserveNegotiation(ctx context.Context, op *spec.Operation, sent []gen.SentValue, newFiles []string, headers map[string]string) []Negotiated {
	var out []Negotiated
	for _, sv := range sent {
		header, ok := gen.NegotiationHeader(sv.Target)
		if !ok || sv.Part == "" {
			continue
		}
		for _, p := range newFiles {
			sel, ok := correlateToken(sv.Value, sv.Part, p)
			if !ok {
				continue
			}
			sel.Operation, sel.Target = op.ID, sv.Target
			if c.hasSelection(sel) {
				continue
			}
			values := c.negotiatedAlternatives(ctx, op, header, sel, headers[header])
			if len(values) == 0 {
				continue
			}
			if sel, ok = c.addSelection(sel); !ok {
				continue
			}
			out = append(out, Negotiated{Selection: sel, Values: values})
		}
	}
	return out
}

// negotiatedAlternatives turns the other names of sel's directory into
// values of header, without the one sent and without repeats (names may
// differ only in spelling: pt_BR, pt-br).
func (c *Correlator) negotiatedAlternatives(ctx context.Context, op *spec.Operation, header string, sel Selection, sent string) []string {
	seen := map[string]bool{strings.ToLower(sent): true}
	if v, ok := gen.NegotiationValue(op, header, sel.Value); ok {
		seen[strings.ToLower(v)] = true
	}
	var out []string
	for _, name := range c.Candidates(ctx, sel) {
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
