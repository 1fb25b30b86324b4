package elfsym

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// How the default scope of a Go binary was derived (AppScope.From).
const (
	// ScopeFromModule: the build info names the main module (a `mod` line).
	ScopeFromModule = "module"
	// ScopeFromPath: no module information (a GOPATH build, as
	// distributions build Go programs); the repository root of the main
	// package's import path (the build info's `path` line).
	ScopeFromPath = "build-info path"
	// ScopeFromPrefix: neither gave a root ("command-line-arguments", no
	// build info); the non-standard package prefix holding most functions.
	ScopeFromPrefix = "pclntab prefix"
	// ScopeMainOnly: nothing but package main could be attributed to the
	// application.
	ScopeMainOnly = "main only"
)

// AppScope is the default coverage scope of a Go binary (package main and
// the application's own packages, vendored copies of other projects left
// out) and how it was derived, for the log and the report.
type AppScope struct {
	Scope
	// Root is the application's import path prefix, e.g.
	// "github.com/acme/shelf"; "" when only package main is in scope.
	Root string
	// From is one of the ScopeFrom constants; Detail says in a sentence
	// what was read and decided.
	From, Detail string
	// InScope lists the packages of the table in scope (main included),
	// sorted; Functions counts the table's functions in scope.
	InScope   []string
	Functions int
}

// GoAppScope derives the default scope of a Go binary from its build info
// (modPath: the main module, "" without a `mod` line; pkgPath: the main
// package's import path, the `path` line) and its function table:
//
//  1. the main module, when the build info has one;
//  2. else the repository root of pkgPath (module-less GOPATH builds), by
//     the hosting conventions of RepoRoot, checked against the packages
//     the table holds;
//  3. else the non-standard prefix holding most of the table's functions
//     (a root that vendors other projects is preferred: only the
//     application has a vendor directory);
//  4. else package main alone.
//
// Packages vendored under the root (ROOT/vendor/...) are other projects'
// code and are excluded.
func GoAppScope(modPath, pkgPath string, funcs []Func) AppScope {
	inv := inventory(funcs)
	var a AppScope
	switch {
	case modPath != "" && modPath != "command-line-arguments":
		a = AppScope{Root: modPath, From: ScopeFromModule,
			Detail: fmt.Sprintf("the build info's main module %s", modPath)}
	case usablePath(pkgPath) && (hasHost(pkgPath) || inv.has(firstElem(pkgPath))):
		root, how := pathRoot(pkgPath, inv)
		a = AppScope{Root: root, From: ScopeFromPath,
			Detail: fmt.Sprintf("the build info has no module line (a GOPATH build); the main package's import path %s: %s", pkgPath, how)}
	default:
		why := "the build info has no module line nor a usable import path"
		if pkgPath != "" && pkgPath != "command-line-arguments" && !isStdPackage(pkgPath) {
			why = fmt.Sprintf("the build info has no module line and no package of the binary lies under the host-less import path %s", pkgPath)
		} else if pkgPath != "" {
			why = fmt.Sprintf("the build info has no module line and the import path %q names no repository", pkgPath)
		}
		if root, how, ok := commonPrefix(inv); ok {
			a = AppScope{Root: root, From: ScopeFromPrefix, Detail: why + "; " + how}
		} else {
			a = AppScope{From: ScopeMainOnly, Detail: why + ", and every package but main is the standard library's"}
		}
	}
	a.Scope = Scope{Packages: []string{"main"}}
	if a.Root != "" {
		a.Scope.Packages = append(a.Scope.Packages, a.Root+"/...")
		a.Scope.Exclude = []string{a.Root + "/vendor/*"}
	}
	seen := map[string]bool{}
	for _, f := range funcs {
		if !a.Match(f) {
			continue
		}
		a.Functions++
		if !seen[f.Package] {
			seen[f.Package] = true
			a.InScope = append(a.InScope, f.Package)
		}
	}
	sort.Strings(a.InScope)
	return a
}

