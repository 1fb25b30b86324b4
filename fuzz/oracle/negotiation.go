package oracle

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

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
