package gen

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
)

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"

// epoch anchors generated dates so that they do not depend on the clock.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (g *Generator) plainString(minLen, maxLen int) string {
	minLen, maxLen = min(minLen, limits.GenLength.Int()), min(maxLen, limits.GenLength.Int())
	if maxLen < minLen {
		maxLen = minLen
	}
	n := minLen + g.rng.IntN(maxLen-minLen+1)
	// Long strings cost steps too: a value's steps bound its size.
	if !g.spend(n / bytesPerStep) {
		return ""
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[g.rng.IntN(len(alnum))]
	}
	return string(b)
}

// lengthBounds returns minLength and maxLength (math.MaxInt when open).
func lengthBounds(s *openapi3.Schema) (int, int) {
	lo, hi := int(s.MinLength), math.MaxInt
	if s.MaxLength != nil && *s.MaxLength < uint64(math.MaxInt32) {
		hi = int(*s.MaxLength)
	}
	return lo, hi
}

func (g *Generator) str(s *openapi3.Schema, name string) string {
	lo, hi := lengthBounds(s)
	if lo = g.sizeLimit(uint64(lo), limits.GenLength); g.overBudget() {
		return ""
	}
	fits := func(v string) bool {
		n := utf8.RuneCountInString(v)
		return n >= lo && n <= hi
	}
	if s.Pattern != "" {
		if v, ok := g.matching(s.Pattern, lo, hi); ok {
			return v
		}
	}
	if v, ok := g.format(s.Format); ok && fits(v) {
		return v
	}
	want := hi
	if want > lo+12 {
		want = lo + 12
	}
	if lo == 0 && want == 0 {
		return ""
	}
	min := lo
	if min == 0 {
		min = 1
	}
	if want < min {
		want = min
	}
	return g.plainString(min, want)
}

// format generates a value for a string format; ok is false for unknown ones.
func (g *Generator) format(format string) (string, bool) {
	r := g.rng
	switch strings.ToLower(format) {
	case "date":
		return epoch.AddDate(0, 0, r.IntN(3650)-1825).Format("2006-01-02"), true
	case "date-time":
		return epoch.Add(time.Duration(r.Int64N(10*365*24*3600)-5*365*24*3600) * time.Second).Format(time.RFC3339), true
	case "time":
		return fmt.Sprintf("%02d:%02d:%02dZ", r.IntN(24), r.IntN(60), r.IntN(60)), true
	case "duration":
		return fmt.Sprintf("PT%dM", 1+r.IntN(120)), true
	case "uuid":
		var b [16]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), true
	case "email", "idn-email":
		return g.plainString(3, 8) + "@example.com", true
	case "uri", "url", "iri":
		return "https://example.com/" + g.plainString(1, 8), true
	case "uri-reference", "iri-reference":
		return "/" + g.plainString(1, 8), true
	case "uri-template":
		return "https://example.com/{id}", true
	case "hostname", "idn-hostname":
		return g.plainString(3, 8) + ".example.com", true
	case "ipv4":
		return fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254)), true
	case "ipv6":
		return fmt.Sprintf("2001:db8::%x:%x", r.IntN(0xffff), 1+r.IntN(0xfffe)), true
	case "byte":
		b := make([]byte, 3+r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return base64.StdEncoding.EncodeToString(b), true
	case "binary":
		return "whittle-" + g.plainString(4, 16), true
	case "password":
		return "P@ss-" + g.plainString(6, 10), true
	case "json-pointer":
		return "/" + g.plainString(1, 6), true
	case "regex":
		return "^[a-z]+$", true
	case "int32", "int64":
		return fmt.Sprint(r.IntN(1000)), true
	case "float", "double", "decimal":
		return fmt.Sprintf("%d.%02d", r.IntN(1000), r.IntN(100)), true
	}
	return "", false
}

// matching generates a string that matches pattern with a length in [lo, hi].
func (g *Generator) matching(pattern string, lo, hi int) (string, bool) {
	if lo > limits.GenLength.Int() {
		g.exceed(limits.GenLength)
		return "", false
	}
	hi = min(hi, limits.GenLength.Int())
	re := spec.ParseRegex(pattern)
	if re.Re == nil {
		return "", false
	}
	pg, err := newPatternGen(re.Re.String())
	if err != nil {
		return "", false
	}
	for attempt := range 24 {
		target := lo
		if hi != limits.GenLength.Int() && hi >= lo {
			target = lo + g.rng.IntN(hi-lo+1)
		} else if attempt%2 == 1 {
			target = lo + g.rng.IntN(8)
		}
		v := pg.generate(g.rng, target)
		n := utf8.RuneCountInString(v)
		if n < lo {
			v = pg.pad(g.rng, v, lo-n)
			n = utf8.RuneCountInString(v)
		}
		// The padding costs steps too: a value's steps bound its size.
		if !g.spend(len(v) / bytesPerStep) {
			return "", false
		}
		if n >= lo && n <= hi && re.MatchString(v) {
			return v, true
		}
	}
	return "", false
}