// String says which scope was chosen and how, in one line.
func (a AppScope) String() string {
	what := "package main only"
	if a.Root != "" {
		what = fmt.Sprintf("main and %s/... (%d packages)", a.Root, len(a.InScope))
	}
	s := fmt.Sprintf("%s, %d functions, from the %s: %s", what, a.Functions, a.From, a.Detail)
	if len(a.Exclude) > 0 {
		s += "; vendored " + strings.Join(a.Exclude, ", ") + " excluded"
	}
	return s
}

// usablePath reports whether a main package path can name a repository:
// not the "command-line-arguments" of `go build file.go`, and not a path
// whose first element looks like the standard library's.
func usablePath(p string) bool {
	if p == "" || p == "command-line-arguments" || p == "main" {
		return false
	}
	return !isStdPackage(p)
}

// pkgInventory counts the functions of each package that may be the
// application's: not the standard library's, not main, not compiler-made.
type pkgInventory map[string]int

func inventory(funcs []Func) pkgInventory {
	inv := pkgInventory{}
	for _, f := range funcs {
		if f.Package == "" || f.Package == "main" || isStdPackage(f.Package) {
			continue
		}
		inv[f.Package]++
	}
	return inv
}

// has reports whether some package lies under prefix.
func (inv pkgInventory) has(prefix string) bool {
	n, _ := inv.under(prefix)
	return n > 0
}

// under counts the packages and functions under prefix, vendored ones
// (prefix/vendor/...) left out.
func (inv pkgInventory) under(prefix string) (pkgs, funcs int) {
	for p, n := range inv {
		if (p == prefix || strings.HasPrefix(p, prefix+"/")) && !strings.HasPrefix(p, prefix+"/vendor/") {
			pkgs++
			funcs += n
		}
	}
	return pkgs, funcs
}

// pathRoot is the repository root of a main package's import path: by the
// host's convention when RepoRoot knows it; otherwise the conventional
// layout's root and, when no package of the table lies under it, the
// longest shorter prefix (down to host/one element) under which some do.
func pathRoot(pkgPath string, inv pkgInventory) (root, how string) {
	root, rule, known := RepoRoot(pkgPath)
	if n, _ := inv.under(root); n == 0 && !known {
		elems := strings.Split(root, "/")
		for k := len(elems) - 1; k >= 2; k-- {
			p := strings.Join(elems[:k], "/")
			if m, _ := inv.under(p); m > 0 {
				rule += fmt.Sprintf("; no package of the binary lies under %s, %d under %s", root, m, p)
				root = p
				break
			}
		}
	}
	pkgs, funcs := inv.under(root)
	return root, fmt.Sprintf("repository root %s (%s), %d packages with %d functions under it besides main", root, rule, pkgs, funcs)
}

// versionElem is a gopkg.in element: "yaml.v3".
var versionElem = regexp.MustCompile(`\.v[0-9]+$`)

// hostDepth is how many path elements, host included, name a repository on
// hosts whose convention is known.
var hostDepth = map[string]int{
	"github.com": 3, "gitlab.com": 3, "bitbucket.org": 3, "codeberg.org": 3, "git.sr.ht": 3,
	"launchpad.net": 2, "golang.org": 3, "go.googlesource.com": 2, "google.golang.org": 2,
	"cloud.google.com": 2, "go.uber.org": 2, "go.etcd.io": 2, "go.opentelemetry.io": 2,
	"k8s.io": 2, "sigs.k8s.io": 2, "honnef.co": 3, "gonum.org": 3, "modernc.org": 2,
}

