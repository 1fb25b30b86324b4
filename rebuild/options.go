package rebuild

import (
	"github.com/whittle-dev/whittle/event"
)

// Heuristic names a runtime heuristic: a rule that keeps files the trace may
// not show but the program needs on paths it did not take. Each is switchable
// and every file it keeps says so in its reasons.
type Heuristic string

const (
	// HeuristicConfig keeps what the image config implies: the entrypoint
	// (or command) executable found along the image's PATH, the working
	// directory and volume mount points.
	HeuristicConfig Heuristic = "config"
	// HeuristicUser keeps /etc/passwd and /etc/group when the config's User
	// is a name: the engine resolves it at container start.
	HeuristicUser Heuristic = "user"
	// HeuristicPython keeps a used .pyc's .py and a used .py's .pyc, the
	// dist-info/egg-info metadata of imported packages, the .pth files and
	// sitecustomize of used site directories, and what the import
	// statements of a module kept without having run (a plugin of an
	// input-selected directory) name.
	HeuristicPython Heuristic = "python"
	// HeuristicNSS keeps, for each name service database something looks
	// up, nsswitch.conf, the database's file for "files" and the libnss_*
	// modules of its other services; for hosts also resolv.conf, host.conf
	// and gai.conf. Evidence of a lookup: a kept program or library
	// importing the glibc function (getpw* -> passwd, getgr*/initgroups ->
	// group, getaddrinfo/gethostby*/res_* -> hosts, getnameinfo -> hosts and
	// services, getservby* -> services, getprotoby* -> protocols, getnetby*
	// -> networks, getrpcby* -> rpc, ether_* -> ethers, innetgr -> netgroup);
	// for a Go program, the os/user functions its function table holds (its
	// cgo imports are all linked whether reachable or not, and its resolver
	// is in every network server); or a traced access to the database's file
	// (or, for hosts, to the resolver's files).
	HeuristicNSS Heuristic = "nss"
	// HeuristicCACerts keeps the CA bundle (and openssl.cnf with OpenSSL)
	// on evidence: a certificate-verifying TLS library in the file set
	// (libssl, libgnutls, libnss3, libmbedtls, libwolfssl) or a traced
	// access beneath a trust store directory (/etc/ssl, /etc/pki,
	// /usr/lib/ssl, ...). A Go program's crypto/x509 is not evidence: every
	// net/http program links it.
	HeuristicCACerts Heuristic = "cacerts"
	// HeuristicLocale keeps gconv module lists when a gconv module is used
	// and the locale named by LANG/LC_ALL/LC_CTYPE.
	HeuristicLocale Heuristic = "locale"
	// HeuristicNode keeps the package.json of every node_modules package
	// a kept file belongs to.
	HeuristicNode Heuristic = "node"
)

// AllHeuristics lists every heuristic, all on by default.
var AllHeuristics = []Heuristic{HeuristicConfig, HeuristicUser, HeuristicPython, HeuristicNSS, HeuristicCACerts, HeuristicLocale, HeuristicNode}

type config struct {
	tag        string
	includes   []string
	excludes   []string
	keepShell  bool
	workDir    string
	outputDir  string
	heuristics map[Heuristic]bool
	bus        *event.Bus
	fsys       *ImageFS
	syscalls   []string
	listed     bool
	run        RunConfig
	bake       bool
	mounts     []string
}

func newConfig(opts []Option) *config {
	c := &config{heuristics: map[Heuristic]bool{}}
	for _, h := range AllHeuristics {
		c.heuristics[h] = true
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// Option configures Build (and Select, ExportImage where meaningful).
type Option func(*config)

// WithTag names the minimal image (default: DefaultTag(image)).
func WithTag(tag string) Option { return func(c *config) { c.tag = tag } }

// WithInclude keeps paths matching the globs (path.Match syntax on absolute
// paths, "**" matches any number of directories; a plain path is resolved
// through symlinks). Matched directories are kept whole.
func WithInclude(globs ...string) Option {
	return func(c *config) { c.includes = append(c.includes, globs...) }
}

// WithExclude drops paths matching the globs (and everything beneath a
// matched directory), whatever else asked for them, except parent
// directories of kept files.
func WithExclude(globs ...string) Option {
	return func(c *config) { c.excludes = append(c.excludes, globs...) }
}

// WithKeepShell keeps a shell and basic tools (sh, bash, ls, cat, ...) with
// their libraries, for debugging the minimal image.
func WithKeepShell(keep bool) Option { return func(c *config) { c.keepShell = keep } }

// WithWorkDir sets where temporary files (exported filesystem, layer) go
// (default: the system temporary directory).
func WithWorkDir(dir string) Option { return func(c *config) { c.workDir = dir } }

// WithOutputDir also writes there the minimal image as a docker-archive
// tarball (NAME.tar, loadable with docker load) and as an OCI image layout
// (NAME.oci/), the why report (why.json: Result, every kept path with its
// reasons and size, totals by reason, heuristics) and, with WithSyscalls,
// the seccomp profile (seccomp.json). NAME is the tag with unsafe
// characters replaced by "_".
func WithOutputDir(dir string) Option { return func(c *config) { c.outputDir = dir } }

// WithSyscalls gives the system calls the traced container made (x86-64
// names as Docker's profiles spell them): Build derives the seccomp profile
// of the minimal image (seccomp.Generate: those calls plus what the runtime
// needs to start it), lists the allowed calls in Result.Syscalls and, with
// WithOutputDir, writes it as seccomp.json.
func WithSyscalls(names []string) Option {
	return func(c *config) { c.syscalls = append([]string{}, names...) }
}

// WithListedDirs keeps the direct children of every directory the trace
// shows the app listing (a need with reason "traced:opendir"): regular files
// whole, subdirectories as empty directories, symbolic links with their
// targets; each with the reason "listed:DIR". Off by default: interpreters
// list their module directories (Python's importer lists every sys.path
// entry), which would keep every top-level module of the standard library;
// on, an app answering with the names of a directory's files answers the same.
func WithListedDirs(keep bool) Option { return func(c *config) { c.listed = keep } }

// WithHeuristics enables exactly the given heuristics (none when empty).
func WithHeuristics(hs ...Heuristic) Option {
	return func(c *config) {
		c.heuristics = map[Heuristic]bool{}
		for _, h := range hs {
			c.heuristics[h] = true
		}
	}
}

// WithoutHeuristics disables the given heuristics, keeping the others.
func WithoutHeuristics(hs ...Heuristic) Option {
	return func(c *config) {
		for _, h := range hs {
			delete(c.heuristics, h)
		}
	}
}

// WithEvents publishes build steps (event.Step, phase build) on bus.
func WithEvents(bus *event.Bus) Option { return func(c *config) { c.bus = bus } }

// WithImageFS makes Build use an already exported filesystem of the image
// instead of exporting it again; the caller keeps ownership (Build does not
// close it).
func WithImageFS(f *ImageFS) Option { return func(c *config) { c.fsys = f } }

func (c *config) step(name string, done, total int64) {
	if c.bus == nil {
		return
	}
	c.bus.Publish(event.Step{Stamp: event.Now(), Phase: event.PhaseBuild, Name: name, Done: done, Total: total})
}
