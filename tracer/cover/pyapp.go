package cover

import (
	"bufio"
	"bytes"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// pyApp is where a Python application's code is, found from the command
// that started the interpreter: the scope's globs and how they were found.
type pyApp struct {
	globs []string
	from  string
}

// pyCommand is what findPythonApp needs of the interpreter's process.
type pyCommand struct {
	root string   // the container's root (/proc/PID/root)
	args []string // its command line, the interpreter first
	cwd  string
	env  []string // KEY=VALUE
	exe  string   // the interpreter, in the container
}

// pyServers are the WSGI/ASGI servers that take the application as a
// "module:attribute" argument.
var pyServers = []string{"gunicorn", "uvicorn", "hypercorn", "waitress", "waitress-serve", "daphne", "granian"}

// pyServerValueOptions are the servers' long options (without their
// dashes) whose value is the next argument, so that it is not taken for the
// application; pyServerValueShort their one-letter ones.
var pyServerValueOptions = []string{
	"bind", "workers", "worker-class", "config", "threads", "timeout", "max-requests",
	"max-requests-jitter", "chdir", "user", "group", "log-level", "access-logfile", "error-logfile",
	"log-file", "name", "pid", "env", "graceful-timeout", "keep-alive", "backlog",
	"worker-connections", "forwarded-allow-ips", "pythonpath", "host", "port", "app-dir", "uds", "fd",
	"root-path", "env-file", "log-config", "listen", "call", "url-scheme", "ident", "interface",
	"ssl-keyfile", "ssl-certfile", "certfile", "keyfile", "loop", "http", "ws", "lifespan",
	"limit-concurrency", "limit-max-requests", "timeout-keep-alive", "app",
}

const pyServerValueShort = "Abcegknptuw"

// takesValue: the server option a has its value in the next argument.
func takesValue(a string) bool {
	if long, ok := strings.CutPrefix(a, "--"); ok {
		return slices.Contains(pyServerValueOptions, long)
	}
	return len(a) == 2 && a[0] == '-' && strings.IndexByte(pyServerValueShort, a[1]) >= 0
}

// pyAppSpec is "package.module:attribute" (the attribute may be a call).
var pyAppSpec = regexp.MustCompile(`^([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):([A-Za-z_][\w.]*(?:\(.*\))?)$`)

// pyDotted is a dotted module name.
var pyDotted = regexp.MustCompile(`^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$`)

// findPythonApp finds the application's code from the interpreter's
// command line: the module a WSGI/ASGI server is given (gunicorn, uvicorn,
// hypercorn, waitress "module:app"), the module of "python -m pkg", the
// entry point of a console script, or a script, wherever it is installed
// (the working directory, PYTHONPATH, dist-packages, site-packages, a
// virtual environment).
func findPythonApp(c pyCommand) (pyApp, bool) {
	dirs := c.searchPath()
	if len(c.args) > 0 && strings.HasPrefix(path.Base(c.args[0]), "uwsgi") {
		return c.fromUwsgi(c.args[1:], dirs)
	}
	kind, target, rest := pythonEntry(c.args)
	switch kind {
	case "module":
		return c.fromModule(target, rest, dirs, "the module of python -m "+target)
	case "script":
		script := target
		if !strings.HasPrefix(script, "/") {
			script = path.Join(c.cwd, script)
		}
		if slices.Contains(pyServers, path.Base(script)) {
			return c.fromServer(path.Base(script), rest, dirs)
		}
		if mod, how := c.consoleScriptEntry(script, dirs); mod != "" {
			return c.fromModule(mod, rest, append([]string{path.Dir(script)}, dirs...), "the entry point "+mod+" of the console script "+script+" ("+how+")")
		}
		if isBinDir(path.Dir(script)) {
			return pyApp{globs: []string{script}, from: "the script " + script + " from the command line"}, true
		}
		dir := path.Dir(script)
		return pyApp{globs: []string{dir + "/*"}, from: "the directory of the script " + script + " from the command line"}, true
	}
	return pyApp{}, false
}

// fromModule scopes the top-level package holding module; a server's
// module means the application is its argument.
func (c pyCommand) fromModule(module string, rest, dirs []string, how string) (pyApp, bool) {
	top, _, _ := strings.Cut(module, ".")
	if slices.Contains(pyServers, top) {
		return c.fromServer(top, rest, dirs)
	}
	if top == "flask" {
		if app := flaskApp(rest, c.env); app != "" {
			return c.fromModule(app, nil, dirs, "the application "+app+" of flask run")
		}
	}
	loc, isPkg := c.findModule(top, dirs)
	if loc == "" {
		return pyApp{}, false
	}
	if isPkg {
		return pyApp{globs: []string{loc + "/*"}, from: how + ", package " + top + " in " + path.Dir(loc)}, true
	}
	if dir := path.Dir(loc); !isLibraryDir(dir) {
		// A flat layout in the application's own directory: its neighbours too.
		return pyApp{globs: []string{dir + "/*"}, from: how + ", module " + loc + " and its directory"}, true
	}
	return pyApp{globs: []string{loc}, from: how + ", module " + loc}, true
}

// fromServer finds the application a WSGI/ASGI server was given.
func (c pyCommand) fromServer(server string, args, dirs []string) (pyApp, bool) {
	var bare []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch {
		case name == "--chdir" || name == "--app-dir" || name == "--pythonpath":
			if !hasValue && i+1 < len(args) {
				i++
				value = args[i]
			}
			for _, d := range strings.Split(value, ",") {
				if d != "" {
					dirs = append([]string{c.abs(d)}, dirs...)
				}
			}
			continue
		case takesValue(a):
			i++
			continue
		case strings.HasPrefix(a, "-"):
			continue
		}
		if m := pyAppSpec.FindStringSubmatch(a); m != nil {
			if app, ok := c.fromModule(m[1], nil, dirs, "the "+server+" application "+a+" from the command line"); ok {
				return app, true
			}
		} else if pyDotted.MatchString(a) {
			bare = append(bare, a)
		}
	}
	for _, mod := range bare { // gunicorn's "module" alone means module:application
		if app, ok := c.fromModule(mod, nil, dirs, "the "+server+" application "+mod+" from the command line"); ok {
			return app, true
		}
	}
	return pyApp{}, false
}

