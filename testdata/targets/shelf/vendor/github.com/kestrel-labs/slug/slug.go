// Package slug makes URL-friendly names (a vendored dependency of shelf:
// GOPATH builds compile it as github.com/acme/shelf/vendor/github.com/kestrel-labs/slug).
package slug

import (
	"strings"
	"unicode"
)

// Make lower-cases s and joins its runs of letters and digits with dashes.
func Make(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(unicode.ToLower(r))
			dash = false
		default:
			dash = true
		}
	}
	if b.Len() == 0 {
		return "item"
	}
	return b.String()
}
