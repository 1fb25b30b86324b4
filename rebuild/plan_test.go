package rebuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestSelectBinaryAndData(t *testing.T) {
	root := mergedUsrRoot(t, "/usr/bin/ls", "/usr/bin/dash")
	writeFile(t, root, "data/hello.txt", "hello\n", 0o644)
	writeFile(t, root, "data/secret.txt", "secret\n", 0o600)
	writeFile(t, root, "etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/false\n", 0o644)
	writeFile(t, root, "etc/group", "root:x:0:\napp:x:1000:\n", 0o644)
	writeFile(t, root, "etc/shadow", "root:*:1::::::\n", 0o640)
	writeFile(t, root, "etc/nsswitch.conf", "passwd: files systemd\ngroup: files\nhosts: files dns\nshadow: files\n", 0o644)
	writeFile(t, root, "app/run.sh", "#!/bin/sh\nexec ls /data\n", 0o755)
	writeFile(t, root, "app/notes.sh", "#!/bin/bash\n", 0o644) // not executable: no interpreter
	symlink(t, root, "usr/bin/sh", "dash")
	// Any x86-64 shared object stands in for the NSS modules.
	libs0, _ := hostDeps(t, "/usr/bin/ls")
	copyHostFile(t, libs0["libselinux.so.1"], filepath.Join(root, "usr/lib/x86_64-linux-gnu/libnss_systemd.so.2"))
	copyHostFile(t, libs0["libselinux.so.1"], filepath.Join(root, "usr/lib/x86_64-linux-gnu/libnss_files.so.2"))
	f := openDir(t, root)
	f.Config = &v1.ConfigFile{Config: v1.Config{
		User: "app", Entrypoint: []string{"run.sh"}, Env: []string{"PATH=/app:/usr/bin"}, WorkingDir: "/data",
	}}

	pl := Select(f, []Need{
		{Path: "/bin/ls", Reason: "traced:exec"},
		{Path: "/data/hello.txt", Reason: "traced:open"},
		{Path: "/proc/self/maps", Reason: "traced:open"},
		{Path: "/etc/hosts", Reason: "traced:open"},
		{Path: "/app/notes.sh", Reason: "traced:stat"},
		{Path: "relative", Reason: "traced:open"},
	})
	kept := keptPaths(pl.Files)
	libs, interp := hostDeps(t, "/usr/bin/ls")

	mustKeep := map[string]string{
		"/bin":                                 "symlink:on path /bin/ls",
		"/usr/bin/ls":                          "traced:exec",
		"/data/hello.txt":                      "traced:open",
		"/data":                                "config:working directory",
		"/lib64":                               "symlink:on path " + interp,
		"/lib":                                 "symlink:",
		"/usr/lib64/" + "ld-linux-x86-64.so.2": "symlink:on path " + interp,
		"/app/run.sh":                          "config:entrypoint",
		"/usr/bin/sh":                          "symlink:on path /bin/sh",
		"/usr/bin/dash":                        "shebang:interpreter of /app/run.sh",
		"/etc/passwd":                          "user:config User",
		"/etc/group":                           "user:",
		"/etc/nsswitch.conf":                   "nss:",
		"/usr":                                 "parent",
		"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": "elf:interpreter of /usr/bin/ls",
		"/app/notes.sh": "traced:stat",
	}
	for name := range libs {
		res, err := f.Resolve("/usr/lib/x86_64-linux-gnu/" + name)
		if err != nil {
			t.Fatal(err)
		}
		mustKeep[res.Path] = "elf:" + name + " needed by "
		for _, l := range res.Links {
			mustKeep[l] = "symlink:on path "
		}
	}
	for p, reason := range mustKeep {
		kf, ok := kept[p]
		if !ok {
			t.Errorf("%s not kept (want reason %q)", p, reason)
			continue
		}
		if !hasReason(kf, reason) {
			t.Errorf("%s reasons %q, want one starting with %q", p, kf.Reasons, reason)
		}
	}
	for _, p := range []string{"/data/secret.txt", "/etc/shadow", "/usr/bin/bash", "/tmp"} {
		if _, ok := kept[p]; ok {
			t.Errorf("%s kept, should not be", p)
		}
	}
	skipped := map[string]string{}
	for _, n := range pl.Skipped {
		skipped[n.Path] = n.Note
	}
	if !strings.Contains(skipped["/proc/self/maps"], "kernel") || skipped["/etc/hosts"] != "not in image" || skipped["relative"] != "relative path" {
		t.Errorf("skipped = %q", skipped)
	}
	if !hasReason(kept["/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2"], "nss:libnss_systemd.so.2 module for passwd") {
		t.Errorf("libnss_systemd: %+v", kept["/usr/lib/x86_64-linux-gnu/libnss_systemd.so.2"])
	}
	if _, ok := kept["/usr/lib/x86_64-linux-gnu/libnss_files.so.2"]; ok {
		t.Error("libnss_files is built into glibc 2.34+: not kept")
	}
	for i := 1; i < len(pl.Files); i++ {
		if pl.Files[i-1].Path >= pl.Files[i].Path {
			t.Fatalf("files not sorted at %d: %s >= %s", i, pl.Files[i-1].Path, pl.Files[i].Path)
		}
	}
	if pl.ByReason["traced"] != int64(len("hello\n"))+kept["/usr/bin/ls"].Size+int64(len("#!/bin/bash\n")) {
		t.Errorf("ByReason = %v", pl.ByReason)
	}
	if pl.ByReason["elf"] == 0 {
		t.Errorf("no elf bytes: %v", pl.ByReason)
	}

	t.Run("heuristics off", func(t *testing.T) {
		pl := Select(f, []Need{{Path: "/bin/ls", Reason: "traced:exec"}}, WithHeuristics())
		kept := keptPaths(pl.Files)
		for _, p := range []string{"/etc/passwd", "/etc/nsswitch.conf", "/app/run.sh", "/data"} {
			if _, ok := kept[p]; ok {
				t.Errorf("%s kept with heuristics off", p)
			}
		}
		if _, ok := kept["/usr/bin/ls"]; !ok {
			t.Error("ls not kept")
		}
	})
	t.Run("exclude and include", func(t *testing.T) {
		pl := Select(f, []Need{{Path: "/bin/ls", Reason: "traced:exec"}},
			WithExclude("/lib/**/libpcre2*"), WithInclude("/data", "/etc/*wd", "/lib/x86_64-linux-gnu/libselinux*"), WithHeuristics())
		kept := keptPaths(pl.Files)
		for p := range kept {
			if strings.Contains(p, "libpcre2") {
				t.Errorf("%s kept despite exclude", p)
			}
		}
		if len(pl.Excluded) == 0 {
			t.Error("no exclusion reported")
		}
		selinux, _ := f.Resolve("/lib/x86_64-linux-gnu/libselinux.so.1")
		for _, p := range []string{"/data/secret.txt", "/data/hello.txt", "/etc/passwd", selinux.Path} {
			if !hasReason(kept[p], "include:") {
				t.Errorf("%s not included: %+v", p, kept[p])
			}
		}
	})
	t.Run("keep shell", func(t *testing.T) {
		pl := Select(f, nil, WithKeepShell(true), WithHeuristics())
		kept := keptPaths(pl.Files)
		if !hasReason(kept["/usr/bin/dash"], "keep-shell") || !hasReason(kept["/usr/bin/ls"], "keep-shell") {
			t.Errorf("shell not kept: %+v / %+v", kept["/usr/bin/dash"], kept["/usr/bin/ls"])
		}
	})
}

