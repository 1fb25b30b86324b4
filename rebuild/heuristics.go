package rebuild

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
)

// configNeeds keeps what the image config implies (HeuristicConfig) and the
// user database when the config's user is a name (HeuristicUser).
func (s *selector) configNeeds() {
	cf := s.fs.Config
	if cf == nil {
		return
	}
	c := cf.Config
	if s.on(HeuristicConfig) {
		argv := c.Entrypoint
		if len(argv) == 0 {
			argv = c.Cmd
		}
		if len(argv) > 0 && argv[0] != "" {
			prog := argv[0]
			if strings.Contains(prog, "/") && !strings.HasPrefix(prog, "/") {
				prog = path.Join("/", c.WorkingDir, prog) // runc resolves it from the working directory
			}
			if p := s.fs.LookPath(prog, envPath(c.Env)); p != "" {
				s.evidence(HeuristicConfig, "entrypoint "+argv[0])
				_ = s.need(p, "config:entrypoint", false)
			} else {
				s.warn(fmt.Sprintf("config: entrypoint %s not found in the image", argv[0]))
			}
		}
		if c.WorkingDir != "" {
			s.evidence(HeuristicConfig, "working directory "+c.WorkingDir)
			_ = s.need(c.WorkingDir, "config:working directory", false)
		}
		vols := make([]string, 0, len(c.Volumes))
		for v := range c.Volumes {
			vols = append(vols, v)
		}
		sort.Strings(vols)
		for _, v := range vols {
			s.evidence(HeuristicConfig, "volume "+v)
			_ = s.need(v, "config:volume", false)
		}
	}
	if s.on(HeuristicUser) && userIsName(c.User) {
		s.evidence(HeuristicUser, fmt.Sprintf("config User %q is a name the engine resolves at start", c.User))
		for _, p := range []string{"/etc/passwd", "/etc/group"} {
			if err := s.need(p, fmt.Sprintf("user:config User %q is a name", c.User), false); err != nil {
				s.warn(fmt.Sprintf("config User %q is a name but %s is missing: %v", c.User, p, err))
			}
		}
	}
}

// userIsName reports whether a config User ("user", "uid", "user:group",
// "uid:gid") needs the user database to be resolved.
func userIsName(u string) bool {
	if u == "" {
		return false
	}
	for _, part := range strings.SplitN(u, ":", 2) {
		if part == "" {
			continue
		}
		for _, r := range part {
			if r < '0' || r > '9' {
				return true
			}
		}
	}
	return false
}

// tlsLibraries are sonames of libraries that verify certificates: their
// presence in the file set is evidence that the CA bundle is read.
var tlsLibraries = []string{"libssl.so", "libgnutls.so", "libnss3.so", "libmbedtls.so", "libwolfssl.so"}

// opensslLibraries read openssl.cnf when they initialise.
var opensslLibraries = []string{"libssl.so", "libcrypto.so"}

