package node

import (
	"path"
	"slices"
	"strings"

	"github.com/whittle-dev/whittle/tracer/cover"
	"github.com/whittle-dev/whittle/tracer/elfsym"
)

// systemModuleDirs hold modules installed for the whole system (Debian's
// node-* packages, npm -g): libraries, not the application, unless the
// application's main script is there itself.
var systemModuleDirs = []string{
	"/usr/share/nodejs/", "/usr/lib/nodejs/", "/usr/share/javascript/",
	"/usr/lib/node_modules/", "/usr/local/lib/node_modules/",
}

// launchers are packages whose main script starts the application rather
// than being it.
var launchers = []string{"npm", "npx", "yarn", "pnpm", "corepack", "pm2", "nodemon", "forever", "ts-node"}

// scopeRules decide which scripts are the application's.
type scopeRules struct {
	// globs, when set, replace the default (the user's patterns).
	globs []string
	// roots are the application's package roots, from the main scripts of
	// its node processes.
	roots []string
	mains []string
}

// inScope: with globs, a script matching one of them; by default a script
// under an application root, or anywhere outside the system's module
// directories, in neither case inside a node_modules directory.
func (r *scopeRules) inScope(p string) bool {
	if len(r.globs) > 0 {
		for _, g := range r.globs {
			if elfsym.Glob(g, p) {
				return true
			}
		}
		return false
	}
	for _, root := range r.roots {
		if rel, ok := under(root, p); ok {
			return !strings.Contains("/"+rel, "/node_modules/")
		}
	}
	if strings.Contains(p, "/node_modules/") {
		return false
	}
	for _, d := range systemModuleDirs {
		if strings.HasPrefix(p, d) {
			return false
		}
	}
	return true
}

func under(root, p string) (string, bool) {
	if root == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(root, "/")+"/")
	return rel, ok
}

func (r *scopeRules) String() string {
	if len(r.globs) > 0 {
		return "scripts matching " + strings.Join(r.globs, ", ")
	}
	s := "scripts outside node_modules and the system's module directories"
	if len(r.mains) > 0 {
		s += "; main script " + strings.Join(r.mains, ", ") + " (application root " + strings.Join(r.roots, ", ") + ") from the node command line"
	}
	return s
}

// addMain adds the package root of a node process's main script.
func (r *scopeRules) addMain(root string, p nodeProcess, cwd string) {
	main := mainScript(p.args)
	if main == "" {
		return
	}
	if !strings.HasPrefix(main, "/") {
		main = path.Join(cwd, main)
	}
	pkg := packageRoot(root, path.Dir(main))
	if slices.Contains(launchers, path.Base(pkg)) || slices.Contains(r.mains, main) {
		return
	}
	r.mains = append(r.mains, main)
	if pkg != "/" && !slices.Contains(r.roots, pkg) { // "/" is what the default holds anyway
		r.roots = append(r.roots, pkg)
	}
}

// valueOptions are node options whose value is the next argument:
// another program's options (node's), not whittle's.
var valueOptions = []string{"-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions",
	"--input-type", "--title", "--env-file", "--openssl-config", "--icu-data-dir", "--redirect-warnings", "--inspect-port", "--debug-port"}

// mainScript is the script argument of a node command line ("" for -e, -p
// or the REPL).
func mainScript(args []string) string {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-e" || a == "--eval" || a == "-p" || a == "--print" || a == "-":
			return ""
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case slices.Contains(valueOptions, a):
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// packageRoot is the nearest directory from dir up holding a package.json,
// not crossing a node_modules directory; dir itself when there is none.
func packageRoot(root, dir string) string {
	for d := dir; ; d = path.Dir(d) {
		if f, err := cover.OpenInContainer(root, path.Join(d, "package.json")); err == nil {
			f.Close()
			return d
		}
		if d == "/" || path.Base(d) == "node_modules" {
			return dir
		}
	}
}