// RepoRoot returns the repository root of a Go import path and the rule
// that gave it; known says the host's convention was known (github.com/x/y,
// golang.org/x/y, gopkg.in/[user/]pkg.vN, go.googlesource.com/x, ...).
// For other hosts the root is the part before a "cmd" element (the usual
// layout of a repository with commands: example.org/acme/shelf/cmd/shelfd),
// else the host and two elements: callers should check it against the
// packages the binary holds. A path whose first element has no dot (a
// GOPATH path without a host) is rooted at that element.
func RepoRoot(path string) (root, rule string, known bool) {
	elems := strings.Split(strings.Trim(path, "/"), "/")
	host := elems[0]
	prefix := func(n int) string { return strings.Join(elems[:min(n, len(elems))], "/") }
	if !strings.Contains(host, ".") {
		return host, "a path without a host: its first element", false
	}
	if host == "gopkg.in" {
		for i := 1; i < len(elems) && i <= 2; i++ {
			if versionElem.MatchString(elems[i]) {
				return prefix(i + 1), "gopkg.in/[user/]pkg.vN", true
			}
		}
		return prefix(2), "gopkg.in/pkg", true
	}
	if n, ok := hostDepth[host]; ok {
		return prefix(n), fmt.Sprintf("%s paths name a repository with %d elements", host, n), true
	}
	if i := slices.Index(elems, "cmd"); i >= 2 {
		return prefix(i), "the elements before cmd/", false
	}
	return prefix(3), "the host and two elements", false
}

// commonPrefix finds the application's root among the non-standard
// packages: a root that vendors other projects (only an application has a
// vendor directory), else the one holding most functions.
func commonPrefix(inv pkgInventory) (root, how string, ok bool) {
	funcs := map[string]int{}
	vendors := map[string]bool{}
	for p, n := range inv {
		if i := strings.Index(p, "/vendor/"); i > 0 {
			owner, _, _ := RepoRoot(p[:i])
			vendors[owner] = true
			funcs[owner] += 0 // an application whose own code is all in main
			continue
		}
		r, _, _ := RepoRoot(p)
		funcs[r] += n
	}
	var best string
	for r, n := range funcs {
		better := best == "" || vendors[r] && !vendors[best] ||
			vendors[r] == vendors[best] && (n > funcs[best] || n == funcs[best] && r < best)
		if better {
			best = r
		}
	}
	if best == "" {
		return "", "", false
	}
	how = fmt.Sprintf("the non-standard prefix with most functions, %s (%d functions, %d prefixes in all)", best, funcs[best], len(funcs))
	if vendors[best] {
		how = fmt.Sprintf("the non-standard prefix that vendors other projects, %s (%d functions, %d prefixes in all)", best, funcs[best], len(funcs))
	}
	return best, how, true
}

// stdRoots are the first elements of the standard library's package paths
// (go list std), and of the runtime's experimental packages.
var stdRoots = map[string]bool{
	"archive": true, "arena": true, "bufio": true, "builtin": true, "bytes": true, "cmp": true,
	"compress": true, "container": true, "context": true, "crypto": true, "database": true,
	"debug": true, "embed": true, "encoding": true, "errors": true, "expvar": true, "flag": true,
	"fmt": true, "go": true, "hash": true, "html": true, "image": true, "index": true,
	"internal": true, "io": true, "iter": true, "log": true, "maps": true, "math": true,
	"mime": true, "net": true, "os": true, "path": true, "plugin": true, "reflect": true,
	"regexp": true, "runtime": true, "simd": true, "slices": true, "sort": true, "strconv": true,
	"strings": true, "structs": true, "sync": true, "syscall": true, "testing": true,
	"text": true, "time": true, "unicode": true, "unique": true, "unsafe": true, "vendor": true,
	"weak": true, "cmd": true,
}

func firstElem(p string) string {
	first, _, _ := strings.Cut(p, "/")
	return first
}

// hasHost reports whether an import path starts with a host name (a dot in
// its first element).
func hasHost(p string) bool { return strings.Contains(firstElem(p), ".") }

// isStdPackage reports whether a package path is the standard library's:
// its first element has no dot and is one of the standard library's.
func isStdPackage(p string) bool { return !hasHost(p) && stdRoots[firstElem(p)] }