// certDirs are where TLS libraries look for trust anchors: a traced access
// beneath them is evidence for the CA heuristic.
var certDirs = []string{"/etc/ssl", "/etc/pki", "/usr/lib/ssl", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates", "/etc/ca-certificates"}

// resolverFiles are read by name resolution (glibc's and Go's resolvers):
// a traced access is evidence for the hosts database.
var resolverFiles = []string{"/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf"}

// evidence records why heuristic h fires (each line once).
func (s *selector) evidence(h Heuristic, line string) {
	if s.evidences == nil {
		s.evidences, s.evidenceSet = map[Heuristic][]string{}, map[Heuristic]map[string]bool{}
	}
	if s.evidenceSet[h] == nil {
		s.evidenceSet[h] = map[string]bool{}
	}
	if !s.evidenceSet[h][line] {
		s.evidenceSet[h][line] = true
		s.evidences[h] = append(s.evidences[h], line)
	}
}

// useNSS records that database db is looked up, and why.
func (s *selector) useNSS(db, why string) {
	if s.nssDBs == nil {
		s.nssDBs = map[string]string{}
	}
	if _, ok := s.nssDBs[db]; !ok {
		s.nssDBs[db] = why
	}
	s.evidence(HeuristicNSS, db+": "+why)
}

// noteELF records what a kept ELF object tells the global heuristics: the
// NSS databases its imports (or, for Go, its os/user functions) look up,
// TLS and OpenSSL libraries, setlocale.
func (s *selector) noteELF(p string, info *ELFInfo) {
	names := append([]string{path.Base(p)}, info.Needed...)
	for _, n := range names {
		for _, t := range tlsLibraries {
			if strings.HasPrefix(n, t) && s.tlsBy == "" {
				s.tlsBy = p
				s.evidence(HeuristicCACerts, fmt.Sprintf("TLS library %s in %s", n, p))
			}
		}
		for _, t := range opensslLibraries {
			if strings.HasPrefix(n, t) && s.opensslBy == "" {
				s.opensslBy = p
			}
		}
	}
	nssImports := false
	for _, sym := range info.Imports {
		switch sym {
		case "setlocale", "newlocale":
			if s.localeBy == "" {
				s.localeBy = p
				s.evidence(HeuristicLocale, sym+" imported by "+p)
			}
		case "iconv_open":
		default:
			nssImports = true
			if !info.IsGo {
				for _, db := range nssSymbols[sym] {
					s.useNSS(db, sym+" imported by "+p)
				}
			}
		}
	}
	// A Go program with cgo imports every lookup of the packages it links
	// (os/user, net), reachable or not: its function table says which run.
	for _, fn := range info.GoFuncs {
		if db, ok := goNSSFuncs[fn]; ok {
			s.useNSS(db, fn+" in "+p)
		}
	}
	// NSS modules are loaded by glibc's lookups: only for objects calling them.
	if nssImports && s.nssLib == "" {
		s.nssLib, s.nssInfo = p, info
	}
}

// traceEvidence records what a traced need tells the global heuristics.
func (s *selector) traceEvidence(n Need) {
	if !strings.HasPrefix(n.Reason, "traced:") {
		return
	}
	p := cleanAbs(n.Path)
	paths := []string{p}
	if res, err := s.fs.Resolve(p); err == nil && res.Path != p {
		paths = append(paths, res.Path)
	}
	for _, q := range paths {
		for _, d := range certDirs {
			if q == d || strings.HasPrefix(q, d+"/") {
				if s.tlsBy == "" {
					s.tlsBy = q
				}
				s.evidence(HeuristicCACerts, fmt.Sprintf("%s of %s", n.Reason, n.Path))
			}
		}
		for db, f := range nssFiles {
			if q == f {
				s.useNSS(db, fmt.Sprintf("%s of %s", n.Reason, n.Path))
			}
		}
		for _, f := range resolverFiles {
			if q == f {
				s.useNSS("hosts", fmt.Sprintf("%s of %s", n.Reason, n.Path))
			}
		}
	}
}

// fileHeuristics applies the per-file heuristics to the kept regular file p.
func (s *selector) fileHeuristics(p string) {
	if s.on(HeuristicPython) {
		s.pythonFile(p)
	}
	if s.on(HeuristicNode) {
		s.nodeFile(p)
	}
	if s.on(HeuristicLocale) {
		if dir := path.Dir(p); path.Base(dir) == "gconv" && strings.HasSuffix(p, ".so") {
			s.gconvDirs[dir] = true
			s.evidence(HeuristicLocale, "gconv module "+p)
		}
	}
}

func (s *selector) pythonFile(p string) {
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	switch {
	case strings.HasSuffix(base, ".pyc") && path.Base(dir) == "__pycache__":
		stem, _, _ := strings.Cut(base, ".")
		src := path.Join(path.Dir(dir), stem+".py")
		if _, ok := s.fs.entries[src]; ok {
			_ = s.need(src, "python:source of "+p, false)
		}
	case strings.HasSuffix(base, ".py"):
		stem := strings.TrimSuffix(base, ".py")
		matches, _ := s.fs.Glob(path.Join(dir, "__pycache__", globEscape(stem)+".*.pyc"))
		for _, m := range matches {
			_ = s.need(m, "python:bytecode of "+p, false)
		}
		s.pythonImports(p)
	}
	// Remember which top-level names of which site directory are used.
	for _, marker := range []string{"/site-packages/", "/dist-packages/"} {
		i := strings.LastIndex(p, marker)
		if i < 0 {
			continue
		}
		site := p[:i+len(marker)-1]
		top, _, _ := strings.Cut(p[i+len(marker):], "/")
		if strings.HasSuffix(top, ".dist-info") || strings.HasSuffix(top, ".egg-info") || strings.HasSuffix(top, ".pth") {
			break
		}
		top, _, _ = strings.Cut(top, ".") // module.py, module.cpython-311-x86_64-linux-gnu.so
		if s.siteDirs[site] == nil {
			s.siteDirs[site] = map[string]bool{}
		}
		s.siteDirs[site][top] = true
		break
	}
}

func globEscape(s string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(s)
}

func (s *selector) nodeFile(p string) {
	if i := strings.LastIndex(p, "/node_modules/"); i >= 0 {
		rest := p[i+len("/node_modules/"):]
		parts := strings.SplitN(rest, "/", 3)
		pkg := parts[0]
		if strings.HasPrefix(pkg, "@") && len(parts) > 1 {
			pkg += "/" + parts[1]
		}
		pj := p[:i] + "/node_modules/" + pkg + "/package.json"
		if pj != p {
			if _, err := s.fs.Resolve(pj); err == nil {
				s.evidence(HeuristicNode, "package "+pkg+" used")
				_ = s.need(pj, "node:package.json of "+pkg, false)
			}
		}
	}
	switch path.Ext(p) {
	case ".js", ".mjs", ".cjs":
		// The nearest package.json decides the module type of a script.
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			pj := path.Join(d, "package.json")
			if _, err := s.fs.Resolve(pj); err == nil {
				_ = s.need(pj, "node:nearest package.json of "+p, false)
				break
			}
			if path.Base(d) == "node_modules" {
				break
			}
		}
	}
}

