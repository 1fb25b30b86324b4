package gen

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Content negotiation: servers choose a representation, a message catalog
// or a precompressed file by the Accept, Accept-Language and
// Accept-Encoding headers of a request. Specs list the media types of their
// responses but rarely declare these headers (OpenAPI even says an Accept
// parameter is ignored), so the generator sends them on its own: in
// Input.Headers, kept through mutation, persistence and replay.

// The negotiation headers, by canonical name.
const (
	HeaderAccept         = "Accept"
	HeaderAcceptLanguage = "Accept-Language"
	HeaderAcceptEncoding = "Accept-Encoding"
)

var negotiationHeaders = []string{HeaderAccept, HeaderAcceptLanguage, HeaderAcceptEncoding}

// commonLanguages are tags servers commonly ship catalogs for: plain
// languages, regional variants and scripts.
var commonLanguages = []string{
	"en", "en-US", "en-GB", "de", "de-DE", "de-AT", "de-CH", "fr", "fr-FR", "fr-CA", "fr-CH",
	"es", "es-ES", "es-MX", "es-419", "it", "pt", "pt-BR", "pt-PT", "nl", "sv", "da", "nb", "fi",
	"pl", "cs", "ru", "uk", "tr", "el", "ja", "ko", "zh", "zh-CN", "zh-TW", "zh-Hans", "zh-Hant",
	"ar", "he", "hi", "id", "vi", "th",
}

// commonCodings are the content codings browsers and clients send.
var commonCodings = []string{"gzip", "br", "zstd", "deflate", "identity"}

// commonMedia are representations servers offer whether specs say so or not.
var commonMedia = []string{
	"application/json", "text/html", "application/xml", "text/xml", "text/csv", "text/plain",
	"application/yaml", "text/markdown", "application/pdf", "application/octet-stream",
	"application/problem+json", "application/x-ndjson", "image/png",
}

// extensionMedia maps file extensions to the media type a server serves
// them as, for turning a file a directory holds into an Accept value.
var extensionMedia = map[string]string{
	"html": "text/html", "htm": "text/html", "xhtml": "application/xhtml+xml",
	"xml": "application/xml", "json": "application/json", "csv": "text/csv",
	"tsv": "text/tab-separated-values", "txt": "text/plain", "text": "text/plain",
	"md": "text/markdown", "markdown": "text/markdown", "yaml": "application/yaml",
	"yml": "application/yaml", "pdf": "application/pdf", "js": "text/javascript",
	"css": "text/css", "rss": "application/rss+xml", "atom": "application/atom+xml",
	"ics": "text/calendar", "ndjson": "application/x-ndjson", "svg": "image/svg+xml",
	"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
	"webp": "image/webp", "vcf": "text/vcard", "rtf": "application/rtf",
}

// subtypeExtensions are extensions that are not a media subtype's own name.
var subtypeExtensions = map[string][]string{
	"plain": {"txt", "text"}, "javascript": {"js"}, "ecmascript": {"js"}, "markdown": {"md"},
	"jpeg": {"jpg"}, "octet-stream": {"bin"}, "tab-separated-values": {"tsv"},
	"comma-separated-values": {"csv"}, "calendar": {"ics"}, "vcard": {"vcf"}, "yaml": {"yml"},
}

// codingExtensions are the extensions of precompressed files per coding.
var codingExtensions = map[string]string{"gzip": "gz", "x-gzip": "gz", "br": "br", "zstd": "zst"}

// HeaderValue is a negotiation header with a value.
type HeaderValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// NegotiationHeader returns the header a value target ("header.Accept")
// names when it is a negotiation header.
func NegotiationHeader(target string) (string, bool) {
	name, ok := strings.CutPrefix(target, openapi3.ParameterInHeader+".")
	if !ok {
		return "", false
	}
	name = http.CanonicalHeaderKey(name)
	return name, slices.Contains(negotiationHeaders, name)
}