func TestSelectWholeDirectory(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "srv/breeds/beagle.json", "{}", 0o644)
	writeFile(t, root, "srv/breeds/sub/poodle.json", "{}", 0o644)
	writeFile(t, root, "shared/collie.json", "{}", 0o644)
	symlink(t, root, "srv/breeds/collie.json", "../../shared/collie.json")
	symlink(t, root, "data", "srv")
	writeFile(t, root, "srv/other.json", "{}", 0o644)
	f := openDir(t, root)
	reason := "input-selected:GET /breeds/{breed} param breed"
	pl := Select(f, []Need{{Path: "/data/breeds", Reason: reason, Whole: true}})
	kept := keptPaths(pl.Files)
	for _, p := range []string{"/srv/breeds", "/srv/breeds/beagle.json", "/srv/breeds/sub/poodle.json", "/srv/breeds/collie.json"} {
		if !hasReason(kept[p], reason) {
			t.Errorf("%s: %+v, want reason %q", p, kept[p], reason)
		}
	}
	if !hasReason(kept["/shared/collie.json"], "symlink:target of /srv/breeds/collie.json") {
		t.Errorf("symlink target: %+v", kept["/shared/collie.json"])
	}
	if !hasReason(kept["/data"], "symlink:on path /data/breeds") {
		t.Errorf("/data: %+v", kept["/data"])
	}
	if _, ok := kept["/srv/other.json"]; ok {
		t.Error("sibling of the whole directory kept")
	}
}

