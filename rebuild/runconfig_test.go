package rebuild

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestRunConfigMountsAndUser(t *testing.T) {
	root := mergedUsrRoot(t, "/usr/bin/ls")
	writeFile(t, root, "etc/app/app.conf", "default\n", 0o644)
	writeFile(t, root, "etc/app/other.conf", "x\n", 0o644)
	writeFile(t, root, "srv/data/db.json", "{}\n", 0o644)
	writeFile(t, root, "srv/static/index.html", "<p>\n", 0o644)
	writeFile(t, root, "etc/passwd", "root:x:0:0::/root:/bin/sh\nsvc:x:999:999::/:/bin/false\n", 0o644)
	writeFile(t, root, "etc/group", "root:x:0:\nsvc:x:999:\n", 0o644)
	writeFile(t, root, "opt/tool/run", "#!/usr/bin/ls\n", 0o755)
	f := openDir(t, root)
	f.Config = &v1.ConfigFile{Config: v1.Config{Entrypoint: []string{"/usr/bin/ls"}, Env: []string{"PATH=/usr/bin"}}}
	rc := RunConfig{Entrypoint: []string{"/opt/tool/run"}, User: "svc", WorkingDir: "/srv/static", Mounts: []string{"/etc/app/", "/srv/data"}}
	pl := Select(f, []Need{
		{Path: "/etc/app/app.conf", Reason: "traced:open"},
		{Path: "/srv/data/db.json", Reason: "traced:open"},
		{Path: "/srv/static/index.html", Reason: "traced:open"},
	}, WithRunConfig(rc, false))
	kept := keptPaths(pl.Files)
	for _, p := range []string{"/etc/app/app.conf", "/etc/app", "/srv/data/db.json", "/srv/data"} {
		if _, ok := kept[p]; ok {
			t.Errorf("%s is beneath a mount point but was kept", p)
		}
	}
	if strings.Join(pl.MountExcluded, ",") != "/etc/app/app.conf,/srv/data/db.json" {
		t.Errorf("MountExcluded = %v", pl.MountExcluded)
	}
	for p, reason := range map[string]string{
		"/srv/static/index.html": "traced:open",
		"/srv/static":            "config:run working directory",
		"/opt/tool/run":          "config:run entrypoint",
		"/etc/passwd":            "user:run user svc",
		"/usr/bin/ls":            "config:entrypoint",
	} {
		if kf, ok := kept[p]; !ok || !hasReason(kf, reason) {
			t.Errorf("%s: kept %v with %v, want reason %q", p, ok, kf.Reasons, reason)
		}
	}
}

func TestBakeConfig(t *testing.T) {
	cf := &v1.ConfigFile{Config: v1.Config{Entrypoint: []string{"/app"}, Cmd: []string{"serve"}, Env: []string{"PATH=/bin", "A=1"}, User: "app"}}
	bakeConfig(cf, RunConfig{Entrypoint: []string{"/other"}, Env: []string{"A=2", "B=3"}, WorkingDir: "/w"})
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/other" || c.Cmd != nil || c.User != "app" || c.WorkingDir != "/w" ||
		strings.Join(c.Env, " ") != "PATH=/bin A=2 B=3" {
		t.Fatalf("baked config %+v", c)
	}
}
