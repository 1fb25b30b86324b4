package rebuild

import (
	"archive/tar"
	"path"
	"slices"
	"strings"
)

// A Python module kept without having run (a plugin of an input-selected
// directory that no request imported) never showed its imports in the
// trace: importing it in the minimal image would fail on the first module
// only it needs. pythonImports keeps, for such a module, what its import
// statements name, found along the interpreter's search path in the image;
// the kept modules are processed the same way in turn.

// maxPythonSource bounds the source read for its imports.
const maxPythonSource = 1 << 20

// pyImport is one import statement: level counts the leading dots of a
// relative import; names are what "from module import ..." takes (nil for
// "import module" and for "*").
type pyImport struct {
	level  int
	module string
	names  []string
	lazy   bool // inside a function: runs only when it is called
}

// pythonImports keeps the modules the never-run source file p imports.
func (s *selector) pythonImports(p string) {
	k := s.kept[p]
	if k == nil || slices.ContainsFunc(k.reasons, func(r string) bool { return strings.HasPrefix(r, "traced:") }) {
		return // it ran: its imports are traced
	}
	if h := s.fs.entries[p]; h == nil || h.Size > maxPythonSource {
		return
	}
	src, err := s.fs.ReadFile(p)
	if err != nil {
		return
	}
	imports := parsePythonImports(string(src))
	if len(imports) == 0 {
		return
	}
	// The functions of a module kept for itself (a plugin) are what using it
	// runs; of one kept only because another imports it, only what runs on
	// import is sure to be needed (difflib's self-test would pull doctest,
	// pdb and unittest in).
	transitive := !slices.ContainsFunc(k.reasons, func(r string) bool { return !strings.HasPrefix(r, "python:") })
	root, pkg := s.pythonPackage(p)
	roots := append([]string{root}, s.pythonRoots()...)
	reason := "python:imported by " + p
	kept := 0
	for _, imp := range imports {
		if imp.lazy && transitive {
			continue
		}
		mod := imp.module
		if imp.level > 0 {
			if imp.level-1 > len(pkg) {
				continue // beyond the top-level package: Python refuses it
			}
			base := pkg[:len(pkg)-(imp.level-1)]
			mod = strings.Join(append(slices.Clone(base), splitNonEmpty(imp.module)...), ".")
		}
		if mod == "" {
			continue
		}
		if s.keepPythonModule(roots, mod, reason) {
			kept++
		}
		for _, n := range imp.names {
			// "from pkg import sub": sub may be a module of pkg.
			if s.keepPythonModule(roots, mod+"."+n, reason) {
				kept++
			}
		}
	}
	if kept > 0 {
		s.evidence(HeuristicPython, "imports of modules kept without having run, e.g. "+p)
	}
}

func splitNonEmpty(dotted string) []string {
	if dotted == "" {
		return nil
	}
	return strings.Split(dotted, ".")
}

// pythonPackage returns the search-path root p's package lives under and
// the package's dotted name as parts: /app/pyplugins/codecs/x.py → /app,
// [pyplugins codecs] (directories holding __init__.py are packages).
func (s *selector) pythonPackage(p string) (string, []string) {
	dir := path.Dir(p)
	var pkg []string
	for dir != "/" {
		if _, ok := s.fs.entries[path.Join(dir, "__init__.py")]; !ok {
			break
		}
		pkg = append([]string{path.Base(dir)}, pkg...)
		dir = path.Dir(dir)
	}
	return dir, pkg
}

// pythonRoots is the interpreter's search path in the image after the
// application's own directory: the standard library and its extension
// modules, site and dist-packages directories, PYTHONPATH.
func (s *selector) pythonRoots() []string {
	if s.pyRoots != nil {
		return s.pyRoots
	}
	var roots []string
	add := func(d string) {
		if h := s.fs.entries[d]; h != nil && h.Typeflag == tar.TypeDir && !slices.Contains(roots, d) {
			roots = append(roots, d)
		}
	}
	for _, e := range s.env {
		if v, ok := strings.CutPrefix(e, "PYTHONPATH="); ok {
			for _, d := range strings.Split(v, ":") {
				if strings.HasPrefix(d, "/") {
					add(path.Clean(d))
				}
			}
		}
	}
	var libs []string
	for _, pattern := range []string{"/usr/lib/python3.*", "/usr/local/lib/python3.*", "/opt/*/lib/python3.*", "/opt/*/*/lib/python3.*"} {
		m, _ := s.fs.Glob(pattern)
		libs = append(libs, m...)
	}
	for _, l := range libs {
		add(l)
		add(l + "/lib-dynload")
	}
	for _, l := range libs {
		add(l + "/site-packages")
		add(l + "/dist-packages")
	}
	add("/usr/lib/python3/dist-packages")
	s.pyRoots = roots
	return roots
}

// keepPythonModule keeps the files importing the dotted module mod needs,
// from the first root holding its top-level package or module: the
// __init__.py of every package on the way and the module itself (source,
// package or extension). It reports whether mod was found.
func (s *selector) keepPythonModule(roots []string, mod, reason string) bool {
	parts := strings.Split(mod, ".")
	for _, root := range roots {
		var files []string
		dir := root
		found := true
		for i, part := range parts {
			if part == "" {
				return false
			}
			f, isPkg := s.pythonModuleFile(dir, part)
			if f == "" {
				found = false
				break
			}
			files = append(files, f)
			if !isPkg && i < len(parts)-1 {
				found = false // a module has no submodules
				break
			}
			dir = path.Join(dir, part)
		}
		if !found {
			if len(files) > 0 {
				return false // the top level is here: sys.path stops looking
			}
			continue
		}
		for _, f := range files {
			_ = s.need(f, reason, false)
		}
		return true
	}
	return false
}

