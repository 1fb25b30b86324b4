package covdata

import (
	"slices"
	"sort"
	"strconv"
)

// SourceFile is the coverage of one source file, as line-oriented formats
// (lcov, Cobertura) see it.
type SourceFile struct {
	// Path is the file's path after the path map.
	Path string
	// Package is the package or directory of its functions.
	Package string
	// Functions are the file's functions by line, each with a name unique
	// in the file (FunctionName).
	Functions []FileFunction
	// Lines are the lines measured, sorted, each hit or not.
	Lines []LineHit
}

// FileFunction is a function of a SourceFile.
type FileFunction struct {
	*Function
	// Name is unique in the file: the function's name, with "@LINE" added
	// when the file holds another of that name, "(anonymous)@LINE" for a
	// function without one.
	Name string
}

// LineHit is one measured line.
type LineHit struct {
	Line int
	Hit  bool
	// Function is the function the line belongs to.
	Function *Function
}

// Files groups the functions that have a source file by file (mapped with
// m, which may be nil), sorted by path, and counts those left out: without
// a file, or, when m has rules, in a file no rule maps (the map names the
// checkout's sources; the standard library and generated files are not
// among them).
//
// Lines come from the runtime's measure where it has one (Python lines,
// V8 blocks: LinesHit and LinesMissed); for functions measured whole
// (native, JVM) the function's first line stands for it. A function never
// hit has at least its first line missed.
func (c *Coverage) Files(m *PathMap) (files []SourceFile, noFile int) {
	by := map[string]*SourceFile{}
	for i := range c.Functions {
		f := &c.Functions[i]
		if f.File == "" {
			noFile++
			continue
		}
		p, mapped := m.Lookup(f.File)
		if !mapped && !m.Empty() {
			noFile++
			continue
		}
		sf := by[p]
		if sf == nil {
			sf = &SourceFile{Path: p, Package: f.Package}
			by[p] = sf
		}
		sf.Functions = append(sf.Functions, FileFunction{Function: f})
	}
	for _, sf := range by {
		sf.finish()
		files = append(files, *sf)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, noFile
}

func (sf *SourceFile) finish() {
	sort.SliceStable(sf.Functions, func(i, j int) bool { return sf.Functions[i].Line < sf.Functions[j].Line })
	names := map[string]int{}
	for _, ff := range sf.Functions {
		names[ff.Function.Name]++
	}
	lines := map[int]*LineHit{}
	set := func(l int, hit bool, f *Function) {
		if l <= 0 {
			return
		}
		if lh := lines[l]; lh != nil {
			lh.Hit = lh.Hit || hit
			return
		}
		lines[l] = &LineHit{Line: l, Hit: hit, Function: f}
	}
	for i := range sf.Functions {
		ff := &sf.Functions[i]
		f := ff.Function
		switch {
		case f.Name == "":
			ff.Name = "(anonymous)@" + strconv.Itoa(f.Line)
		case names[f.Name] > 1:
			ff.Name = f.Name + "@" + strconv.Itoa(f.Line)
		default:
			ff.Name = f.Name
		}
		for _, l := range f.LinesHit {
			set(l, true, f)
		}
		for _, l := range f.LinesMissed {
			set(l, false, f)
		}
		if len(f.LinesHit) == 0 && len(f.LinesMissed) == 0 || !f.State.Hit() {
			set(f.Line, f.State.Hit(), f)
		}
	}
	for _, lh := range lines {
		sf.Lines = append(sf.Lines, *lh)
	}
	slices.SortFunc(sf.Lines, func(a, b LineHit) int { return a.Line - b.Line })
}
