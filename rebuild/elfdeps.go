package rebuild

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// ELFInfo is what the dynamic loader reads from an ELF object.
type ELFInfo struct {
	Class    elf.Class
	Machine  elf.Machine
	Type     elf.Type
	Interp   string   // PT_INTERP, "" when none (static or shared library)
	Needed   []string // DT_NEEDED, in order
	RPath    []string // DT_RPATH, split on ':'
	RunPath  []string // DT_RUNPATH, split on ':'
	NoDefLib bool     // DF_1_NODEFLIB: skip the cache and default directories
	IsGo     bool     // built by the Go toolchain
	// Imports are the undefined dynamic symbols among those the runtime
	// heuristics care about (see heuristicSymbols), sorted.
	Imports []string
	// GoFuncs are the functions of a Go program, among those the runtime
	// heuristics care about (see goHeuristicFuncs), that its function table
	// (.gopclntab, kept by stripped binaries) holds: the linker drops
	// unreachable functions, so they are the ones the program may call. Sorted.
	GoFuncs []string
}

// nssSymbols map the glibc functions that look names up through NSS to the
// databases they read.
var nssSymbols = map[string][]string{
	"getpwnam": {"passwd"}, "getpwnam_r": {"passwd"}, "getpwuid": {"passwd"}, "getpwuid_r": {"passwd"},
	"getpwent": {"passwd"}, "getpwent_r": {"passwd"},
	"getgrnam": {"group"}, "getgrnam_r": {"group"}, "getgrgid": {"group"}, "getgrgid_r": {"group"},
	"getgrent": {"group"}, "getgrent_r": {"group"}, "getgrouplist": {"group"}, "initgroups": {"group"},
	"getaddrinfo": {"hosts"}, "gethostbyname": {"hosts"}, "gethostbyname2": {"hosts"}, "gethostbyname_r": {"hosts"},
	"gethostbyname2_r": {"hosts"}, "gethostbyaddr": {"hosts"}, "gethostbyaddr_r": {"hosts"}, "gethostent": {"hosts"},
	"getnameinfo": {"hosts", "services"},
	"res_search":  {"hosts"}, "res_query": {"hosts"}, "res_nsearch": {"hosts"}, "res_nquery": {"hosts"},
	"getservbyname": {"services"}, "getservbyname_r": {"services"}, "getservbyport": {"services"},
	"getservbyport_r": {"services"}, "getservent": {"services"},
	"getprotobyname": {"protocols"}, "getprotobyname_r": {"protocols"}, "getprotobynumber": {"protocols"},
	"getprotobynumber_r": {"protocols"}, "getprotoent": {"protocols"},
	"getnetbyname": {"networks"}, "getnetbyaddr": {"networks"}, "getnetent": {"networks"},
	"getrpcbyname": {"rpc"}, "getrpcbynumber": {"rpc"}, "getrpcent": {"rpc"},
	"ether_hostton": {"ethers"}, "ether_ntohost": {"ethers"},
	"innetgr": {"netgroup"}, "setnetgrent": {"netgroup"}, "getnetgrent": {"netgroup"},
}

// heuristicSymbols are imported functions that reveal runtime data use:
// glibc NSS lookups (nssSymbols), setlocale, iconv.
var heuristicSymbols = func() map[string]bool {
	m := map[string]bool{"setlocale": true, "newlocale": true, "iconv_open": true}
	for s := range nssSymbols {
		m[s] = true
	}
	return m
}()

// goNSSFuncs map functions of Go's os/user (cgo and pure-Go builds) to the
// databases they read. Go's resolver is left out on purpose: every Go
// network server links it (net.Listen resolves its address) whether it ever
// looks a name up or not, so only the trace can tell.
var goNSSFuncs = map[string]string{
	"os/user.current": "passwd", "os/user.lookupUser": "passwd", "os/user.lookupUserId": "passwd",
	"os/user.lookupUnixUid": "passwd", "os/user.lookupUnixUser": "passwd",
	"os/user.lookupGroup": "group", "os/user.lookupGroupId": "group", "os/user.listGroups": "group",
	"os/user.lookupUnixGid": "group", "os/user.lookupUnixGroup": "group",
}