// Negotiable lists the negotiation headers the generator sets for op: all
// of them but those op declares as header parameters (those are values
// like any other), and always Accept, whose declaration OpenAPI ignores.
func Negotiable(op *spec.Operation) []string {
	var out []string
	for _, h := range negotiationHeaders {
		if h == HeaderAccept || !declaresHeader(op, h) {
			out = append(out, h)
		}
	}
	return out
}

func declaresHeader(op *spec.Operation, name string) bool {
	for _, p := range op.Params {
		if p.In == openapi3.ParameterInHeader && strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return false
}

// NegotiationSweep lists what to send once each for op, one header at a
// time, so that every declared representation is asked for early and not
// by chance: each media type op's responses declare, */*, the type/* of
// each, and the declared types in reverse order as a q-list. Reads (GET)
// also get language tags (a plain one, regional ones, a q-list with
// fallbacks, *) and each common coding.
func NegotiationSweep(op *spec.Operation) []HeaderValue {
	var out []HeaderValue
	add := func(h, v string) {
		hv := HeaderValue{h, v}
		if !slices.Contains(out, hv) {
			out = append(out, hv)
		}
	}
	declared := concreteMedia(op.ResponseMedia)
	for _, ct := range declared {
		add(HeaderAccept, ct)
	}
	if len(op.ResponseMedia) > 0 {
		add(HeaderAccept, "*/*")
		for _, ct := range declared {
			add(HeaderAccept, ct[:strings.IndexByte(ct, '/')]+"/*")
		}
	}
	if len(declared) > 1 {
		rev := slices.Clone(declared)
		slices.Reverse(rev)
		add(HeaderAccept, qList(rev[:min(len(rev), 5)]))
	}
	if op.Method != http.MethodGet {
		return out
	}
	if slices.Contains(Negotiable(op), HeaderAcceptLanguage) {
		for _, v := range []string{"fr-CH, fr;q=0.9, en;q=0.8", "de", "pt-BR", "es-419, es;q=0.9, *;q=0.5", "*"} {
			add(HeaderAcceptLanguage, v)
		}
	}
	if slices.Contains(Negotiable(op), HeaderAcceptEncoding) {
		for _, v := range commonCodings {
			add(HeaderAcceptEncoding, v)
		}
	}
	return out
}

// concreteMedia keeps the media types without wildcards, parameters cut.
func concreteMedia(types []string) []string {
	var out []string
	for _, ct := range types {
		ct, _, _ = strings.Cut(ct, ";")
		ct = strings.TrimSpace(ct)
		if i := strings.IndexByte(ct, '/'); i > 0 && i < len(ct)-1 && !strings.Contains(ct, "*") && !slices.Contains(out, ct) {
			out = append(out, ct)
		}
	}
	return out
}

// qList joins values with falling q-values, the first without one:
// "text/html, application/json;q=0.9".
func qList(values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = v
		if i > 0 {
			parts[i] += ";q=" + strconv.FormatFloat(1-0.1*float64(i), 'f', 1, 64)
		}
	}
	return strings.Join(parts, ", ")
}