// globalHeuristics applies the heuristics that depend on the whole file set.
func (s *selector) globalHeuristics() {
	if s.on(HeuristicNSS) && len(s.nssDBs) > 0 {
		s.nss()
	}
	if s.on(HeuristicCACerts) && s.tlsBy != "" {
		for _, p := range []string{
			"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
			"/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		} {
			if _, err := s.fs.Resolve(p); err == nil {
				_ = s.need(p, "cacerts:TLS used by "+s.tlsBy, false)
			}
		}
		if s.opensslBy != "" {
			for _, p := range []string{"/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf", "/etc/pki/tls/openssl.cnf"} {
				if _, err := s.fs.Resolve(p); err == nil {
					_ = s.need(p, "cacerts:OpenSSL configuration for "+s.opensslBy, false)
				}
			}
		}
	}
	if s.on(HeuristicLocale) {
		s.locale()
	}
	if s.on(HeuristicPython) {
		s.pythonSites()
	}
}

// nssFiles maps NSS databases served by "files" to their file.
var nssFiles = map[string]string{
	"passwd": "/etc/passwd", "group": "/etc/group", "hosts": "/etc/hosts", "services": "/etc/services",
	"protocols": "/etc/protocols", "networks": "/etc/networks", "rpc": "/etc/rpc", "ethers": "/etc/ethers",
	"netgroup": "/etc/netgroup",
}

// builtinNSS are services compiled into glibc 2.34+ (their libnss_*.so.2 are stubs).
var builtinNSS = map[string]bool{"files": true, "dns": true}