// fromUwsgi finds the application of uWSGI (the Python interpreter is
// embedded in it): --module/-w/--wsgi/--mount name a module, --wsgi-file
// a script; --chdir and --pythonpath add where modules are looked for.
func (c pyCommand) fromUwsgi(args, dirs []string) (pyApp, bool) {
	var modules, files []string
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if !hasValue && i+1 < len(args) && strings.HasPrefix(name, "-") {
			value = args[i+1]
		}
		switch strings.TrimLeft(name, "-") {
		case "chdir":
			c.cwd = c.abs(value)
			dirs = append([]string{c.cwd}, dirs...)
		case "pythonpath", "python-path", "pp":
			dirs = append([]string{c.abs(value)}, dirs...)
		case "module", "w", "wsgi":
			modules = append(modules, strings.SplitN(value, ":", 2)[0])
		case "mount":
			if _, mod, ok := strings.Cut(value, "="); ok {
				modules = append(modules, strings.SplitN(mod, ":", 2)[0])
			}
		case "wsgi-file", "file":
			files = append(files, value)
		default:
			continue
		}
		if !hasValue {
			i++
		}
	}
	for _, m := range modules {
		if app, ok := c.fromModule(m, nil, dirs, "the uWSGI module "+m+" from the command line"); ok {
			return app, true
		}
	}
	for _, f := range files {
		f = c.abs(f)
		if dir := path.Dir(f); !isLibraryDir(dir) {
			return pyApp{globs: []string{dir + "/*"}, from: "the uWSGI file " + f + " from the command line, and its directory"}, true
		}
		return pyApp{globs: []string{f}, from: "the uWSGI file " + f + " from the command line"}, true
	}
	return pyApp{}, false
}

// flaskApp is the application of "flask --app X run" or FLASK_APP.
func flaskApp(args, env []string) string {
	for i, a := range args {
		if a == "--app" && i+1 < len(args) {
			return strings.SplitN(args[i+1], ":", 2)[0]
		}
		if v, ok := strings.CutPrefix(a, "--app="); ok {
			return strings.SplitN(v, ":", 2)[0]
		}
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "FLASK_APP="); ok {
			return strings.SplitN(v, ":", 2)[0]
		}
	}
	return ""
}

// pythonEntry reads the interpreter's command line: "module" and its name
// (-m), "script" and its path, or "" (-c, the REPL), and the arguments
// after it.
func pythonEntry(args []string) (kind, target string, rest []string) {
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-m" && i+1 < len(args):
			return "module", args[i+1], args[i+2:]
		case strings.HasPrefix(a, "-m") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			return "module", a[2:], args[i+1:]
		case a == "-c" || strings.HasPrefix(a, "-c") && !strings.HasPrefix(a, "--") || a == "-":
			return "", "", nil
		case a == "-W" || a == "-X" || a == "--check-hash-based-pycs":
			i++
		case a == "--":
			if i+1 < len(args) {
				return "script", args[i+1], args[i+2:]
			}
			return "", "", nil
		case strings.HasPrefix(a, "-"):
			// flags such as -u, -B, -O, -E, -s, -I
		default:
			return "script", a, args[i+1:]
		}
	}
	return "", "", nil
}

