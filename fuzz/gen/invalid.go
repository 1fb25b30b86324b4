package gen

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
)

// invalid returns a value known not to conform to s. For textual values
// (parameters) conformance is judged on the value as a server would decode
// it from text.
func (g *Generator) invalid(s *openapi3.Schema, name string, textual bool) (v any, kind string, ok bool) {
	if s == nil {
		return nil, "", false
	}
	g.begin()
	defer func() {
		if g.end(g.where(name)) {
			v, kind, ok = nil, "", false
		}
	}()
	cands := g.invalidCandidates(mergeAllOf(s), name, textual, 0)
	for _, i := range g.rng.Perm(len(cands)) {
		if g.overBudget() {
			break
		}
		v := cands[i].make()
		check := v
		if textual {
			check = Textualize(s, v)
		}
		if g.Validate(s, check) != nil {
			return v, cands[i].kind, true
		}
	}
	return nil, "", false
}

func (g *Generator) invalidCandidates(s *openapi3.Schema, name string, textual bool, depth int) []candidate {
	var cands []candidate
	types := schemaTypes(s)
	has := func(t string) bool {
		for _, x := range types {
			if x == t {
				return true
			}
		}
		return false
	}
	if len(s.Enum) > 0 {
		cands = append(cands, fixed("not-in-enum", "whittle-not-in-enum"), fixed("not-in-enum", 987654321.0))
	}
	if !textual && !s.Nullable && !s.Type.IncludesNull() {
		cands = append(cands, fixed("null", nil))
	}
	if has(openapi3.TypeInteger) || has(openapi3.TypeNumber) {
		cands = append(cands, fixed("wrong-type", "not-a-number"))
		if has(openapi3.TypeInteger) && !has(openapi3.TypeNumber) {
			cands = append(cands, fixed("not-integer", 1.5))
		}
		lo, hi := numberBounds(s)
		if !math.IsInf(lo, 0) {
			v := lo - 1
			if s.ExclusiveMin.IsTrue() {
				v = lo
			}
			cands = append(cands, fixed("below-minimum", v))
		}
		if !math.IsInf(hi, 0) {
			v := hi + 1
			if s.ExclusiveMax.IsTrue() {
				v = hi
			}
			cands = append(cands, fixed("above-maximum", v))
		}
		if v := s.ExclusiveMin.Value; v != nil {
			cands = append(cands, fixed("below-minimum", *v))
		}
		if v := s.ExclusiveMax.Value; v != nil {
			cands = append(cands, fixed("above-maximum", *v))
		}
		if m := s.MultipleOf; m != nil && *m > 0 {
			cands = append(cands, candidate{"not-multiple", func() any { return g.number(s) + *m/2 }})
		}
	}
	if has(openapi3.TypeBoolean) {
		cands = append(cands, fixed("wrong-type", "maybe"))
	}
	if has(openapi3.TypeString) {
		if !textual {
			cands = append(cands, fixed("wrong-type", 12345.0))
		}
		lo, hi := lengthBounds(s)
		if lo > 0 && lo-1 <= limits.GenLength.Int() {
			cands = append(cands, candidate{"too-short", func() any { return g.plainString(lo-1, lo-1) }})
		}
		if hi != math.MaxInt && hi < limits.GenLength.Int() {
			cands = append(cands, candidate{"overlong", func() any {
				n := hi + 1
				if g.rng.IntN(3) == 0 {
					n = min(hi*2+64, limits.GenLength.Int()+1)
				}
				if !g.spend(n / bytesPerStep) {
					return ""
				}
				return strings.Repeat("w", n)
			}})
		}
		if s.Pattern != "" && spec.ParseRegex(s.Pattern).Exact {
			for _, v := range []string{"", "!", " ", "~~~", "0", "a", "ZZZZ", "-"} {
				cands = append(cands, fixed("pattern-mismatch", v))
			}
		}
		if bad, ok := badFormats[strings.ToLower(s.Format)]; ok {
			cands = append(cands, fixed("bad-format", bad))
		}
	}
	if has(openapi3.TypeArray) {
		if !textual {
			cands = append(cands, fixed("wrong-type", "not-an-array"))
		}
		if s.MinItems > 0 {
			cands = append(cands, candidate{"too-few-items", func() any {
				c := *s
				c.MinItems = 0
				m := s.MinItems - 1
				c.MaxItems = &m
				return g.array(&c, name, depth+1)
			}})
		}
		if s.MaxItems != nil && *s.MaxItems < uint64(limits.GenItems.Value) {
			cands = append(cands, candidate{"too-many-items", func() any {
				c := *s
				c.MinItems = *s.MaxItems + 1
				c.MaxItems = nil
				c.UniqueItems = s.UniqueItems
				return g.array(&c, name, depth+1)
			}})
		}
		if s.UniqueItems {
			cands = append(cands, candidate{"duplicate-items", func() any {
				c := *s
				one := uint64(1)
				c.MinItems, c.MaxItems = 1, &one
				a := g.array(&c, name, depth+1)
				return append(a, cloneValue(a[0]))
			}})
		}
		if s.Items != nil && s.Items.Value != nil && depth < 3 {
			for _, inner := range g.invalidCandidates(mergeAllOf(s.Items.Value), name, false, depth+1) {
				inner := inner
				cands = append(cands, candidate{"item-" + inner.kind, func() any {
					c := *s
					a := g.array(&c, name, depth+1)
					if len(a) == 0 {
						return []any{inner.make()}
					}
					a[g.rng.IntN(len(a))] = inner.make()
					return a
				}})
			}
		}
	}
	if has(openapi3.TypeObject) && !textual {
		cands = append(cands, fixed("wrong-type", "not-an-object"))
		if len(s.Required) > 0 {
			cands = append(cands, candidate{"missing-required", func() any {
				obj := g.object(s, depth+1)
				delete(obj, s.Required[g.rng.IntN(len(s.Required))])
				return obj
			}})
		}
		if s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
			cands = append(cands, candidate{"extra-property", func() any {
				obj := g.object(s, depth+1)
				obj["whittle_unexpected"] = 1.0
				return obj
			}})
		}
		if depth < 3 {
			names := make([]string, 0, len(s.Properties))
			for n, r := range s.Properties {
				if r != nil && r.Value != nil && !r.Value.ReadOnly {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			for _, n := range names {
				n := n
				for _, inner := range g.invalidCandidates(mergeAllOf(s.Properties[n].Value), n, false, depth+1) {
					inner := inner
					cands = append(cands, candidate{"property-" + inner.kind, func() any {
						obj := g.object(s, depth+1)
						obj[n] = inner.make()
						return obj
					}})
				}
			}
		}
	}
	return cands
}

var badFormats = map[string]string{
	"date":      "2024-13-45",
	"date-time": "yesterday at noon",
	"time":      "25:61:00",
	"uuid":      "not-a-uuid",
	"email":     "no-at-sign",
	"ipv4":      "999.1.1.1",
	"ipv6":      "2001:db8::g",
	"byte":      "!!not base64!!",
	"uri":       "::not a uri",
	"hostname":  "-bad-.host_name",
}

// Textualize turns v into what a server decoding a parameter of schema s
// from text would get: a string for most types, a number if it parses as
// one and s wants a number, a boolean likewise.
func Textualize(s *openapi3.Schema, v any) any {
	switch v.(type) {
	case []any, map[string]any:
		return v
	case nil:
		return ""
	}
	text := Scalar(v)
	types := schemaTypes(mergeAllOf(s))
	for _, t := range types {
		switch t {
		case openapi3.TypeInteger, openapi3.TypeNumber:
			if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
		case openapi3.TypeBoolean:
			if b, err := strconv.ParseBool(text); err == nil && (text == "true" || text == "false") {
				return b
			}
		}
	}
	return text
}

// hostileStrings are valid-typed but troublesome values: quoting, paths,
// injection, encodings, sizes.
var hostileStrings = []string{
	"'", `"`, "<script>alert(1)</script>", "../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd",
	"%00", "\x00", "; ls -la", "$(id)", "`id`", "{{7*7}}", "${7*7}", "' OR '1'='1",
	"ñandú 日本語 🙂", "\u202e", " ", "", "-1", "0", "null", "true", "[]", "{}",
	"%s%s%s%n", "\\", "/", "?", "#", "&", "=", strings.Repeat("A", 4096),
}