// defaultNSS are glibc's services of a database when nsswitch.conf does not
// name it (or is absent).
var defaultNSS = map[string][]string{"hosts": {"dns", "files"}}

// nss keeps, for every database something looks up, nsswitch.conf, the
// file of its "files" service, the modules of its other services, and for
// hosts the resolver's configuration.
func (s *selector) nss() {
	var dbs map[string][]string
	if _, err := s.fs.Resolve("/etc/nsswitch.conf"); err == nil {
		if data, err := s.fs.ReadFile("/etc/nsswitch.conf"); err == nil {
			dbs = ParseNSSwitch(data)
		}
	}
	used := make([]string, 0, len(s.nssDBs))
	for db := range s.nssDBs {
		used = append(used, db)
	}
	sort.Strings(used)
	for _, db := range used {
		why := s.nssDBs[db]
		if _, err := s.fs.Resolve("/etc/nsswitch.conf"); err == nil {
			_ = s.need("/etc/nsswitch.conf", fmt.Sprintf("nss:%s lookups (%s)", db, why), false)
		}
		svcs, ok := dbs[db]
		if !ok {
			svcs = defaultNSS[db]
			if svcs == nil {
				svcs = []string{"files"}
			}
		}
		for _, svc := range svcs {
			if svc == "files" || svc == "compat" {
				if f, ok := nssFiles[db]; ok {
					if _, err := s.fs.Resolve(f); err == nil {
						_ = s.need(f, fmt.Sprintf("nss:%s database (%s) for %s", db, svc, why), false)
					}
				}
			}
			if s.nssLib == "" || builtinNSS[svc] {
				continue
			}
			soname := "libnss_" + svc + ".so.2"
			// A module missing from the image is missing from the original
			// too: glibc skips it, nothing to keep.
			for _, d := range s.loader.find(soname, s.nssInfo, s.nssInfo, closureItem{real: s.nssLib, origin: "/"}) {
				_ = s.need(d.Path, fmt.Sprintf("nss:%s module for %s", soname, db), false)
			}
		}
		if db == "hosts" {
			for _, f := range resolverFiles {
				if f == nssFiles["hosts"] {
					continue // kept above when a service reads it
				}
				if _, err := s.fs.Resolve(f); err == nil {
					_ = s.need(f, "nss:resolver configuration for "+why, false)
				}
			}
		}
	}
}

// ParseNSSwitch parses nsswitch.conf: "database: service [STATUS=action] ...".
// It returns the services of each database, in order.
func ParseNSSwitch(data []byte) map[string][]string {
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		db, rest, ok := strings.Cut(line, ":")
		db = strings.TrimSpace(db)
		if !ok || db == "" || strings.ContainsAny(db, " \t") {
			continue
		}
		var svcs []string
		depth := 0
		for _, w := range strings.Fields(rest) {
			if strings.HasPrefix(w, "[") {
				depth++
			}
			if depth == 0 {
				svcs = append(svcs, w)
			}
			if strings.HasSuffix(w, "]") && depth > 0 {
				depth--
			}
		}
		out[db] = svcs
	}
	return out
}

func (s *selector) locale() {
	dirs := make([]string, 0, len(s.gconvDirs))
	for d := range s.gconvDirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		for _, f := range []string{"gconv-modules", "gconv-modules.cache"} {
			if _, ok := s.fs.entries[path.Join(d, f)]; ok {
				_ = s.need(path.Join(d, f), "locale:gconv module list", false)
			}
		}
		if h, ok := s.fs.entries[path.Join(d, "gconv-modules.d")]; ok && h.Typeflag == tar.TypeDir {
			_ = s.need(path.Join(d, "gconv-modules.d"), "locale:gconv module list", true)
		}
	}
	if s.localeBy == "" {
		return // nothing calls setlocale: LANG is never read
	}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		if k != "LANG" && k != "LC_ALL" && k != "LC_CTYPE" && k != "LC_MESSAGES" {
			continue
		}
		if v == "" || v == "C" || v == "POSIX" {
			continue
		}
		reason := fmt.Sprintf("locale:%s=%s for %s", k, v, s.localeBy)
		found := false
		for _, name := range localeNames(v) {
			p := "/usr/lib/locale/" + name
			if h, ok := s.fs.entries[p]; ok && h.Typeflag == tar.TypeDir {
				_ = s.need(p, reason, true)
				found = true
				break
			}
		}
		if !found {
			if _, err := s.fs.Resolve("/usr/lib/locale/locale-archive"); err == nil {
				_ = s.need("/usr/lib/locale/locale-archive", reason, false)
			}
		}
	}
}