// goHeuristicFuncs are the Go functions ParseELF looks for.
var goHeuristicFuncs = func() []string {
	var out []string
	for f := range goNSSFuncs {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}()

// ErrNotELF reports a file that is not an ELF object.
var ErrNotELF = errors.New("not an ELF object")

var elfMagic = []byte("\x7fELF")

// ParseELF reads the loader-relevant parts of an ELF object. It never panics.
func ParseELF(r io.ReaderAt) (info *ELFInfo, err error) {
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], elfMagic) {
		return nil, ErrNotELF
	}
	defer func() {
		if p := recover(); p != nil {
			info, err = nil, fmt.Errorf("%w: parser panic: %v", ErrNotELF, p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotELF, err)
	}
	info = &ELFInfo{Class: f.Class, Machine: f.Machine, Type: f.Type}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
			if err == nil {
				info.Interp = string(bytes.TrimRight(b, "\x00"))
			}
		}
	}
	info.Needed, _ = f.DynString(elf.DT_NEEDED)
	rp, _ := f.DynString(elf.DT_RPATH)
	for _, s := range rp {
		info.RPath = append(info.RPath, strings.Split(s, ":")...)
	}
	rup, _ := f.DynString(elf.DT_RUNPATH)
	for _, s := range rup {
		info.RunPath = append(info.RunPath, strings.Split(s, ":")...)
	}
	if v, err := f.DynValue(elf.DT_FLAGS_1); err == nil {
		for _, x := range v {
			if elf.DynFlag1(x)&elf.DF_1_NODEFLIB != 0 {
				info.NoDefLib = true
			}
		}
	}
	if syms, err := f.DynamicSymbols(); err == nil {
		seen := map[string]bool{}
		for _, sym := range syms {
			if sym.Section == elf.SHN_UNDEF && heuristicSymbols[sym.Name] && !seen[sym.Name] {
				seen[sym.Name] = true
				info.Imports = append(info.Imports, sym.Name)
			}
		}
		sort.Strings(info.Imports)
	}
	for _, name := range []string{".go.buildinfo", ".note.go.buildid", ".gopclntab"} {
		if f.Section(name) != nil {
			info.IsGo = true
		}
	}
	if s := f.Section(".gopclntab"); s != nil && s.Type != elf.SHT_NOBITS && s.Size <= maxPclntab {
		if data, err := s.Data(); err == nil {
			info.GoFuncs = goFuncsIn(data)
		}
	}
	return info, nil
}

// maxPclntab bounds the function table ParseELF reads (the largest Go
// programs have tables of tens of megabytes).
const maxPclntab = 512 << 20

// goFuncsIn returns the goHeuristicFuncs whose names the function table
// holds: names are NUL-terminated strings of its funcnametab.
func goFuncsIn(pclntab []byte) []string {
	var out []string
	for _, fn := range goHeuristicFuncs {
		if bytes.Contains(pclntab, []byte("\x00"+fn+"\x00")) {
			out = append(out, fn)
		}
	}
	return out
}

// Dep is one edge of an ELF closure: From needs Name, found at Path.
type Dep struct {
	From string // real path of the object that needs it
	Name string // the DT_NEEDED entry, or the PT_INTERP path
	Kind string // "needed" or "interp"
	Path string // where it was found, as searched (may traverse symlinks); "" when not found
	Via  string // how: "path", "rpath", "LD_LIBRARY_PATH", "runpath", "ld.so.cache", "default", "ld.so.conf", "hwcaps variant"
}

// Loader models the image's dynamic loader (glibc ld.so) to compute ELF
// closures statically inside the image.
type Loader struct {
	fs        *ImageFS
	Cache     *LdCache // the image's /etc/ld.so.cache, nil when absent or unreadable
	CacheErr  error
	ConfDirs  []string // directories from /etc/ld.so.conf and its includes
	LibPath   []string // LD_LIBRARY_PATH from the image's environment
	infos     map[string]*ELFInfo
	infoErrs  map[string]error
	done      map[string]bool
	Platform  string // $PLATFORM substitution
	LibTokens []string
}

