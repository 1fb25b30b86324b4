package inputsel

import (
	"slices"
	"strings"
	"unicode"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/internal/imagepath"
)

// nameStem is the value that names entry e: the name up to its first dot
// ("rot_13.cpython-311.pyc" → "rot_13", "index.html.j2" → "index"); "" for
// entries no request would name (dotfiles, caches, package markers,
// metadata).
func nameStem(e string) string {
	if e == "" || strings.HasPrefix(e, ".") || strings.HasSuffix(e, "~") ||
		strings.HasSuffix(e, ".dist-info") || strings.HasSuffix(e, ".egg-info") {
		return ""
	}
	stem, _, _ := strings.Cut(e, ".")
	if stem == "" || (strings.HasPrefix(stem, "__") && strings.HasSuffix(stem, "__")) {
		return "" // __init__, __main__, __pycache__
	}
	return stem
}

// nameVariants are other spellings of s that applications often accept for
// the same name: "-" for "_" and back, lower, upper and title case.
func nameVariants(s string) []string {
	cands := []string{
		strings.ReplaceAll(s, "_", "-"),
		strings.ReplaceAll(s, "-", "_"),
		strings.ToLower(s),
		strings.ToUpper(s),
		titleCase(s),
	}
	var out []string
	for _, c := range cands {
		if c != s && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func titleCase(s string) string {
	r := []rune(strings.ToLower(s))
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

// systemPrefixes, systemDirs and systemMarkers are where interpreters and
// libraries keep their own files: names there are rarely what a request
// selects.
var (
	// Versioned interpreter directories: /usr/lib/python3.11, /usr/lib/ruby/3.1.0.
	systemPrefixes = []string{"/usr/lib/python", "/usr/local/lib/python", "/usr/lib/pypy", "/usr/lib/ruby", "/usr/local/lib/ruby", "/usr/lib/jvm"}
	systemDirs     = []string{
		"/usr/lib/node_modules", "/usr/local/lib/node_modules", "/usr/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu", "/lib", "/lib64", "/usr/lib64", "/usr/libexec", "/usr/share/perl",
		"/usr/share/perl5", "/usr/lib/go", "/usr/local/go", "/usr/share/zoneinfo", "/usr/share/ca-certificates",
		"/etc/ssl", "/usr/lib/ssl", "/usr/lib/locale",
	}
	systemMarkers = []string{"/site-packages", "/dist-packages", "/node_modules", "/gems/", "/vendor/bundle"}
	systemExact   = []string{"/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/local", "/usr/local/lib", "/usr/local/bin", "/usr/share", "/etc", "/var", "/tmp", "/root", "/home"}
)

func systemDir(p string) bool {
	if slices.Contains(systemExact, p) || imagepath.UnderAny(p, systemDirs) {
		return true
	}
	for _, pre := range systemPrefixes {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	for _, m := range systemMarkers {
		if strings.Contains(p+"/", m) {
			return true
		}
	}
	return false
}

// broadDir reports whether p is the root or one of the broad directories
// at the top of the filesystem hierarchy (/usr/share, /etc, /usr/lib):
// keeping one whole keeps most of an image.
func broadDir(p string) bool {
	return p == "/" || slices.Contains(systemExact, p)
}

// nameMatch says how well a parameter's name matches a directory's name:
// 2 when they are the same word (singular or plural, any case or
// separators: "codec" ↔ "codecs", "template_name" ↔ "template-names"), 1
// when one word of each does ("output_format" ↔ "formats"), 0 otherwise.
func nameMatch(param, dir string) int {
	return newNameWords(param).match(newNameWords(dir))
}

// nameWords is a name as nameMatch compares it: normalised, and in words.
type nameWords struct {
	norm  string
	words []string
}

func newNameWords(s string) nameWords {
	return nameWords{norm: gen.NormalizeName(s), words: words(s)}
}

// match is nameMatch(param, dir) for param p and dir d.
func (p nameWords) match(d nameWords) int {
	if p.norm == "" || d.norm == "" {
		return 0
	}
	if samePlural(p.norm, d.norm) {
		return 2
	}
	for _, pw := range p.words {
		for _, dw := range d.words {
			if len(pw) >= 3 && len(dw) >= 3 && samePlural(pw, dw) {
				return 1
			}
		}
	}
	return 0
}

// samePlural reports whether a and b are one word, singular or plural.
func samePlural(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	switch {
	case b == a+"s", b == a+"es":
		return true
	case strings.HasSuffix(a, "y") && b == a[:len(a)-1]+"ies":
		return true
	}
	return false
}

// words splits a name at separators and lower-to-upper case changes
// ("outputFormat" → output, format), lowercased.
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	prevLower := false
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			if prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur = append(cur, r)
			prevLower = true
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	return out
}
