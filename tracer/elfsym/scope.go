package elfsym

import "strings"

// GoPackage returns the package path of a Go symbol name, as debug/gosym
// does: "github.com/x/y.(*T).M" -> "github.com/x/y", "main.main" -> "main";
// "" for compiler-generated "type:" and "go:" symbols. Generic
// instantiations ("pkg.F[...]") are cut before the brackets.
func GoPackage(name string) string {
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	if strings.HasPrefix(name, "go:") || strings.HasPrefix(name, "type:") || strings.HasPrefix(name, "go.") {
		return ""
	}
	pathend := strings.LastIndexByte(name, '/')
	if pathend < 0 {
		pathend = 0
	}
	if i := strings.IndexByte(name[pathend:], '.'); i > 0 || (i == 0 && pathend > 0) {
		return name[:pathend+i]
	}
	return ""
}

// Scope selects functions. A function is in scope when it matches one of
// Packages or Symbols (or both are empty) and does not match Exclude.
//
// Package patterns: "pkg/path/..." matches a Go package and its
// sub-packages, "main" package main; other patterns are globs over the
// package path. Symbol and Exclude patterns are globs over the symbol name
// (Exclude also over the package path). In globs * matches any run of
// characters, '/' included, and ? one character.
type Scope struct {
	Packages []string
	Symbols  []string
	Exclude  []string
}

// Match reports whether fn is in scope.
func (s Scope) Match(fn Func) bool {
	if len(s.Packages)+len(s.Symbols) > 0 && !matchPackage(s.Packages, fn) && !matchSymbol(s.Symbols, fn) {
		return false
	}
	return !matchSymbol(s.Exclude, fn) && !(fn.Package != "" && globAny(s.Exclude, fn.Package))
}

func matchPackage(pats []string, fn Func) bool {
	if fn.Package == "" {
		return false
	}
	for _, p := range pats {
		// The symbol name is checked too: GoPackage cannot tell where a
		// path whose last element holds a dot ("gopkg.in/yaml.v3") ends.
		if rest, ok := strings.CutSuffix(p, "/..."); ok {
			if fn.Package == rest || strings.HasPrefix(fn.Package, rest+"/") ||
				strings.HasPrefix(fn.Name, rest+".") || strings.HasPrefix(fn.Name, rest+"/") {
				return true
			}
			continue
		}
		if Glob(p, fn.Package) || strings.HasPrefix(fn.Name, p+".") {
			return true
		}
	}
	return false
}

func matchSymbol(pats []string, fn Func) bool { return globAny(pats, fn.Name) }

func globAny(pats []string, s string) bool {
	for _, p := range pats {
		if Glob(p, s) {
			return true
		}
	}
	return false
}

// Glob matches s against pattern, where * matches any run of characters and
// ? any one character. It runs in O(len(pattern)*len(s)).
func Glob(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}