// NewLoader prepares a loader for the image, with env the image's environment
// ("K=V" strings; LD_LIBRARY_PATH is honoured).
func NewLoader(f *ImageFS, env []string) *Loader {
	l := &Loader{
		fs:        f,
		infos:     map[string]*ELFInfo{},
		infoErrs:  map[string]error{},
		done:      map[string]bool{},
		Platform:  "x86_64",
		LibTokens: []string{"lib/x86_64-linux-gnu", "lib64", "lib"},
	}
	if data, err := f.ReadFile("/etc/ld.so.cache"); err == nil {
		l.Cache, l.CacheErr = ParseLdCache(data)
	}
	l.ConfDirs = f.LdSoConfDirs("/etc/ld.so.conf")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "LD_LIBRARY_PATH="); ok {
			for _, d := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ';' }) {
				l.LibPath = append(l.LibPath, d)
			}
		}
	}
	return l
}

// Info parses (once) the ELF object at the real path p.
func (l *Loader) Info(p string) (*ELFInfo, error) {
	if info, ok := l.infos[p]; ok {
		return info, nil
	}
	if err, ok := l.infoErrs[p]; ok {
		return nil, err
	}
	fh, err := l.fs.openReal(p)
	if err != nil {
		l.infoErrs[p] = err
		return nil, err
	}
	info, err := ParseELF(fh)
	_ = fh.Close()
	if err != nil {
		l.infoErrs[p] = err
		return nil, err
	}
	l.infos[p] = info
	return info, nil
}

type closureItem struct {
	real   string // real path
	origin string // directory for $ORIGIN
}

// Closure computes the ELF closure of the object at p (any path; symlinks are
// resolved): its interpreter and every DT_NEEDED library, recursively, found
// as glibc's loader would (RPATH of the object and of the executable unless
// RUNPATH is set, LD_LIBRARY_PATH, RUNPATH with $ORIGIN, /etc/ld.so.cache,
// default multiarch and system directories; candidates of another class or
// machine are skipped). Objects whose closure a previous call computed are
// not walked again. Unresolved needs come back with an empty Path.
func (l *Loader) Closure(p string) ([]Dep, error) {
	res, err := l.fs.Resolve(p)
	if err != nil {
		return nil, err
	}
	exe, err := l.Info(res.Path)
	if err != nil {
		return nil, err
	}
	var deps []Dep
	queue := []closureItem{{real: res.Path, origin: path.Dir(res.Path)}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if l.done[it.real] {
			continue
		}
		l.done[it.real] = true
		info, err := l.Info(it.real)
		if err != nil {
			continue
		}
		if info.Interp != "" {
			d := Dep{From: it.real, Name: info.Interp, Kind: "interp", Via: "path"}
			if r, err := l.fs.Resolve(info.Interp); err == nil {
				d.Path = info.Interp
				queue = append(queue, closureItem{real: r.Path, origin: path.Dir(info.Interp)})
			}
			deps = append(deps, d)
		}
		for _, name := range info.Needed {
			found := l.find(name, info, exe, it)
			if len(found) == 0 {
				deps = append(deps, Dep{From: it.real, Name: name, Kind: "needed"})
				continue
			}
			for _, d := range found {
				deps = append(deps, d)
				if r, err := l.fs.Resolve(d.Path); err == nil {
					queue = append(queue, closureItem{real: r.Path, origin: path.Dir(d.Path)})
				}
			}
		}
	}
	return deps, nil
}

