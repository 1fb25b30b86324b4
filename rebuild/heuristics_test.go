package rebuild

import (
	"strings"
	"testing"
)

// nssRoot is a merged-/usr tree with ls (imports getpwuid, getgrgid, ...: the
// passwd and group databases, no resolver) and every NSS, resolver and CA
// file a Debian base has.
func nssRoot(t *testing.T) *ImageFS {
	root := mergedUsrRoot(t, "/usr/bin/ls")
	for p, data := range map[string]string{
		"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\nservices: db files\nprotocols: db files\nnetworks: files\nrpc: db files\n",
		"etc/passwd":        "root:x:0:0::/root:/bin/sh\n", "etc/group": "root:x:0:\n",
		"etc/hosts": "127.0.0.1 localhost\n", "etc/resolv.conf": "nameserver 10.0.0.1\n", "etc/host.conf": "multi on\n",
		"etc/gai.conf": "# all defaults\n", "etc/services": "http 80/tcp\n", "etc/protocols": "tcp 6 TCP\n",
		"etc/networks": "link-local 169.254.0.0\n", "etc/rpc": "portmapper 100000\n",
		"etc/ssl/certs/ca-certificates.crt": "pem", "usr/lib/ssl/openssl.cnf": "# conf\n",
	} {
		writeFile(t, root, p, data, 0o644)
	}
	return openDir(t, root)
}

func TestHeuristicsNeedEvidence(t *testing.T) {
	f := nssRoot(t)
	regular := func(pl *Plan) map[string]KeptFile {
		m := map[string]KeptFile{}
		for _, kf := range pl.Files {
			if kf.Mode.IsRegular() && (strings.HasPrefix(kf.Path, "/etc/") || strings.HasPrefix(kf.Path, "/usr/lib/ssl")) {
				m[kf.Path] = kf
			}
		}
		return m
	}
	report := func(pl *Plan, h Heuristic) HeuristicReport {
		for _, r := range pl.Heuristics {
			if r.Name == h {
				return r
			}
		}
		t.Fatalf("no report for %s", h)
		return HeuristicReport{}
	}
	ls := Need{Path: "/usr/bin/ls", Reason: "traced:exec"}

	// ls looks up users and groups: passwd, group and nsswitch.conf, nothing else.
	pl := Select(f, []Need{ls})
	got := regular(pl)
	for _, p := range []string{"/etc/passwd", "/etc/group", "/etc/nsswitch.conf"} {
		if !hasReason(got[p], "nss:") {
			t.Errorf("%s: %+v", p, got[p])
		}
	}
	if !hasReason(got["/etc/passwd"], "nss:passwd database (files) for getpwnam imported by /usr/bin/ls") {
		t.Errorf("passwd reasons %q", got["/etc/passwd"].Reasons)
	}
	for _, p := range []string{"/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/services",
		"/etc/protocols", "/etc/networks", "/etc/rpc", "/etc/ssl/certs/ca-certificates.crt", "/usr/lib/ssl/openssl.cnf"} {
		if kf, ok := got[p]; ok {
			t.Errorf("%s kept without evidence: %q", p, kf.Reasons)
		}
	}
	nss := report(pl, HeuristicNSS)
	ev := strings.Join(nss.Evidence, "|")
	if !nss.Enabled || nss.Kept != 3 || !strings.HasPrefix(ev, "group: getgrgid imported by /usr/bin/ls|group: getgrnam imported by /usr/bin/ls|passwd: getpwnam imported by /usr/bin/ls|passwd: getpwuid imported by /usr/bin/ls") ||
		strings.Contains(ev, "hosts") || strings.Contains(ev, "services") {
		t.Errorf("nss report %+v", nss)
	}
	if ca := report(pl, HeuristicCACerts); ca.Kept != 0 || len(ca.Evidence) != 0 || !ca.Enabled {
		t.Errorf("cacerts report %+v", ca)
	}

	// A traced read of the resolver configuration (Go's resolver, say) is
	// evidence for the hosts database; one under /etc/ssl for the CA bundle.
	pl = Select(f, []Need{ls, {Path: "/etc/resolv.conf", Reason: "traced:open"}, {Path: "/etc/ssl/certs", Reason: "traced:opendir"}})
	got = regular(pl)
	for _, p := range []string{"/etc/hosts", "/etc/host.conf", "/etc/gai.conf", "/etc/ssl/certs/ca-certificates.crt"} {
		if len(got[p].Reasons) == 0 {
			t.Errorf("%s not kept on trace evidence", p)
		}
	}
	if !hasReason(got["/etc/hosts"], "nss:hosts database (files) for traced:open of /etc/resolv.conf") ||
		!hasReason(got["/etc/gai.conf"], "nss:resolver configuration") {
		t.Errorf("hosts %q gai %q", got["/etc/hosts"].Reasons, got["/etc/gai.conf"].Reasons)
	}
	if _, ok := got["/etc/services"]; ok {
		t.Error("services kept: nothing looks a service up")
	}
	if _, ok := got["/usr/lib/ssl/openssl.cnf"]; ok {
		t.Error("openssl.cnf kept without OpenSSL")
	}

	// Switched off, nothing: the trace alone.
	pl = Select(f, []Need{ls, {Path: "/etc/resolv.conf", Reason: "traced:open"}}, WithoutHeuristics(HeuristicNSS))
	got = regular(pl)
	if len(got) != 1 || got["/etc/resolv.conf"].Path == "" {
		t.Errorf("nss off: %v", got)
	}
	if r := report(pl, HeuristicNSS); r.Enabled || r.Kept != 0 {
		t.Errorf("nss off report %+v", r)
	}
}

// A Go program links every cgo lookup of os/user and net, reachable or not:
// only the os/user functions its function table holds count, and its
// resolver never does (only the trace can tell).
func TestNoteELFGo(t *testing.T) {
	s := &selector{}
	s.noteELF("/app", &ELFInfo{IsGo: true, Imports: []string{"getaddrinfo", "getgrgid_r", "getgrnam_r", "getnameinfo", "getpwuid_r"},
		GoFuncs: []string{"os/user.current"}})
	if len(s.nssDBs) != 1 || s.nssDBs["passwd"] != "os/user.current in /app" || s.nssLib != "/app" {
		t.Errorf("databases %v, module loader %q", s.nssDBs, s.nssLib)
	}
	s = &selector{}
	s.noteELF("/usr/bin/curl", &ELFInfo{Imports: []string{"getaddrinfo", "getservbyname"}, Needed: []string{"libssl.so.3", "libc.so.6"}})
	if s.nssDBs["hosts"] == "" || s.nssDBs["services"] == "" || s.tlsBy != "/usr/bin/curl" || s.opensslBy != "/usr/bin/curl" {
		t.Errorf("C program: %v tls %q openssl %q", s.nssDBs, s.tlsBy, s.opensslBy)
	}
	s = &selector{}
	s.noteELF("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", &ELFInfo{})
	if s.tlsBy != "" || s.opensslBy == "" {
		t.Errorf("libcrypto alone: tls %q openssl %q", s.tlsBy, s.opensslBy)
	}
	if got := goFuncsIn([]byte("\x00runtime.main\x00os/user.current\x00os/user.lookupGroupIdx\x00")); strings.Join(got, ",") != "os/user.current" {
		t.Errorf("goFuncsIn = %q", got)
	}
}