// A file made at run time (gunicorn's worker files in /tmp) is not in the
// image, but the directory it was made in must be, with its mode.
func TestSelectParentOfRuntimeFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "tmp/leftover", "x", 0o644)
	writeFile(t, root, "run/lock/other", "x", 0o644)
	symlink(t, root, "var/run", "../run")
	f := openDir(t, root)
	pl := Select(f, []Need{
		{Path: "/tmp/wgunicorn-abc123", Reason: "traced:open"},
		{Path: "/var/run/app/app.pid", Reason: "traced:open"},
	})
	kept := keptPaths(pl.Files)
	if k, ok := kept["/tmp"]; !ok || k.Mode&os.ModeSticky == 0 {
		t.Errorf("/tmp: %+v, want it kept with its sticky bit", k)
	}
	if _, ok := kept["/tmp/leftover"]; ok {
		t.Error("the directory's other files are kept")
	}
	if _, ok := kept["/run"]; !ok {
		t.Errorf("/run (through the /var/run link) not kept: %v", kept)
	}
	if _, ok := kept["/var/run"]; !ok {
		t.Error("the /var/run link is not kept")
	}
	if _, ok := kept["/run/lock/other"]; ok {
		t.Error("/run's contents kept")
	}
}

func TestSelectPython(t *testing.T) {
	root := t.TempDir()
	site := "usr/lib/python3/dist-packages"
	writeFile(t, root, site+"/fastapi/__init__.py", "", 0o644)
	writeFile(t, root, site+"/fastapi/__pycache__/__init__.cpython-311.pyc", "pyc", 0o644)
	writeFile(t, root, site+"/fastapi/routing.py", "", 0o644)
	writeFile(t, root, site+"/fastapi/__pycache__/routing.cpython-311.pyc", "pyc", 0o644)
	writeFile(t, root, site+"/fastapi/unused.py", "", 0o644)
	writeFile(t, root, site+"/fastapi-0.92.0.egg-info/PKG-INFO", "Name: fastapi\n", 0o644)
	writeFile(t, root, site+"/fastapi-0.92.0.egg-info/top_level.txt", "fastapi\n", 0o644)
	writeFile(t, root, site+"/yaml/__init__.py", "", 0o644)
	writeFile(t, root, site+"/PyYAML-6.0.dist-info/RECORD", "yaml/__init__.py,sha256=x,1\n_yaml/__init__.py,,\n", 0o644)
	writeFile(t, root, site+"/other-1.0.dist-info/METADATA", "Name: other\n", 0o644)
	writeFile(t, root, site+"/distutils-precedence.pth", "import os\n", 0o644)
	writeFile(t, root, site+"/sitecustomize.py", "", 0o644)
	f := openDir(t, root)
	pl := Select(f, []Need{
		{Path: "/" + site + "/fastapi/__pycache__/__init__.cpython-311.pyc", Reason: "traced:open"},
		{Path: "/" + site + "/fastapi/routing.py", Reason: "traced:stat"},
		{Path: "/" + site + "/yaml/__init__.py", Reason: "traced:open"},
	})
	kept := keptPaths(pl.Files)
	want := map[string]string{
		site + "/fastapi/__init__.py":                         "python:source of",
		site + "/fastapi/__pycache__/routing.cpython-311.pyc": "python:bytecode of",
		site + "/fastapi-0.92.0.egg-info":                     "python:metadata of fastapi",
		site + "/fastapi-0.92.0.egg-info/PKG-INFO":            "python:metadata of fastapi",
		site + "/PyYAML-6.0.dist-info/RECORD":                 "python:metadata of yaml",
		site + "/distutils-precedence.pth":                    "python:.pth",
		site + "/sitecustomize.py":                            "python:startup hook",
	}
	for p, r := range want {
		if !hasReason(kept["/"+p], r) {
			t.Errorf("/%s: %+v, want %q", p, kept["/"+p], r)
		}
	}
	for _, p := range []string{site + "/fastapi/unused.py", site + "/other-1.0.dist-info"} {
		if _, ok := kept["/"+p]; ok {
			t.Errorf("/%s kept", p)
		}
	}
	off := keptPaths(Select(f, []Need{{Path: "/" + site + "/fastapi/routing.py", Reason: "traced:open"}}, WithoutHeuristics(HeuristicPython)).Files)
	if _, ok := off["/"+site+"/fastapi/__pycache__/routing.cpython-311.pyc"]; ok {
		t.Error("python heuristic off but bytecode kept")
	}
}