// find locates the library name needed by the object it; the first result is
// the one the loader would use, others are glibc-hwcaps variants.
func (l *Loader) find(name string, obj, exe *ELFInfo, it closureItem) []Dep {
	mk := func(p, via string) Dep {
		return Dep{From: it.real, Name: name, Kind: "needed", Path: p, Via: via}
	}
	if strings.Contains(name, "/") {
		for _, p := range l.expand(name, it.origin) {
			if l.compatible(p, obj) {
				return []Dep{mk(p, "path")}
			}
		}
		return nil
	}
	try := func(dirs []string, via string) []Dep {
		for _, d := range dirs {
			for _, dd := range l.expand(d, it.origin) {
				p := path.Join(dd, name)
				if l.compatible(p, obj) {
					return []Dep{mk(p, via)}
				}
			}
		}
		return nil
	}
	if len(obj.RunPath) == 0 {
		if r := try(obj.RPath, "rpath"); r != nil {
			return r
		}
		if obj != exe && len(exe.RunPath) == 0 {
			if r := try(exe.RPath, "rpath"); r != nil {
				return r
			}
		}
	}
	if r := try(l.LibPath, "LD_LIBRARY_PATH"); r != nil {
		return r
	}
	if r := try(obj.RunPath, "runpath"); r != nil {
		return r
	}
	if obj.NoDefLib {
		return nil
	}
	var out []Dep
	for _, e := range l.Cache.Lookup(name) {
		if !strings.HasPrefix(e.Value, "/") || !l.compatible(e.Value, obj) {
			continue
		}
		if e.HWCapsDir != "" {
			out = append(out, mk(e.Value, "hwcaps variant"))
			continue
		}
		if len(out) == 0 || out[0].Via == "hwcaps variant" {
			out = append([]Dep{mk(e.Value, "ld.so.cache")}, out...)
		}
	}
	if len(out) > 0 && out[0].Via == "ld.so.cache" {
		return out
	}
	hw := out
	if r := try(defaultLibDirs(obj), "default"); r != nil {
		return append(r, hw...)
	}
	// Not found where ld.so looks; a stale or missing cache may hide a
	// directory of ld.so.conf that ldconfig would add: keep it rather than
	// drop a library the original may load after all.
	if r := try(l.ConfDirs, "ld.so.conf"); r != nil {
		return append(r, hw...)
	}
	if r := l.jvmLibrary(name, obj, it); r != nil {
		return r
	}
	return hw
}

// expand substitutes $ORIGIN, $LIB and $PLATFORM in a search path entry and
// returns the candidates (several for $LIB, whose expansion is distribution
// specific).
func (l *Loader) expand(s, origin string) []string {
	if s == "" {
		return nil
	}
	s = strings.ReplaceAll(s, "${ORIGIN}", "$ORIGIN")
	s = strings.ReplaceAll(s, "${LIB}", "$LIB")
	s = strings.ReplaceAll(s, "${PLATFORM}", "$PLATFORM")
	s = strings.ReplaceAll(s, "$ORIGIN", origin)
	s = strings.ReplaceAll(s, "$PLATFORM", l.Platform)
	if !strings.Contains(s, "$LIB") {
		if !strings.HasPrefix(s, "/") {
			return nil // relative search paths depend on the cwd: not resolvable
		}
		return []string{path.Clean(s)}
	}
	var out []string
	for _, lib := range l.LibTokens {
		e := strings.ReplaceAll(s, "$LIB", lib)
		if strings.HasPrefix(e, "/") {
			out = append(out, path.Clean(e))
		}
	}
	return out
}

// compatible reports whether p exists in the image and is an ELF object the
// requester could load (same class and machine).
func (l *Loader) compatible(p string, obj *ELFInfo) bool {
	r, err := l.fs.Resolve(p)
	if err != nil {
		return false
	}
	info, err := l.Info(r.Path)
	if err != nil {
		return false
	}
	return info.Class == obj.Class && info.Machine == obj.Machine
}

// defaultLibDirs are the trusted directories glibc searches last, plus the
// Debian/Ubuntu multiarch directories of the object's architecture.
func defaultLibDirs(obj *ELFInfo) []string {
	var triplet string
	switch obj.Machine {
	case elf.EM_X86_64:
		triplet = "x86_64-linux-gnu"
	case elf.EM_AARCH64:
		triplet = "aarch64-linux-gnu"
	case elf.EM_386:
		triplet = "i386-linux-gnu"
	case elf.EM_ARM:
		triplet = "arm-linux-gnueabihf"
	case elf.EM_PPC64:
		triplet = "powerpc64le-linux-gnu"
	case elf.EM_S390:
		triplet = "s390x-linux-gnu"
	case elf.EM_RISCV:
		triplet = "riscv64-linux-gnu"
	}
	var dirs []string
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	if obj.Class == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	return append(dirs, "/lib", "/usr/lib")
}