// localeNames returns the directory names glibc tries for a locale value:
// as given, then with the codeset normalised ("UTF-8" -> "utf8").
func localeNames(v string) []string {
	names := []string{v}
	if base, rest, ok := strings.Cut(v, "."); ok {
		cs, mod, _ := strings.Cut(rest, "@")
		norm := strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(cs))
		n := base + "." + norm
		if mod != "" {
			n += "@" + mod
		}
		if n != v {
			names = append(names, n)
		}
	}
	return names
}

// pythonSites keeps, for every site directory with used modules, its .pth
// files, sitecustomize/usercustomize and the metadata of used packages.
func (s *selector) pythonSites() {
	sites := make([]string, 0, len(s.siteDirs))
	for d := range s.siteDirs {
		sites = append(sites, d)
	}
	sort.Strings(sites)
	for _, site := range sites {
		used := s.siteDirs[site]
		s.evidence(HeuristicPython, fmt.Sprintf("site directory %s: %d top-level modules used", site, len(used)))
		for _, name := range s.fs.ReadDir(site) {
			p := path.Join(site, name)
			switch {
			case strings.HasSuffix(name, ".pth"):
				_ = s.need(p, "python:.pth of used site directory "+site, false)
			case name == "sitecustomize.py" || name == "usercustomize.py":
				_ = s.need(p, "python:startup hook of "+site, false)
			case strings.HasSuffix(name, ".dist-info") || strings.HasSuffix(name, ".egg-info"):
				for _, top := range s.metadataTops(p) {
					if used[top] {
						h := s.fs.entries[p]
						_ = s.need(p, "python:metadata of "+top, h != nil && h.Typeflag == tar.TypeDir)
						break
					}
				}
			}
		}
	}
}

// metadataTops returns the top-level import names a dist-info/egg-info
// describes: top_level.txt, else the first components of RECORD, else the
// distribution name.
func (s *selector) metadataTops(p string) []string {
	if tops, ok := s.metaTops[p]; ok {
		return tops
	}
	var tops []string
	seen := map[string]bool{}
	add := func(t string) {
		t = strings.TrimSpace(t)
		if t != "" && !seen[t] {
			seen[t] = true
			tops = append(tops, t)
		}
	}
	if data, err := s.fs.ReadFile(p + "/top_level.txt"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			add(l)
		}
	} else if data, err := s.fs.ReadFile(p + "/RECORD"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			f, _, _ := strings.Cut(l, ",")
			f = strings.Trim(f, `"`)
			if strings.HasPrefix(f, "..") || strings.HasPrefix(f, "/") {
				continue
			}
			top, _, _ := strings.Cut(f, "/")
			if strings.HasSuffix(top, ".dist-info") || strings.HasSuffix(top, ".egg-info") || top == "__pycache__" {
				continue
			}
			top, _, _ = strings.Cut(top, ".")
			add(top)
		}
	}
	dist := strings.TrimSuffix(strings.TrimSuffix(path.Base(p), ".dist-info"), ".egg-info")
	dist, _, _ = strings.Cut(dist, "-")
	add(strings.ToLower(strings.ReplaceAll(dist, "-", "_")))
	add(dist)
	s.metaTops[p] = tops
	return tops
}