func TestSelectNodeLocaleCerts(t *testing.T) {
	root := mergedUsrRoot(t, "/usr/bin/true")
	writeFile(t, root, "app/package.json", `{"type":"module"}`, 0o644)
	writeFile(t, root, "app/index.js", "", 0o644)
	writeFile(t, root, "app/node_modules/@scope/pkg/package.json", "{}", 0o644)
	writeFile(t, root, "app/node_modules/@scope/pkg/lib/a.js", "", 0o644)
	writeFile(t, root, "usr/lib/x86_64-linux-gnu/gconv/UTF-16.so", "", 0o644)
	writeFile(t, root, "usr/lib/x86_64-linux-gnu/gconv/gconv-modules", "", 0o644)
	writeFile(t, root, "usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/extra.conf", "", 0o644)
	writeFile(t, root, "usr/lib/locale/C.utf8/LC_CTYPE", "", 0o644)
	writeFile(t, root, "etc/ssl/certs/ca-certificates.crt", "pem", 0o644)
	f := openDir(t, root)
	f.Config = &v1.ConfigFile{Config: v1.Config{Env: []string{"LANG=C.UTF-8"}}}
	pl := Select(f, []Need{
		{Path: "/app/node_modules/@scope/pkg/lib/a.js", Reason: "traced:open"},
		{Path: "/app/index.js", Reason: "traced:open"},
		{Path: "/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so", Reason: "traced:open"},
		{Path: "/usr/bin/true", Reason: "traced:exec"}, // calls setlocale
	})
	kept := keptPaths(pl.Files)
	for p, r := range map[string]string{
		"/app/node_modules/@scope/pkg/package.json":                  "node:package.json of @scope/pkg",
		"/app/package.json":                                          "node:nearest package.json",
		"/usr/lib/x86_64-linux-gnu/gconv/gconv-modules":              "locale:gconv",
		"/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.d/extra.conf": "locale:gconv",
		"/usr/lib/locale/C.utf8/LC_CTYPE":                            "locale:LANG=C.UTF-8 for /usr/bin/true",
	} {
		if !hasReason(kept[p], r) {
			t.Errorf("%s: %+v, want %q", p, kept[p], r)
		}
	}
	if _, ok := kept["/etc/ssl/certs/ca-certificates.crt"]; ok {
		t.Error("CA bundle kept without a TLS library")
	}
	noLocale := keptPaths(Select(f, []Need{{Path: "/app/index.js", Reason: "traced:open"}}).Files)
	if _, ok := noLocale["/usr/lib/locale/C.utf8/LC_CTYPE"]; ok {
		t.Error("locale kept while nothing calls setlocale")
	}
	// A (fake) libssl needed by a kept program triggers the CA bundle.
	withTLS := keptPaths(Select(f, []Need{{Path: "/usr/bin/true", Reason: "traced:exec"}}).Files)
	if _, ok := withTLS["/etc/ssl/certs/ca-certificates.crt"]; ok {
		t.Error("CA bundle kept for a program without TLS")
	}
	s := &selector{}
	s.noteELF("/usr/lib/x86_64-linux-gnu/libssl.so.3", &ELFInfo{})
	if s.tlsBy == "" {
		t.Error("libssl does not trigger the cacerts heuristic")
	}
}

func TestUserIsName(t *testing.T) {
	for u, want := range map[string]bool{"": false, "0": false, "1000:1000": false, "app": true, "app:app": true, "1000:app": true, "app:1000": true, ":0": false} {
		if got := userIsName(u); got != want {
			t.Errorf("userIsName(%q) = %v", u, got)
		}
	}
}