// MutateNegotiation changes one negotiation header of a copy of in: a new
// value (one, a list with q-values, a wildcard) or, now and then, none.
func (g *Generator) MutateNegotiation(op *spec.Operation, in Input) (Input, Intent) {
	out := in.Clone()
	hs := Negotiable(op)
	h := hs[g.rng.IntN(len(hs))]
	intent := Intent{Phase: Valid, Kind: "negotiate", Target: openapi3.ParameterInHeader + "." + h}
	if _, set := out.Headers[h]; set && g.rng.IntN(5) == 0 {
		delete(out.Headers, h)
		if len(out.Headers) == 0 {
			out.Headers = nil
		}
		intent.Kind = "drop-negotiation"
		return out, intent
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	out.Headers[h] = g.negotiationValue(op, h)
	return out, intent
}

func (g *Generator) negotiationValue(op *spec.Operation, h string) string {
	pick := func(from []string) string { return from[g.rng.IntN(len(from))] }
	some := func(from []string) []string {
		n := 2 + g.rng.IntN(2)
		var out []string
		for _, i := range g.rng.Perm(len(from)) {
			if len(out) == n {
				break
			}
			out = append(out, from[i])
		}
		return out
	}
	switch h {
	case HeaderAccept:
		declared := concreteMedia(op.ResponseMedia)
		pool := append(slices.Clone(declared), commonMedia...)
		switch x := g.rng.IntN(10); {
		case x < 4 && len(declared) > 0:
			return pick(declared)
		case x < 4:
			return pick(commonMedia)
		case x < 5:
			return "*/*"
		case x < 6:
			ct := pick(pool)
			return ct[:strings.IndexByte(ct, '/')] + "/*"
		case x < 8:
			return qList(some(pool)) + ", */*;q=0.1"
		}
		return pick(commonMedia)
	case HeaderAcceptLanguage:
		switch x := g.rng.IntN(10); {
		case x < 5:
			return pick(commonLanguages)
		case x < 8:
			tags := some(commonLanguages)
			if base, _, regional := strings.Cut(tags[0], "-"); regional {
				tags = slices.Insert(tags, 1, base) // fr-CH, fr;q=0.9, ...
			}
			return qList(tags)
		case x < 9:
			return pick(commonLanguages) + ", *;q=0.5"
		}
		return "*"
	case HeaderAcceptEncoding:
		switch x := g.rng.IntN(10); {
		case x < 5:
			return pick(commonCodings)
		case x < 8:
			return qList(some(commonCodings))
		case x < 9:
			return "*"
		}
		return "identity;q=0, " + pick(commonCodings[:4])
	}
	return ""
}

// negotiationTokens are the parts of file names a server may make of a
// negotiation header's value: a media type's extensions, a language tag
// in the spellings servers use (fr-CH, fr_CH, fr-ch, fr_ch, then fr), a
// coding's precompressed-file extension. Ranges with q=0 are refused by
// the client and give none.
func negotiationTokens(h, value string) []SentValue {
	target := openapi3.ParameterInHeader + "." + h
	var out []SentValue
	add := func(tok string, part NamePart) {
		sv := SentValue{Target: target, Value: tok, Part: part}
		if tok != "" && !slices.Contains(out, sv) {
			out = append(out, sv)
		}
	}
	for _, r := range acceptRanges(value) {
		switch h {
		case HeaderAccept:
			for _, t := range MediaTokens(r) {
				add(t, PartExtension)
			}
		case HeaderAcceptLanguage:
			for _, t := range languageSpellings(r) {
				add(t, PartTag)
			}
		case HeaderAcceptEncoding:
			add(codingExtensions[strings.ToLower(r)], PartExtension)
		}
	}
	return out
}

// Preference is one entry of an Accept-style list.
type Preference struct {
	// Value is the media range, language range or coding, parameters cut.
	Value string
	// Q is the entry's quality, 1 when not given; 0 means "not acceptable".
	Q float64
}

// Preferences parses an Accept, Accept-Language or Accept-Encoding value;
// empty entries are skipped, a malformed q counts as 1.
func Preferences(value string) []Preference {
	var out []Preference
	for _, part := range strings.Split(value, ",") {
		r, params, _ := strings.Cut(part, ";")
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		p := Preference{Value: r, Q: 1}
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					p.Q = q
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// acceptRanges lists the concrete entries of an Accept-style list that the
// client accepts (q > 0): no wildcards.
func acceptRanges(value string) []string {
	var out []string
	for _, p := range Preferences(value) {
		if p.Q > 0 && p.Value != "*" && p.Value != "*/*" {
			out = append(out, p.Value)
		}
	}
	return out
}

// MediaTokens are the file extensions a media type (or range) may be
// stored under: "text/html" → html; "application/vnd.x+json" → json;
// "text/plain" → plain, txt, text; "type/*" → none.
func MediaTokens(mediaType string) []string {
	mediaType, _, _ = strings.Cut(mediaType, ";")
	_, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mediaType)), "/")
	if !ok || sub == "" || strings.Contains(sub, "*") {
		return nil
	}
	var out []string
	add := func(t string) {
		if t != "" && !strings.ContainsAny(t, "./") && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	base, suffix, structured := strings.Cut(sub, "+")
	base = strings.TrimPrefix(base, "x-")
	add(base)
	if structured {
		add(suffix)
	}
	for _, e := range subtypeExtensions[base] {
		add(e)
	}
	return out
}

// languageSpellings are the spellings of a language tag in file names,
// then those of the tags it falls back to: zh-Hant-TW, zh_Hant_TW,
// zh-hant-tw, zh_hant_tw, zh-Hant, ..., zh.
func languageSpellings(tag string) []string {
	if !LanguageTag(tag) {
		return nil
	}
	var out []string
	subtags := strings.Split(tag, "-")
	for n := len(subtags); n >= 1; n-- {
		t := strings.Join(subtags[:n], "-")
		for _, s := range []string{t, strings.ReplaceAll(t, "-", "_"), strings.ToLower(t), strings.ToLower(strings.ReplaceAll(t, "-", "_"))} {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// LanguageTag reports whether s is spelled like a BCP 47 language tag
// (or a POSIX locale name with "_"): a 2- or 3-letter language, then up to
// three subtags of 1 to 8 letters or digits.
func LanguageTag(s string) bool {
	subtags := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' })
	if len(subtags) == 0 || len(subtags) > 4 || len(subtags[0]) < 2 || len(subtags[0]) > 3 || strings.Count(s, "-")+strings.Count(s, "_") != len(subtags)-1 {
		return false
	}
	for i, st := range subtags {
		if len(st) > 8 {
			return false
		}
		for _, r := range st {
			letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
			if !letter && (i == 0 || r < '0' || r > '9') {
				return false
			}
		}
	}
	return true
}

// NegotiationValue turns a name a server derives from a negotiation header
// (found in a directory next to the file a sent value selected) back into a
// value of that header: "de" or "pt_BR" → Accept-Language: de, pt-BR;
// "xml" → Accept: the type op declares with that extension, else the usual
// one (application/xml); "br" → Accept-Encoding: br. ok is false when the
// name is no such token.
func NegotiationValue(op *spec.Operation, header, name string) (string, bool) {
	switch header {
	case HeaderAccept:
		ext := strings.ToLower(name)
		for _, ct := range concreteMedia(op.ResponseMedia) {
			if slices.Contains(MediaTokens(ct), ext) {
				return ct, true
			}
		}
		ct, ok := extensionMedia[ext]
		return ct, ok
	case HeaderAcceptLanguage:
		if !LanguageTag(name) {
			return "", false
		}
		return strings.ReplaceAll(name, "_", "-"), true
	case HeaderAcceptEncoding:
		ext := strings.ToLower(name)
		for _, c := range commonCodings {
			if codingExtensions[c] == ext || c == ext {
				return c, true
			}
		}
	}
	return "", false
}

// appendNegotiated sets the negotiation headers of in that no declared
// parameter already set, and records their tokens as sent values.
func appendNegotiated(header map[string][]string, values []SentValue, in Input) []SentValue {
	names := make([]string, 0, len(in.Headers))
	for k := range in.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := in.Headers[k]
		if v == "" || !validHeaderName(k) {
			continue
		}
		name := http.CanonicalHeaderKey(k)
		if _, set := header[name]; set {
			continue
		}
		header[name] = []string{headerSafe(v)}
		for _, sv := range negotiationTokens(name, v) {
			if len(values) >= maxSentValues {
				break
			}
			values = append(values, sv)
		}
	}
	return values
}