// searchPath is where the interpreter looks for modules: the working
// directory, PYTHONPATH, then the installation's site directories.
func (c pyCommand) searchPath() []string {
	dirs := []string{c.cwd}
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "PYTHONPATH="); ok {
			for _, d := range strings.Split(v, ":") {
				if d != "" {
					dirs = append(dirs, c.abs(d))
				}
			}
		}
	}
	var versions []string
	if v, ok := strings.CutPrefix(path.Base(c.exe), "python"); ok && strings.Contains(v, ".") {
		versions = append(versions, v)
	}
	for _, lib := range []string{"/usr/local/lib", "/usr/lib"} {
		ents, _ := ReadContainerDir(c.root, lib)
		for _, e := range ents {
			if v, ok := strings.CutPrefix(e.Name(), "python3."); ok && e.IsDir() && !slices.Contains(versions, "3."+v) {
				versions = append(versions, "3."+v)
			}
		}
	}
	// A virtual environment: its interpreter lives in ENV/bin.
	if env := path.Dir(path.Dir(c.exe)); env != "/usr" && env != "/usr/local" && env != "/" {
		for _, v := range versions {
			dirs = append(dirs, env+"/lib/python"+v+"/site-packages")
		}
	}
	for _, v := range versions {
		dirs = append(dirs, "/usr/local/lib/python"+v+"/dist-packages", "/usr/local/lib/python"+v+"/site-packages")
	}
	dirs = append(dirs, "/usr/lib/python3/dist-packages")
	for _, v := range versions {
		dirs = append(dirs, "/usr/lib/python"+v+"/site-packages")
	}
	return dirs
}

func (c pyCommand) abs(d string) string {
	if strings.HasPrefix(d, "/") {
		return path.Clean(d)
	}
	return path.Join(c.cwd, d)
}

// findModule finds a top-level module in dirs: its package directory
// (isPkg) or its .py file.
func (c pyCommand) findModule(top string, dirs []string) (loc string, isPkg bool) {
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if f, err := OpenInContainer(c.root, path.Join(d, top, "__init__.py")); err == nil {
			f.Close()
			return path.Join(d, top), true
		}
		if ents, err := ReadContainerDir(c.root, path.Join(d, top)); err == nil && slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return strings.HasSuffix(e.Name(), ".py") }) {
			return path.Join(d, top), true // a namespace package
		}
		if f, err := OpenInContainer(c.root, path.Join(d, top+".py")); err == nil {
			f.Close()
			return path.Join(d, top+".py"), false
		}
	}
	return "", false
}

var (
	pyFromImport   = regexp.MustCompile(`(?m)^\s*from\s+([A-Za-z_][\w.]*)\s+import\s+\w+`)
	pyEasyInstall  = regexp.MustCompile(`EASY-INSTALL-ENTRY-SCRIPT:\s*'([^'=]+)(?:==[^']*)?'\s*,\s*'console_scripts'\s*,\s*'([^']+)'`)
	pyEntryPoint   = regexp.MustCompile(`^\s*([^=\s]+)\s*=\s*([A-Za-z_][\w.]*)\s*(?::|$)`)
	pyScriptImport = []string{"re", "sys", "os", "importlib.metadata", "importlib_metadata", "pkg_resources", "__future__"}
)

// consoleScriptEntry reads a console script (setuptools', pip's and
// Debian's templates) and returns the module of its entry point, and how
// it was found.
func (c pyCommand) consoleScriptEntry(script string, dirs []string) (module, how string) {
	data, err := ReadContainerFile(c.root, script, 64<<10)
	if err != nil || !bytes.HasPrefix(data, []byte("#!")) || !bytes.Contains(firstLine(data), []byte("python")) {
		return "", ""
	}
	if m := pyEasyInstall.FindSubmatch(data); m != nil {
		if mod := c.entryPointModule(string(m[1]), string(m[2]), dirs); mod != "" {
			return mod, "entry_points.txt of " + string(m[1])
		}
	}
	for _, m := range pyFromImport.FindAllSubmatch(data, -1) {
		if mod := string(m[1]); !slices.Contains(pyScriptImport, mod) {
			return mod, "its import"
		}
	}
	return "", ""
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// entryPointModule looks up a console script in the entry_points.txt of
// its distribution's metadata (egg-info or dist-info) in dirs.
func (c pyCommand) entryPointModule(dist, name string, dirs []string) string {
	norm := func(s string) string { return strings.ToLower(strings.NewReplacer("-", "_", ".", "_").Replace(s)) }
	for _, d := range dirs {
		ents, err := ReadContainerDir(c.root, d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasSuffix(n, ".egg-info") && !strings.HasSuffix(n, ".dist-info") {
				continue
			}
			if base, _, _ := strings.Cut(n, "-"); norm(base) != norm(dist) && norm(strings.TrimSuffix(strings.TrimSuffix(n, ".egg-info"), ".dist-info")) != norm(dist) {
				continue
			}
			data, err := ReadContainerFile(c.root, path.Join(d, n, "entry_points.txt"), 1<<20)
			if err != nil {
				continue
			}
			section := ""
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				line := strings.TrimSpace(sc.Text())
				if strings.HasPrefix(line, "[") {
					section = strings.Trim(line, "[]")
					continue
				}
				if m := pyEntryPoint.FindStringSubmatch(line); m != nil && section == "console_scripts" && m[1] == name {
					return m[2]
				}
			}
		}
	}
	return ""
}

func isBinDir(d string) bool { return path.Base(d) == "bin" || path.Base(d) == "sbin" }

// isLibraryDir: the working directory is an installation's module
// directory, not an application's.
func isLibraryDir(d string) bool {
	return strings.Contains(d, "/dist-packages") || strings.Contains(d, "/site-packages") || d == "/"
}
