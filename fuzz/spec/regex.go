package spec

import (
	"regexp"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

var regexCache sync.Map // string -> *Regex

// Regex is an OpenAPI pattern as Go can run it.
type Regex struct {
	// Re is nil when nothing of the pattern could be compiled.
	Re *regexp.Regexp
	// Exact is false when unsupported syntax (lookarounds, backreferences,
	// possessive quantifiers) had to be dropped: Re then accepts more than the
	// pattern does.
	Exact bool
}

// MatchString reports whether s matches; a pattern that could not be compiled matches everything.
func (r *Regex) MatchString(s string) bool {
	if r.Re == nil {
		return true
	}
	return r.Re.MatchString(s)
}

// ParseRegex compiles an ECMA-262 style pattern for Go, dropping what Go's
// RE2 syntax cannot express. It never fails.
func ParseRegex(expr string) *Regex {
	if v, ok := regexCache.Load(expr); ok {
		return v.(*Regex)
	}
	r := &Regex{}
	goExpr := ToGoSyntax(expr)
	if re, err := regexp.Compile(goExpr); err == nil {
		r.Re, r.Exact = re, true
	} else if re, err := regexp.Compile(StripUnsupported(goExpr)); err == nil {
		r.Re = re
	}
	regexCache.Store(expr, r)
	return r
}

// CompileRegex is an openapi3.RegexCompilerFunc that accepts every pattern.
func CompileRegex(expr string) (openapi3.RegexMatcher, error) {
	return ParseRegex(expr), nil
}

var unicodeEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`)

// ToGoSyntax rewrites ECMA escapes Go spells differently.
func ToGoSyntax(expr string) string {
	expr = unicodeEscape.ReplaceAllString(expr, `\x{$1}`)
	expr = strings.ReplaceAll(expr, `\Z`, `$`)
	expr = strings.ReplaceAll(expr, `(?>`, `(?:`)
	return expr
}

// StripUnsupported removes lookaround groups and backreferences and turns
// possessive quantifiers into greedy ones.
func StripUnsupported(expr string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\\' && i+1 < len(expr):
			if !inClass && expr[i+1] >= '1' && expr[i+1] <= '9' {
				i++ // backreference: drop
				for i+1 < len(expr) && expr[i+1] >= '0' && expr[i+1] <= '9' {
					i++
				}
				continue
			}
			b.WriteByte(c)
			b.WriteByte(expr[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
			if i+1 < len(expr) && expr[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(expr) && expr[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == '(' && isLookaround(expr[i:]):
			i = skipGroup(expr, i)
			// a quantifier on a dropped group goes too
			if i+1 < len(expr) && strings.IndexByte("*+?", expr[i+1]) >= 0 {
				i++
			}
		case (c == '+') && b.Len() > 0 && i > 0 && strings.IndexByte("*+?}", expr[i-1]) >= 0:
			// possessive quantifier: drop the '+'
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isLookaround(s string) bool {
	return strings.HasPrefix(s, "(?=") || strings.HasPrefix(s, "(?!") ||
		strings.HasPrefix(s, "(?<=") || strings.HasPrefix(s, "(?<!")
}

// skipGroup returns the index of the ')' closing the group opened at i.
func skipGroup(expr string, i int) int {
	depth := 0
	inClass := false
	for ; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(expr) - 1
}
