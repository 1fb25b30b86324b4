package oracle

import (
	"sort"
	"strings"

	"github.com/whittle-dev/whittle/corpus"
)

// Curl renders req as a curl command line against base.
func Curl(base string, req corpus.Request) string {
	var b strings.Builder
	b.WriteString("curl -sS -i")
	if req.Method != "GET" || len(req.Body) > 0 {
		b.WriteString(" -X ")
		b.WriteString(shellQuote(req.Method))
	}
	url := strings.TrimRight(base, "/") + req.Path
	if !strings.HasPrefix(req.Path, "/") {
		url = strings.TrimRight(base, "/") + "/" + req.Path
	}
	b.WriteString(" --globoff ")
	b.WriteString(shellQuote(url))
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			b.WriteString(" -H ")
			b.WriteString(shellQuote(k + ": " + v))
		}
	}
	if len(req.Body) > 0 {
		b.WriteString(" --data-binary ")
		b.WriteString(shellQuote(string(req.Body)))
	}
	return b.String()
}

// CurlSequence renders a sequence of requests, one command per line.
func CurlSequence(base string, reqs []corpus.Request) string {
	lines := make([]string, len(reqs))
	for i, r := range reqs {
		lines[i] = Curl(base, r)
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes s for POSIX shells, using bash's $'...' when s holds
// bytes that single quotes cannot carry readably.
func shellQuote(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				const hex = "0123456789abcdef"
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteString("'")
	return b.String()
}
