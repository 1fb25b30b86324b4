package tracer

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// Tier is how file accesses are observed, best first. TierAuto picks the
// best one the kernel accepts and falls back cleanly.
type Tier int

const (
	// TierAuto picks the best tier that loads.
	TierAuto Tier = iota
	// TierLSM: LSM hooks (file_open, bprm_check_security, mmap_file) with
	// bpf_d_path. Probed, not implemented yet.
	TierLSM
	// TierFentry: fentry on security_file_open. Probed, not implemented yet.
	TierFentry
	// TierTracepointKernelPath: syscall raw tracepoints; the base directory
	// of relative paths (cwd, dirfd) is resolved by walking dentries in BPF,
	// at the time of the syscall.
	TierTracepointKernelPath
	// TierTracepointUserPath: syscall raw tracepoints; bases are resolved in
	// user space from a shadow of each process's cwd and descriptors kept
	// from the events themselves, falling back to /proc/PID/{cwd,fd}.
	TierTracepointUserPath
)

var tierNames = map[Tier]string{
	TierAuto:                 "auto",
	TierLSM:                  "lsm",
	TierFentry:               "fentry",
	TierTracepointKernelPath: "tracepoint-kernel-path",
	TierTracepointUserPath:   "tracepoint-user-path",
}

func (t Tier) String() string {
	if s, ok := tierNames[t]; ok {
		return s
	}
	return fmt.Sprintf("tier(%d)", int(t))
}

// ParseTier is the inverse of Tier.String.
func ParseTier(s string) (Tier, error) {
	for t, n := range tierNames {
		if n == s {
			return t, nil
		}
	}
	return TierAuto, fmt.Errorf("unknown tracer tier %q (auto, lsm, fentry, tracepoint-kernel-path, tracepoint-user-path)", s)
}

// tierOrder is the preference order TierAuto walks.
var tierOrder = []Tier{TierLSM, TierFentry, TierTracepointKernelPath, TierTracepointUserPath}

// TierStatus says whether a tier can be used here, and why not.
type TierStatus struct {
	Tier Tier
	Err  error // nil when usable; wraps ErrNotSupported otherwise
}

// ProbeTiers reports, for every tier, whether this kernel and this version
// of the tracer can use it. It loads (and for LSM/fentry briefly attaches)
// small programs, so it needs the same privileges as New.
func ProbeTiers() []TierStatus {
	var out []TierStatus
	if err := checkPrivileges(); err != nil {
		for _, t := range tierOrder {
			out = append(out, TierStatus{t, err})
		}
		return out
	}
	_ = rlimit.RemoveMemlock()
	host, _ := procfs.NSInode("/proc/self/ns/mnt")
	for _, t := range tierOrder {
		var err error
		switch t {
		case TierLSM, TierFentry:
			err = probeUnimplemented(t)
		default:
			var objs *tracerObjects
			objs, err = loadObjects(t, host, defaultRingBufferSize)
			if err == nil {
				objs.Close()
			}
		}
		out = append(out, TierStatus{t, err})
	}
	return out
}

var errTierNotImplemented = errors.New("the kernel accepts it, but this version of whittle does not implement it yet")

// probeUnimplemented checks whether the kernel would run an LSM or fentry
// program, then reports the tier as unavailable either way: its programs are
// a later phase. On this project's machines both fail with EPERM at load.
func probeUnimplemented(t Tier) error {
	if err := probeTier(t); err != nil {
		return fmt.Errorf("%w: tier %s: %v", ErrNotSupported, t, err)
	}
	return fmt.Errorf("%w: tier %s: %v", ErrNotSupported, t, errTierNotImplemented)
}

func probeTier(t Tier) error {
	spec := &ebpf.ProgramSpec{
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
	}
	switch t {
	case TierLSM:
		spec.Type, spec.AttachType, spec.AttachTo = ebpf.LSM, ebpf.AttachLSMMac, "file_open"
	case TierFentry:
		spec.Type, spec.AttachType, spec.AttachTo = ebpf.Tracing, ebpf.AttachTraceFEntry, "security_file_open"
	default:
		return fmt.Errorf("no probe for tier %s", t)
	}
	prog, err := ebpf.NewProgram(spec)
	if errors.Is(err, syscall.EPERM) {
		// cilium/ebpf suggests MEMLOCK here; as root that is never it.
		return fmt.Errorf("loading a %s program: the kernel refused it (EPERM: lockdown, or a kernel without BPF trampolines/LSM)", t)
	}
	if err != nil {
		return fmt.Errorf("loading a %s program: %w", t, err)
	}
	defer prog.Close()
	var l link.Link
	if t == TierLSM {
		l, err = link.AttachLSM(link.LSMOptions{Program: prog})
	} else {
		l, err = link.AttachTracing(link.TracingOptions{Program: prog})
	}
	if err != nil {
		return fmt.Errorf("attaching a %s program: %w", t, err)
	}
	return l.Close()
}