// pythonModuleFile finds module name in dir: a package's __init__.py (isPkg),
// name.py, or an extension module name.*.so.
func (s *selector) pythonModuleFile(dir, name string) (file string, isPkg bool) {
	if f := path.Join(dir, name, "__init__.py"); s.fs.entries[f] != nil {
		return f, true
	}
	if f := path.Join(dir, name+".py"); s.fs.entries[f] != nil {
		return f, false
	}
	if m, _ := s.fs.Glob(path.Join(dir, globEscape(name)+".*.so")); len(m) > 0 {
		return m[0], false
	}
	if f := path.Join(dir, name+".so"); s.fs.entries[f] != nil {
		return f, false
	}
	return "", false
}

// parsePythonImports finds the import statements of Python source outside
// strings; lazy marks those inside a function (or a __main__ block): they
// run only when it is called.
func parsePythonImports(src string) []pyImport {
	var out []pyImport
	for _, st := range pythonStatements(src) {
		stmt := st.text
		switch {
		case strings.HasPrefix(stmt, "import "):
			for _, item := range strings.Split(strings.TrimPrefix(stmt, "import "), ",") {
				name, _, _ := strings.Cut(strings.TrimSpace(item), " ")
				if validDotted(name) {
					out = append(out, pyImport{module: name, lazy: st.lazy})
				}
			}
		case strings.HasPrefix(stmt, "from "):
			rest := strings.TrimPrefix(stmt, "from ")
			mod, names, ok := strings.Cut(rest, " import ")
			if !ok {
				continue
			}
			mod = strings.TrimSpace(mod)
			level := len(mod) - len(strings.TrimLeft(mod, "."))
			mod = mod[level:]
			if mod == "__future__" || (mod != "" && !validDotted(mod)) || (mod == "" && level == 0) {
				continue
			}
			imp := pyImport{level: level, module: mod, lazy: st.lazy}
			names = strings.Trim(strings.TrimSpace(names), "()")
			for _, item := range strings.Split(names, ",") {
				n, _, _ := strings.Cut(strings.TrimSpace(item), " ")
				if n != "*" && validDotted(n) && !strings.Contains(n, ".") {
					imp.names = append(imp.names, n)
				}
			}
			out = append(out, imp)
		}
	}
	return out
}

// pyStatement is a logical line that may be an import statement.
type pyStatement struct {
	text string
	lazy bool // inside a def or an `if __name__ == "__main__"` block
}

// pythonStatements returns the logical lines of src that may be import
// statements, trimmed, with comments, strings' contents and line
// continuations (backslashes, open brackets) folded away.
func pythonStatements(src string) []pyStatement {
	var out []pyStatement
	var cur strings.Builder
	var blocks []int // indentation of the enclosing defs and __main__ blocks
	depth, indent := 0, 0
	counting := true    // at the start of a line, measuring its indentation
	bodyOnLine := false // the line holds a one-line def's body
	quote := ""         // the open string's delimiter
	end := func() {
		stmt := strings.Join(strings.Fields(cur.String()), " ")
		cur.Reset()
		if stmt == "" {
			return
		}
		for len(blocks) > 0 && indent <= blocks[len(blocks)-1] {
			blocks = blocks[:len(blocks)-1]
		}
		lazy := len(blocks) > 0 || bodyOnLine
		switch {
		case strings.HasPrefix(stmt, "import "), strings.HasPrefix(stmt, "from "):
			out = append(out, pyStatement{text: stmt, lazy: lazy})
		case strings.HasPrefix(stmt, "def "), strings.HasPrefix(stmt, "async def "), strings.HasPrefix(stmt, "if __name__"):
			if strings.HasSuffix(stmt, ":") {
				blocks = append(blocks, indent)
				break
			}
			// "def f(): import x; import y": the body is the rest of the line.
			bodyOnLine = true
			if _, body, ok := strings.Cut(stmt, ": "); ok && (strings.HasPrefix(body, "import ") || strings.HasPrefix(body, "from ")) {
				out = append(out, pyStatement{text: body, lazy: true})
			}
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if quote != "" {
			switch {
			case c == '\\':
				i++
			case strings.HasPrefix(src[i:], quote):
				i += len(quote) - 1
				quote = ""
			case c == '\n' && len(quote) == 1:
				quote = "" // unterminated: Python would have refused it
			}
			continue
		}
		if counting {
			if c == ' ' || c == '\t' {
				indent++
				continue
			}
			counting = false
		}
		switch c {
		case '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i--
		case '"', '\'':
			quote = string(c)
			if strings.HasPrefix(src[i:], strings.Repeat(string(c), 3)) {
				quote = strings.Repeat(string(c), 3)
				i += 2
			}
			cur.WriteString(" '' ")
		case '\\':
			if i+1 < len(src) && src[i+1] == '\n' {
				i++
				cur.WriteByte(' ')
			}
		case '(', '[', '{':
			depth++
			cur.WriteByte(c)
		case ')', ']', '}':
			depth = max(0, depth-1)
			cur.WriteByte(c)
		case ';':
			end() // the next statement has this line's indentation
		case '\n':
			if depth > 0 {
				cur.WriteByte(' ')
				continue
			}
			end()
			indent, counting, bodyOnLine = 0, true, false
		default:
			cur.WriteByte(c)
		}
	}
	end()
	return out
}

// validDotted reports whether s is a dotted Python name.
func validDotted(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' || r > 127) {
				return false
			}
		}
	}
	return true
}
