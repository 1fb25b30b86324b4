package node

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/whittle-dev/whittle/tracer/cover"
)

// The Profiler domain's coverage objects (Chrome DevTools Protocol):
// takePreciseCoverage and getBestEffortCoverage return a ScriptCoverage
// per script, a FunctionCoverage per function, its first range the
// function itself and the others its blocks, nested, each with the count of
// the innermost range it is the innermost of.
type scriptCoverage struct {
	ScriptID  string             `json:"scriptId"`
	URL       string             `json:"url"`
	Functions []functionCoverage `json:"functions"`
}

type functionCoverage struct {
	FunctionName    string          `json:"functionName"`
	Ranges          []coverageRange `json:"ranges"`
	IsBlockCoverage bool            `json:"isBlockCoverage"`
}

type coverageRange struct {
	StartOffset int   `json:"startOffset"`
	EndOffset   int   `json:"endOffset"`
	Count       int64 `json:"count"`
}

// parseCoverage decodes a take's result ({"result": [ScriptCoverage]}).
func parseCoverage(raw []byte) ([]scriptCoverage, error) {
	var r struct {
		Result []scriptCoverage `json:"result"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decoding V8 coverage: %w", err)
	}
	return r.Result, nil
}

// scriptPath is the container path of a file:// script URL; ok is false
// for node's internals ("node:fs"), evaluated code ("") and other schemes.
func scriptPath(u string) (string, bool) {
	if strings.HasPrefix(u, "/") { // CommonJS modules of older nodes
		return u, true
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "file" || !strings.HasPrefix(p.Path, "/") {
		return "", false
	}
	return p.Path, true
}

// block is a range of a function that V8 reported separately at least
// once (uncovered then, or covered inside an uncovered one).
type block struct{ start, end int }

// script is what is known of one in-scope script.
type script struct {
	path  string
	lines *lineIndex // nil until the source was read (or when it cannot be)
	// funcs are its functions by range; blocks the blocks seen in each.
	funcs  map[block]string // → name
	blocks map[block][]block
}

// apply reads one function's coverage: the function is hit when its own
// range counts, and each block known in it (now or from earlier takes) when
// the innermost range holding it counts. It returns the units hit in this
// take (the caller keeps which are first hits).
func (s *script) apply(fc functionCoverage) []cover.Function {
	if len(fc.Ranges) == 0 {
		return nil
	}
	fr := fc.Ranges[0]
	if fr.EndOffset <= fr.StartOffset {
		return nil
	}
	key := block{fr.StartOffset, fr.EndOffset}
	if _, ok := s.funcs[key]; !ok {
		s.funcs[key] = fc.FunctionName
	}
	for _, r := range fc.Ranges[1:] {
		b := block{r.StartOffset, r.EndOffset}
		if b.end <= b.start || b.start < key.start || b.end > key.end {
			continue
		}
		if !containsBlock(s.blocks[key], b) {
			s.blocks[key] = append(s.blocks[key], b)
		}
	}
	var hits []cover.Function
	if fr.Count > 0 {
		hits = append(hits, s.unit(fc.FunctionName, key, cover.LevelFunction))
	}
	for _, b := range s.blocks[key] {
		if countAt(fc.Ranges, b) > 0 {
			hits = append(hits, s.unit(fc.FunctionName, b, cover.LevelBlock))
		}
	}
	return hits
}

// countAt is the count of the innermost range of ranges holding b: the
// ranges are nested, and a range inherits the count of the one around it
// unless it is listed itself.
func countAt(ranges []coverageRange, b block) int64 {
	best, width := int64(0), -1
	for _, r := range ranges {
		if r.StartOffset <= b.start && b.end <= r.EndOffset {
			if w := r.EndOffset - r.StartOffset; width < 0 || w <= width {
				best, width = r.Count, w
			}
		}
	}
	return best
}

func containsBlock(bs []block, b block) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// unit is the cover.Function of a function or block of the script.
func (s *script) unit(name string, b block, level cover.Level) cover.Function {
	f := cover.Function{Name: name, File: s.path, Start: b.start, End: b.end, Level: level}
	if s.lines != nil {
		f.Line, f.EndLine = s.lines.line(b.start), s.lines.line(max(b.end-1, b.start))
	}
	return f
}

// functions lists the script's functions, ordered by offset.
func (s *script) functions() []cover.Function {
	keys := make([]block, 0, len(s.funcs))
	for k := range s.funcs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].start < keys[j].start || keys[i].start == keys[j].start && keys[i].end > keys[j].end
	})
	out := make([]cover.Function, len(keys))
	for i, k := range keys {
		out[i] = s.unit(s.funcs[k], k, cover.LevelFunction)
	}
	return out
}

// knownBlocks lists the blocks V8 reported in the script's functions,
// ordered by offset.
func (s *script) knownBlocks() []cover.Function {
	var out []cover.Function
	for fn, bs := range s.blocks {
		for _, b := range bs {
			out = append(out, s.unit(s.funcs[fn], b, cover.LevelBlock))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Start < out[j].Start || out[i].Start == out[j].Start && out[i].End > out[j].End
	})
	return out
}

// lineIndex maps V8's source offsets (UTF-16 code units) to 1-based lines.
type lineIndex struct {
	starts []int // offset of each line's first unit
}

func newLineIndex(src []byte) *lineIndex {
	idx := &lineIndex{starts: []int{0}}
	off := 0
	for len(src) > 0 {
		r, n := utf8.DecodeRune(src)
		src = src[n:]
		if r >= 0x10000 {
			off += 2
		} else {
			off++
		}
		if r == '\n' {
			idx.starts = append(idx.starts, off)
		}
	}
	return idx
}

func (l *lineIndex) line(off int) int {
	return sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > off })
}
