package gen

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// patternGen generates strings matching a regular expression by walking its
// syntax tree.
type patternGen struct {
	re                         *syntax.Regexp
	anchoredStart, anchoredEnd bool
}

func newPatternGen(expr string) (*patternGen, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	re = re.Simplify()
	p := &patternGen{re: re}
	first, last := re, re
	if re.Op == syntax.OpConcat && len(re.Sub) > 0 {
		first, last = re.Sub[0], re.Sub[len(re.Sub)-1]
	}
	p.anchoredStart = first.Op == syntax.OpBeginText || first.Op == syntax.OpBeginLine
	p.anchoredEnd = last.Op == syntax.OpEndText || last.Op == syntax.OpEndLine
	return p, nil
}

// generate aims at a total length of target by spreading repetitions.
func (p *patternGen) generate(rng *rand.Rand, target int) string {
	var b strings.Builder
	budget := target - minLen(p.re)
	p.walk(rng, p.re, &b, &budget, 0)
	return b.String()
}

// pad lengthens v by n characters where the pattern is not anchored.
func (p *patternGen) pad(rng *rand.Rand, v string, n int) string {
	if n <= 0 {
		return v
	}
	padding := strings.Repeat("x", n)
	switch {
	case !p.anchoredEnd:
		return v + padding
	case !p.anchoredStart:
		return padding + v
	}
	return v
}

const maxRepeat = 32

func (p *patternGen) walk(rng *rand.Rand, re *syntax.Regexp, b *strings.Builder, budget *int, depth int) {
	if depth > 64 {
		return
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		b.WriteRune(pickRune(rng, re.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte(alnum[rng.IntN(len(alnum))])
	case syntax.OpCapture:
		p.walk(rng, re.Sub[0], b, budget, depth+1)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			p.walk(rng, sub, b, budget, depth+1)
		}
	case syntax.OpAlternate:
		p.walk(rng, re.Sub[rng.IntN(len(re.Sub))], b, budget, depth+1)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, -1
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
		}
		unit := minLen(re.Sub[0])
		if unit < 1 {
			unit = 1
		}
		extraMax := maxRepeat
		if hi >= 0 {
			extraMax = hi - lo
		}
		if *budget <= 0 {
			extraMax = 0
		} else if m := *budget / unit; m < extraMax {
			extraMax = m
		}
		extra := 0
		if extraMax > 0 {
			extra = rng.IntN(extraMax + 1)
			if *budget > 0 && rng.IntN(2) == 0 {
				extra = extraMax
			}
		}
		*budget -= extra * unit
		for range lo + extra {
			p.walk(rng, re.Sub[0], b, budget, depth+1)
		}
	}
	// Anchors, word boundaries and empty matches produce nothing.
}

// minLen is the length of the shortest string re matches.
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture:
		return minLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minLen(s)
		}
		return n
	case syntax.OpAlternate:
		best := -1
		for _, s := range re.Sub {
			if l := minLen(s); best < 0 || l < best {
				best = l
			}
		}
		return max(best, 0)
	case syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLen(re.Sub[0])
	}
	return 0
}

// pickRune picks a rune from class ranges, preferring letters and digits,
// then printable ASCII.
func pickRune(rng *rand.Rand, ranges []rune) rune {
	for _, pref := range [][2]rune{{'a', 'z'}, {'0', '9'}, {'A', 'Z'}, {0x21, 0x7e}, {0x20, 0x7e}, {0xa1, 0xd7ff}} {
		var cands [][2]rune
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := max(ranges[i], pref[0]), min(ranges[i+1], pref[1])
			if lo <= hi {
				cands = append(cands, [2]rune{lo, hi})
			}
		}
		if len(cands) > 0 {
			c := cands[rng.IntN(len(cands))]
			return c[0] + rune(rng.IntN(int(c[1]-c[0]+1)))
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < ranges[i]+64; r++ {
			if utf8.ValidRune(r) {
				return r
			}
		}
	}
	return 'a'
}
