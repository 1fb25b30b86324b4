// Package seccomp makes docker-compatible seccomp profiles from the system
// calls a container was seen to make: every other call fails with EPERM.
//
// The observed calls are not enough for a container to start: runc installs
// the filter in its own process ("runc init") and keeps running under it until
// it execs the entrypoint, so the profile also allows what runc calls from
// that point on (RuntimeSyscalls). With Docker's default (no-new-privileges
// unset) runc installs the filter before it drops capabilities and switches
// user (opencontainers/runc libcontainer/standard_init_linux.go: "Without
// NoNewPrivileges seccomp is a privileged operation, so we need to do this
// before dropping capabilities"), which makes that set larger than with
// --security-opt no-new-privileges (moby/moby#22252, opencontainers/runc#2097).
package seccomp

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
)

// Action is what the kernel does on a matching call.
type Action string

// Actions used in profiles.
const (
	ActAllow Action = "SCMP_ACT_ALLOW"
	ActErrno Action = "SCMP_ACT_ERRNO"
)

// Arch is a libseccomp architecture name.
type Arch string

// Architectures of x86-64 hosts: native, and the 32-bit and x32 ABIs a
// process could switch to (Docker's default profile lists the same).
const (
	ArchX86_64 Arch = "SCMP_ARCH_X86_64"
	ArchX86    Arch = "SCMP_ARCH_X86"
	ArchX32    Arch = "SCMP_ARCH_X32"
)

// Profile is a seccomp profile in the format of Docker's
// (--security-opt seccomp=FILE) and of moby/profiles.
type Profile struct {
	DefaultAction   Action `json:"defaultAction"`
	DefaultErrnoRet *uint  `json:"defaultErrnoRet,omitempty"`
	Architectures   []Arch `json:"architectures"`
	Syscalls        []Rule `json:"syscalls"`
}

// Rule applies Action to the calls it names.
type Rule struct {
	Names  []string `json:"names"`
	Action Action   `json:"action"`
}

// EPERM is the errno denied calls get.
const EPERM = 1

// RuntimeSyscalls are the x86-64 calls made under the filter before the
// entrypoint runs, or implicitly by every process, which a trace of the
// container's processes after their first exec does not show:
//   - runc init after the filter is installed (runc 1.0 to 1.2,
//     standard_init_linux.go and finalizeNamespace in init_linux.go): closing
//     its file descriptors (/proc/self/fd walk, after checking with fstatfs
//     that it is procfs, or close_range), checking the working directory
//     is inside the container (getcwd, CVE-2024-21626 fix), dropping
//     capabilities (capget, capset, prctl), setting groups and user
//     (setgroups, setres[ug]id, applied to all threads through signals),
//     fixing stdio owners (fstat, fchown), chdir to the working directory,
//     restoring the parent-death signal, checking its parent, looking the
//     entrypoint up (stat, faccessat2), signalling the exec FIFO, execve (or
//     execveat for runc-dmz);
//   - the Go runtime runc init runs on (threads, futexes, signals, netpoll);
//   - the start of any dynamically linked program (ld.so and libc set-up),
//     and exit, exit_group, rt_sigreturn and restart_syscall, which a
//     process makes when it stops or handles a signal.
var RuntimeSyscalls = []string{
	// runc init, from the filter to execve
	"capget", "capset", "prctl", "setgroups", "setresgid", "setresuid", "setgid", "setuid",
	"getdents64", "openat", "close", "close_range", "fcntl", "fstat", "fstatfs", "newfstatat", "fchown", "chdir",
	"getcwd", "getppid", "getpid", "kill", "faccessat", "faccessat2", "access", "read", "write", "execve", "execveat",
	// the Go runtime of runc init
	"futex", "nanosleep", "sched_yield", "sched_getaffinity", "mmap", "munmap", "madvise", "mprotect",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "clone", "clone3", "gettid", "tgkill",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "pipe2", "getrandom", "brk",
	// program start (ld.so, libc)
	"arch_prctl", "pread64", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
	// stopping, signals
	"exit", "exit_group", "restart_syscall",
}

var validName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// unknownNumber matches the placeholder a tracer gives calls it cannot name.
var unknownNumber = regexp.MustCompile(`^syscall_[0-9]+$`)

// Generate returns the profile allowing the observed calls (x86-64 names,
// as Docker's profiles spell them: "openat", "newfstatat") and
// RuntimeSyscalls, denying every other call with EPERM. Names that a
// profile cannot hold (empty, malformed, or a tracer's "syscall_N"
// placeholder for an unknown number) are left out and returned as dropped.
func Generate(observed []string) (p *Profile, dropped []string) {
	set := map[string]bool{}
	for _, n := range RuntimeSyscalls {
		set[n] = true
	}
	for _, n := range observed {
		if !validName.MatchString(n) || unknownNumber.MatchString(n) {
			dropped = append(dropped, n)
			continue
		}
		set[n] = true
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	errno := uint(EPERM)
	return &Profile{
		DefaultAction:   ActErrno,
		DefaultErrnoRet: &errno,
		Architectures:   []Arch{ArchX86_64, ArchX86, ArchX32},
		Syscalls:        []Rule{{Names: names, Action: ActAllow}},
	}, dropped
}

// JSON encodes the profile, indented, with a final newline.
func (p *Profile) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding seccomp profile: %w", err)
	}
	return append(b, '\n'), nil
}

// Allowed returns the calls the profile allows, sorted.
func (p *Profile) Allowed() []string {
	var out []string
	for _, r := range p.Syscalls {
		if r.Action == ActAllow {
			out = append(out, r.Names...)
		}
	}
	sort.Strings(out)
	return out
}

// Parse decodes a profile (as Generate writes it, or any Docker profile
// without conditional rules) and checks it is one whittle can reason about:
// a known default action and rules that name calls.
func Parse(b []byte) (*Profile, error) {
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decoding seccomp profile: %w", err)
	}
	if p.DefaultAction == "" {
		return nil, fmt.Errorf("decoding seccomp profile: no defaultAction")
	}
	for i, r := range p.Syscalls {
		if len(r.Names) == 0 || r.Action == "" {
			return nil, fmt.Errorf("decoding seccomp profile: rule %d names no call or action", i)
		}
	}
	return &p, nil
}
