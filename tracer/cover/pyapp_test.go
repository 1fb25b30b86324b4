package cover

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// fakeRoot lays out files (path → content) under a temporary container root.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const easyInstallGunicorn = `#!/usr/bin/python3
# EASY-INSTALL-ENTRY-SCRIPT: 'gunicorn==20.1.0','console_scripts','gunicorn'
import re
import sys
try:
    from importlib.metadata import distribution
except ImportError:
    from pkg_resources import load_entry_point
`

// The application is found from the command, wherever it is installed.
func TestFindPythonApp(t *testing.T) {
	dist := "/usr/lib/python3/dist-packages"
	root := fakeRoot(t, map[string]string{
		dist + "/petshop/__init__.py":                              "",
		dist + "/petshop/wsgi.py":                                  "app = None\n",
		dist + "/petshop/cli.py":                                   "def main(): pass\n",
		dist + "/flask/__init__.py":                                "",
		dist + "/gunicorn/__init__.py":                             "",
		dist + "/gunicorn-20.1.0.egg-info/entry_points.txt":        "[console_scripts]\ngunicorn = gunicorn.app.wsgiapp:run\n",
		dist + "/shop_daemon-1.0.egg-info/entry_points.txt":        "[paste.app_factory]\nshopd = wrong:x\n[console_scripts]\nshopd = shopd_pkg.main:run\n",
		dist + "/shopd_pkg/__init__.py":                            "",
		"/usr/local/lib/python3.11/dist-packages/pets/__init__.py": "",
		"/usr/lib/python3.11/os.py":                                "",
		"/srv/app/__init__.py":                                     "",
		"/srv/app/main.py":                                         "",
		"/srv/legacy/wsgi.py":                                      "",
		"/opt/shop/shop.py":                                        "",
		"/opt/shop/helpers.py":                                     "",
		"/app/server.py":                                           "",
		"/usr/bin/gunicorn":                                        easyInstallGunicorn,
		"/usr/bin/gunicorn3":                                       easyInstallGunicorn,
		"/usr/bin/petshop":                                         "#!/usr/bin/python3\nimport re\nimport sys\nfrom petshop.cli import main\nif __name__ == '__main__':\n    sys.exit(main())\n",
		"/usr/bin/shopd":                                           "#!/usr/bin/python3\n# EASY-INSTALL-ENTRY-SCRIPT: 'shop-daemon==1.0','console_scripts','shopd'\nimport sys\n",
		"/usr/local/bin/tool":                                      "#!/usr/bin/python3\nprint('hi')\n",
	})
	cases := []struct {
		name string
		args []string
		cwd  string
		env  []string
		want []string // globs; nil: not found
		how  string   // in the explanation
	}{
		{"gunicorn script, app in dist-packages", []string{"/usr/bin/python3", "/usr/bin/gunicorn", "-w", "3", "-b", "0.0.0.0:8000", "petshop.wsgi:app"}, "/", nil,
			[]string{dist + "/petshop/*"}, "gunicorn application petshop.wsgi:app"},
		{"gunicorn module alone, value options skipped", []string{"python3", "-m", "gunicorn", "-k", "sync", "--workers", "2", "petshop.wsgi"}, "/", nil,
			[]string{dist + "/petshop/*"}, "package petshop"},
		{"gunicorn --chdir", []string{"python3", "/usr/bin/gunicorn", "--chdir", "/srv/legacy", "wsgi:application"}, "/", nil,
			[]string{"/srv/legacy/*"}, "wsgi.py"},
		{"console script of gunicorn under another name", []string{"/usr/bin/python3", "/usr/bin/gunicorn3", "--bind=:80", "petshop.wsgi:app"}, "/", nil,
			[]string{dist + "/petshop/*"}, "petshop"},
		{"uvicorn module from the working directory", []string{"/usr/bin/python3", "-m", "uvicorn", "app.main:app", "--host", "0.0.0.0"}, "/srv", nil,
			[]string{"/srv/app/*"}, "uvicorn"},
		{"python -m package in /usr/local", []string{"/usr/bin/python3.11", "-u", "-m", "pets"}, "/", nil,
			[]string{"/usr/local/lib/python3.11/dist-packages/pets/*"}, "python -m pets"},
		{"waitress with PYTHONPATH, flat layout", []string{"python3", "/usr/bin/waitress-serve", "--port=8080", "shop:app"}, "/", []string{"PYTHONPATH=/opt/shop"},
			[]string{"/opt/shop/*"}, "waitress-serve"},
		{"console script importing its entry point", []string{"/usr/bin/python3", "/usr/bin/petshop", "--workers", "3"}, "/", nil,
			[]string{dist + "/petshop/*"}, "console script /usr/bin/petshop"},
		{"easy-install console script", []string{"/usr/bin/python3", "/usr/bin/shopd"}, "/", nil,
			[]string{dist + "/shopd_pkg/*"}, "entry_points.txt of shop-daemon"},
		{"a script", []string{"python3", "server.py"}, "/app", nil, []string{"/app/*"}, "server.py"},
		{"a script in a bin directory", []string{"python3", "/usr/local/bin/tool"}, "/", nil, []string{"/usr/local/bin/tool"}, "script"},
		{"flask run", []string{"python3", "-m", "flask", "--app", "petshop.wsgi", "run"}, "/", nil, []string{dist + "/petshop/*"}, "flask run"},
		{"FLASK_APP", []string{"/usr/bin/python3", "-m", "flask", "run"}, "/", []string{"FLASK_APP=petshop.wsgi:app"}, []string{dist + "/petshop/*"}, "flask"},
		{"uwsgi --module", []string{"/usr/bin/uwsgi", "--http", ":8000", "--plugin", "python3", "--module", "petshop.wsgi:app", "--processes", "4"}, "/", nil,
			[]string{dist + "/petshop/*"}, "uWSGI module petshop.wsgi"},
		{"uwsgi --chdir and --wsgi-file", []string{"uwsgi", "--chdir=/srv/legacy", "--wsgi-file", "wsgi.py"}, "/", nil, []string{"/srv/legacy/*"}, "uWSGI file /srv/legacy/wsgi.py"},
		{"python -c", []string{"python3", "-c", "import petshop"}, "/", nil, nil, ""},
		{"the REPL", []string{"python3"}, "/", nil, nil, ""},
		{"a module nowhere", []string{"python3", "-m", "nothere"}, "/", nil, nil, ""},
		{"a server without an application found", []string{"python3", "/usr/bin/gunicorn", "-b", "0.0.0.0:80", "missing.mod:app"}, "/", nil, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app, ok := findPythonApp(pyCommand{root: root, args: c.args, cwd: c.cwd, env: c.env, exe: "/usr/bin/python3.11"})
			if c.want == nil {
				if ok {
					t.Fatalf("found %+v, want nothing", app)
				}
				return
			}
			if !ok || !slices.Equal(app.globs, c.want) || !strings.Contains(app.from, c.how) {
				t.Fatalf("= %+v, %v; want %v (%q)", app, ok, c.want, c.how)
			}
		})
	}
}

// The scope of a package lists its files and their functions with lines.
func TestPythonScopeFiles(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"/usr/lib/python3/dist-packages/petshop/__init__.py": "",
		"/usr/lib/python3/dist-packages/petshop/views.py":    "import x\n\ndef index():\n    pass\n\nasync def show(id):\n    pass\n\nclass Cart:\n    def add(self): pass\n",
		"/usr/lib/python3/dist-packages/other/mod.py":        "def nope(): pass\n",
		"/usr/bin/petshop": "#!/usr/bin/python3\ndef main(): pass\n",
	})
	pinned, err := procfs.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer pinned.Close()
	scope, files := pythonScope(t.Context(), pinned, []string{"/usr/lib/python3/dist-packages/petshop/*", "/usr/bin/petshop"})
	if !slices.Equal(files, []string{"/usr/lib/python3/dist-packages/petshop/__init__.py", "/usr/lib/python3/dist-packages/petshop/views.py", "/usr/bin/petshop"}) {
		t.Errorf("files %v", files)
	}
	want := []Function{
		{Name: "index", File: "/usr/lib/python3/dist-packages/petshop/views.py", Line: 3},
		{Name: "show", File: "/usr/lib/python3/dist-packages/petshop/views.py", Line: 6},
		{Name: "main", File: "/usr/bin/petshop", Line: 2},
		{Name: "Cart", File: "/usr/lib/python3/dist-packages/petshop/views.py", Line: 9},
		{Name: "add", File: "/usr/lib/python3/dist-packages/petshop/views.py", Line: 10},
	}
	for _, w := range want {
		if !slices.ContainsFunc(scope, func(f Function) bool { return f.Name == w.Name && f.File == w.File && f.Line == w.Line }) {
			t.Errorf("scope lacks %+v: %+v", w, scope)
		}
	}
	if len(scope) != 3+5 { // three <module>s, four defs and a class
		t.Errorf("%d functions in scope, want 8: %+v", len(scope), scope)
	}
}

func FuzzPythonEntry(f *testing.F) {
	f.Add("python3\x00-m\x00gunicorn\x00-w\x003\x00app:app")
	f.Add("python3\x00-W\x00ignore\x00/usr/bin/petshop\x00--x")
	f.Add("python3\x00-mflask\x00run")
	f.Fuzz(func(t *testing.T, cmdline string) {
		args := strings.Split(cmdline, "\x00")
		kind, target, rest := pythonEntry(args)
		if kind == "" && (target != "" || rest != nil) {
			t.Fatalf("nothing found but %q %v", target, rest)
		}
		if kind != "" && len(rest) >= len(args) {
			t.Fatalf("rest %v longer than the arguments", rest)
		}
		c := pyCommand{root: t.TempDir(), args: args, cwd: "/"}
		c.fromServer("gunicorn", args, nil)
		flaskApp(args, args)
	})
}
