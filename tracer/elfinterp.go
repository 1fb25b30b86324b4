package tracer

import (
	"debug/elf"
	"io"
	"strings"
)

// The ELF interpreter (PT_INTERP, e.g. /lib64/ld-linux-x86-64.so.2) is
// opened by the kernel inside execve, so no syscall shows it. After every
// successful exec the collector reads the executed file's PT_INTERP through
// the container's root and records it as an exec of the path exactly as the
// binary names it: the rebuild then keeps every symlink on the way.

const maxInterpLen = 4096

// readInterp returns the PT_INTERP string of an ELF file, "" when it has
// none (static binaries, scripts, non-ELF files).
func readInterp(file string) string {
	f, err := elf.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
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
