package jvm

import (
	"bytes"
	"debug/elf"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// agentSO is the agent (agent/agent.c), built by go generate: freestanding,
// x86-64.
//
//go:embed libwhittlejvm_amd64.so
var agentSO []byte

const (
	// MountPoint is where the agent's directory is mounted, read-only, in a
	// traced container: a path no image uses.
	MountPoint = "/.whittle-jvm"
	agentName  = "libwhittlejvm.so"
	// Symbols of the agent (agent/agent.c).
	messageSymbol = "whittle_jvm_message"
	readySymbol   = "whittle_jvm_ready"
	counterSymbol = "whittle_jvm_attached"
)

// Agent is whittle's JVMTI agent written to a private directory of this
// machine, to be mounted read-only into the traced containers (and only
// them) at MountPoint and loaded through JAVA_TOOL_OPTIONS.
type Agent struct {
	// Dir is the host directory holding the agent and nothing else: the
	// mount's source.
	Dir string
	// File is the agent's host path, on which the probe is attached.
	File string

	offsets agentOffsets
	once    sync.Once
}

// agentOffsets are the file offsets the probes need: the message and
// ready functions' entries and the message probe's reference counter.
type agentOffsets struct {
	message, ready, counter uint64
}

// InstallAgent writes the agent into a new directory under dir, readable by
// any user: the JVM may run as any user of the container. When dir is "",
// the system's temporary directory, or /var/tmp when that is mounted
// noexec (a bind mount keeps the flag, and the JVM could not map the
// agent). Remove deletes it.
func InstallAgent(dir string) (*Agent, error) {
	offs, err := readOffsets(agentSO)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = execDir(os.TempDir(), "/var/tmp")
	}
	d, err := os.MkdirTemp(dir, "whittle-jvm-")
	if err != nil {
		return nil, fmt.Errorf("installing the JVM agent: %w", err)
	}
	a := &Agent{Dir: d, File: filepath.Join(d, agentName), offsets: offs}
	if err := os.Chmod(d, 0o755); err != nil {
		a.Remove()
		return nil, fmt.Errorf("installing the JVM agent: %w", err)
	}
	if err := os.WriteFile(a.File, agentSO, 0o644); err != nil {
		a.Remove()
		return nil, fmt.Errorf("installing the JVM agent: %w", err)
	}
	// WriteFile honours the umask; the mode must not depend on it.
	if err := os.Chmod(a.File, 0o644); err != nil {
		a.Remove()
		return nil, fmt.Errorf("installing the JVM agent: %w", err)
	}
	return a, nil
}

// execDir returns the first of dirs whose filesystem allows executable
// mappings, else the first.
func execDir(dirs ...string) string {
	for _, d := range dirs {
		var st unix.Statfs_t
		if unix.Statfs(d, &st) == nil && st.Flags&unix.ST_NOEXEC == 0 {
			return d
		}
	}
	return dirs[0]
}

// Remove deletes the agent's directory (the containers using it should be
// gone: a running JVM keeps its mapping, not the file).
func (a *Agent) Remove() {
	a.once.Do(func() { _ = os.RemoveAll(a.Dir) })
}

// InContainer is the agent's path inside a traced container.
func (a *Agent) InContainer() string { return MountPoint + "/" + agentName }

// ErrScopePattern: a scope pattern the agent's options cannot carry.
var ErrScopePattern = errors.New("invalid JVM scope pattern")

// JavaToolOptions is the value of JAVA_TOOL_OPTIONS for a traced
// container: the image's own value (from its environment, KEY=VALUE
// entries), then the agent. scope replaces the agent's own choice of the
// application's packages: "com.example.shop" or "com/example/shop/**".
func (a *Agent) JavaToolOptions(imageEnv []string, scope ...string) (string, error) {
	opt := "-agentpath:" + a.InContainer()
	var prefixes []string
	for _, p := range scope {
		if p == "" || strings.ContainsAny(p, " \t\n\"',;=") {
			return "", fmt.Errorf("%w: %q", ErrScopePattern, p)
		}
		prefixes = append(prefixes, p)
	}
	if len(prefixes) > 0 {
		opt += "=scope=" + strings.Join(prefixes, ",")
	}
	for _, kv := range imageEnv {
		if v, ok := strings.CutPrefix(kv, "JAVA_TOOL_OPTIONS="); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v) + " " + opt, nil
		}
	}
	return opt, nil
}

// readOffsets finds the probe's file offsets in the agent's ELF file.
func readOffsets(so []byte) (agentOffsets, error) {
	f, err := elf.NewFile(bytes.NewReader(so))
	if err != nil {
		return agentOffsets{}, fmt.Errorf("reading the JVM agent: %w", err)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return agentOffsets{}, fmt.Errorf("reading the JVM agent's symbols: %w", err)
	}
	var offs agentOffsets
	for _, s := range syms {
		switch s.Name {
		case messageSymbol:
			offs.message, err = fileOffset(f, s.Value, elf.PF_X)
		case readySymbol:
			offs.ready, err = fileOffset(f, s.Value, elf.PF_X)
		case counterSymbol:
			offs.counter, err = fileOffset(f, s.Value, elf.PF_W)
		}
		if err != nil {
			return agentOffsets{}, fmt.Errorf("the JVM agent's %s: %w", s.Name, err)
		}
	}
	if offs.message == 0 || offs.ready == 0 || offs.counter == 0 {
		return agentOffsets{}, errors.New("the JVM agent lacks its probe symbols")
	}
	return offs, nil
}

// fileOffset maps a virtual address to its file offset, in a loaded segment
// with the given permission and backed by the file (the kernel counts
// references in file-backed mappings only).
func fileOffset(f *elf.File, vaddr uint64, flag elf.ProgFlag) (uint64, error) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&flag != 0 && vaddr >= p.Vaddr && vaddr+2 <= p.Vaddr+p.Filesz {
			return vaddr - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("address %#x is in no file-backed %v segment", vaddr, flag)
}