func TestGlobRegexp(t *testing.T) {
	tests := []struct {
		glob  string
		match []string
		miss  []string
	}{
		{"/usr/share/doc/**", []string{"/usr/share/doc/a", "/usr/share/doc/a/b/c"}, []string{"/usr/share/docs", "/usr/share/doc"}},
		{"/usr/**/*.so", []string{"/usr/a.so", "/usr/lib/x/b.so"}, []string{"/usr/lib/b.so.1"}},
		{"/etc/*.conf", []string{"/etc/a.conf"}, []string{"/etc/d/a.conf"}},
		{"/etc/[!a]?.c", []string{"/etc/bx.c"}, []string{"/etc/ax.c"}},
		{"etc/x+y(z)", []string{"/etc/x+y(z)"}, nil},
	}
	for _, tt := range tests {
		re, err := globRegexp(tt.glob)
		if err != nil {
			t.Fatalf("%s: %v", tt.glob, err)
		}
		for _, m := range tt.match {
			if !re.MatchString(m) {
				t.Errorf("%s does not match %s", tt.glob, m)
			}
		}
		for _, m := range tt.miss {
			if re.MatchString(m) {
				t.Errorf("%s matches %s", tt.glob, m)
			}
		}
	}
	if _, err := globRegexp("/a/[bc"); err == nil {
		t.Error("unterminated class accepted")
	}
}

func TestParseNSSwitch(t *testing.T) {
	got := ParseNSSwitch([]byte("# c\npasswd:         files systemd\nhosts: files [NOTFOUND=return] mdns4_minimal [ NOTFOUND=return ] dns\nbad line\n: x\n"))
	if strings.Join(got["passwd"], ",") != "files,systemd" || strings.Join(got["hosts"], ",") != "files,mdns4_minimal,dns" || len(got) != 2 {
		t.Errorf("got %q", got)
	}
}

func FuzzParseNSSwitch(f *testing.F) {
	f.Add([]byte("hosts: files [!UNAVAIL=return] dns\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for db, svcs := range ParseNSSwitch(b) {
			if db == "" || strings.ContainsAny(db, " \t\n") {
				t.Fatalf("bad database %q", db)
			}
			for _, s := range svcs {
				if strings.HasPrefix(s, "[") {
					t.Fatalf("action %q taken as a service", s)
				}
			}
		}
	})
}

func TestDefaultTag(t *testing.T) {
	for in, want := range map[string]string{
		"whittle-fixture/gopets:latest": "whittle-fixture/gopets:latest-whittled",
		"gopets":                        "gopets:latest-whittled",
		"localhost:5000/a/b:v1":         "localhost:5000/a/b:v1-whittled",
		"localhost:5000/a/b":            "localhost:5000/a/b:latest-whittled",
		"repo@sha256:abcd":              "repo:whittled",
		"sha256:0123456789abcdef0123":   "whittled:0123456789ab",
		"r:" + strings.Repeat("t", 128): "r:" + strings.Repeat("t", 119) + "-whittled",
	} {
		if got := DefaultTag(in); got != want {
			t.Errorf("DefaultTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSelectListedDirs(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "srv/plugins/a.so", "a", 0o644)
	writeFile(t, root, "srv/plugins/sub/deep.so", "deep", 0o644)
	writeFile(t, root, "shared/b.so", "b", 0o644)
	symlink(t, root, "srv/plugins/b.so", "../../shared/b.so")
	symlink(t, root, "plugins", "srv/plugins")
	f := openDir(t, root)
	needs := []Need{{Path: "/plugins", Reason: "traced:opendir"}}

	kept := keptPaths(Select(f, needs).Files)
	if _, ok := kept["/srv/plugins/a.so"]; ok || !hasReason(kept["/srv/plugins"], "traced:opendir") {
		t.Errorf("default keeps the listed directory only: %v", kept)
	}
	kept = keptPaths(Select(f, needs, WithListedDirs(true)).Files)
	for p, r := range map[string]string{
		"/srv/plugins/a.so": "listed:/plugins",
		"/srv/plugins/sub":  "listed:/plugins",
		"/srv/plugins/b.so": "symlink:on path /srv/plugins/b.so",
		"/shared/b.so":      "listed:/plugins",
		"/plugins":          "symlink:on path /plugins",
	} {
		if !hasReason(kept[p], r) {
			t.Errorf("%s: %+v, want reason %q", p, kept[p], r)
		}
	}
	if _, ok := kept["/srv/plugins/sub/deep.so"]; ok {
		t.Error("listing keeps grandchildren")
	}
}
