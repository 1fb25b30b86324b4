package rebuild

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// jvmLibrary resolves the libjvm.so a JDK's own libraries need. HotSpot's
// launcher reads lib/jvm.cfg, picks a VM (the first KNOWN one: server) and
// loads lib/VM/libjvm.so by path before anything needs it; libjava.so,
// libnet.so and the others then have NEEDED libjvm.so with RUNPATH $ORIGIN
// (lib/, where ld.so would not find it) and get the one already loaded. The
// need is resolved as the launcher does, next to the requester's jvm.cfg.
func (l *Loader) jvmLibrary(name string, obj *ELFInfo, it closureItem) []Dep {
	if name != "libjvm.so" {
		return nil
	}
	cfg, err := l.fs.ReadFile(path.Join(it.origin, "jvm.cfg"))
	if err != nil {
		return nil
	}
	for _, vm := range jvmVariants(cfg) {
		p := path.Join(it.origin, vm, name)
		if l.compatible(p, obj) {
			return []Dep{{From: it.real, Name: name, Kind: "needed", Path: p, Via: "jvm.cfg"}}
		}
	}
	return nil
}

// jvmVariants returns the VMs a jvm.cfg declares KNOWN, in its order
// ("-server KNOWN" → "server"); the launcher takes the first.
func jvmVariants(cfg []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(cfg))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[1] != "KNOWN" || !strings.HasPrefix(f[0], "-") {
			continue
		}
		vm := strings.TrimPrefix(f[0], "-")
		if vm != "" && !strings.ContainsAny(vm, "/.") {
			out = append(out, vm)
		}
	}
	return out
}
