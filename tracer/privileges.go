package tracer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
)

// ErrNotRoot: the process may not load BPF programs.
var ErrNotRoot = errors.New("tracing needs root, or the CAP_BPF and CAP_PERFMON capabilities: run whittle with sudo (or `setcap cap_bpf,cap_perfmon+ep` on its binary)")

// ErrNotSupported: the kernel lacks a feature the tracer needs.
var ErrNotSupported = errors.New("kernel feature not supported")

const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// checkPrivileges fails with ErrNotRoot unless the effective capabilities
// allow loading tracing programs: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON.
func checkPrivileges() error {
	caps, err := effectiveCaps("/proc/self/status")
	if err != nil {
		if os.Geteuid() == 0 {
			return nil
		}
		return fmt.Errorf("%w (euid %d; reading capabilities: %v)", ErrNotRoot, os.Geteuid(), err)
	}
	has := func(c uint) bool { return caps&(1<<c) != 0 }
	if has(capSysAdmin) || (has(capBPF) && has(capPerfmon)) {
		return nil
	}
	return fmt.Errorf("%w (euid %d, effective capabilities %#x)", ErrNotRoot, os.Geteuid(), caps)
}

func effectiveCaps(status string) (uint64, error) {
	f, err := os.Open(status)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseCapEff(bufio.NewScanner(f))
}

func parseCapEff(sc *bufio.Scanner) (uint64, error) {
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapEff line")
}

// checkFeatures fails with ErrNotSupported when a kernel feature every
// tracepoint tier needs is missing.
func checkFeatures() error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("%w: the tracer's syscall decoding is x86_64-only for now (running on %s)", ErrNotSupported, runtime.GOARCH)
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return fmt.Errorf("%w: BPF ring buffer (Linux 5.8+): %v", ErrNotSupported, err)
	}
	if err := features.HaveProgramType(ebpf.RawTracepoint); err != nil {
		return fmt.Errorf("%w: raw tracepoint programs: %v", ErrNotSupported, err)
	}
	if _, err := btf.LoadKernelSpec(); err != nil {
		return fmt.Errorf("%w: kernel BTF for CO-RE (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): %v", ErrNotSupported, err)
	}
	return nil
}
