package tracer

import (
	"debug/elf"
	"io"
	"strings"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// The ELF interpreter (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2) is
// opened by the kernel inside execve, so no syscall shows it. After every
// successful exec the collector reads the executed file's PT_INTERP through
// the container's root and records it as an exec of the path exactly as the
// binary names it: the rebuild then keeps every symlink on the way.

const maxInterpLen = 4096

// readInterp returns the PT_INTERP string of the ELF file at path exe in
// the container's root, "" when it has none (static binaries, scripts,
// non-ELF files).
func readInterp(root *procfs.Root, exe string) string {
	file, err := root.Open(exe)
	if err != nil {
		return ""
	}
	defer file.Close()
	f, err := elf.NewFile(file)
	if err != nil {
		return ""
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), maxInterpLen))
		if err != nil {
			return ""
		}
		return strings.TrimRight(string(b), "\x00")
	}
	return ""
}
