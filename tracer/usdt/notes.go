// Package usdt reads the SystemTap SDT probes (USDT) of an ELF file: the
// .note.stapsdt notes with each probe's provider, name, location,
// semaphore and argument specification, converted to the file offsets that
// uprobes take. Parsers never panic on malformed input: they are fuzzed.
package usdt

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrNoProbes: the file has no .note.stapsdt section.
var ErrNoProbes = errors.New("no USDT probes (.note.stapsdt)")

// Probe is one USDT probe site.
type Probe struct {
	Provider, Name string
	// PC and Semaphore are virtual addresses, adjusted for prelinking
	// (.stapsdt.base); Semaphore is 0 when the probe has none.
	PC, Semaphore uint64
	// Offset and SemaphoreOffset are the file offsets uprobes take
	// (UprobeOptions.Address and RefCtrOffset).
	Offset, SemaphoreOffset uint64
	// ArgSpec is the raw argument string, e.g. "8@%r14 8@%rax -4@%ebp".
	ArgSpec string
	Args    []Arg
	// ArgErr is set when ArgSpec could not be parsed (Args is then nil).
	ArgErr error
	// NoteBase is the note's base field: the link-time address of
	// .stapsdt.base, against which PC and Semaphore are adjusted.
	NoteBase uint64
}

func (p Probe) String() string { return p.Provider + ":" + p.Name }

const ntStapsdt = 3

// Read returns the USDT probes of the ELF file at path.
func Read(path string) ([]Probe, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// Parse returns the USDT probes of an ELF file, with file offsets. It never
// panics.
func Parse(r io.ReaderAt) (probes []Probe, err error) {
	defer func() {
		if p := recover(); p != nil {
			probes, err = nil, fmt.Errorf("malformed ELF file: %v", p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	sec := f.Section(".note.stapsdt")
	if sec == nil || sec.Type != elf.SHT_NOTE {
		return nil, ErrNoProbes
	}
	if sec.Size > 64<<20 {
		return nil, fmt.Errorf(".note.stapsdt too large (%d bytes)", sec.Size)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading .note.stapsdt: %w", err)
	}
	var base uint64
	var haveBase bool
	if s := f.Section(".stapsdt.base"); s != nil {
		base, haveBase = s.Addr, true
	}
	ptr := 8
	if f.Class == elf.ELFCLASS32 {
		ptr = 4
	}
	notes, err := ParseNotes(data, f.ByteOrder, ptr)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		p := n
		if haveBase && n.NoteBase != 0 {
			// Prelink moved the file: shift by the base's displacement.
			p.PC += base - n.NoteBase
			if p.Semaphore != 0 {
				p.Semaphore += base - n.NoteBase
			}
		}
		off, ok := fileOffset(f, p.PC, true)
		if !ok {
			return nil, fmt.Errorf("probe %s: location %#x is not in an executable segment", p, p.PC)
		}
		p.Offset = off
		if p.Semaphore != 0 {
			if p.SemaphoreOffset, ok = fileOffset(f, p.Semaphore, false); !ok {
				return nil, fmt.Errorf("probe %s: semaphore %#x is not in a file-backed segment", p, p.Semaphore)
			}
		}
		probes = append(probes, p)
	}
	return probes, nil
}

// fileOffset converts a virtual address through the PT_LOAD segments.
func fileOffset(f *elf.File, vaddr uint64, exec bool) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || (exec && p.Flags&elf.PF_X == 0) {
			continue
		}
		if vaddr >= p.Vaddr && vaddr-p.Vaddr < p.Filesz {
			return p.Off + vaddr - p.Vaddr, true
		}
	}
	return 0, false
}

// ParseNotes decodes the notes of a .note.stapsdt section (ELF note format:
// namesz, descsz, type, "stapsdt\0" padded to 4, then the descriptor: pc,
// base, semaphore, and the NUL-terminated provider, name and arguments).
// Notes of other owners or types are skipped. It never panics.
func ParseNotes(data []byte, order binary.ByteOrder, ptrSize int) ([]Probe, error) {
	if ptrSize != 4 && ptrSize != 8 {
		return nil, fmt.Errorf("bad pointer size %d", ptrSize)
	}
	var out []Probe
	for len(data) > 0 {
		if len(data) < 12 {
			return nil, fmt.Errorf("truncated note header (%d bytes)", len(data))
		}
		namesz, descsz, typ := order.Uint32(data), order.Uint32(data[4:]), order.Uint32(data[8:])
		nameEnd := 12 + align4(uint64(namesz))
		descEnd := nameEnd + align4(uint64(descsz))
		if nameEnd > uint64(len(data)) || descEnd > uint64(len(data)) {
			return nil, fmt.Errorf("note sizes %d+%d exceed the section", namesz, descsz)
		}
		name := strings.TrimRight(string(data[12:12+namesz]), "\x00")
		desc := data[nameEnd : nameEnd+uint64(descsz)]
		data = data[descEnd:]
		if name != "stapsdt" || typ != ntStapsdt {
			continue
		}
		n, err := parseDesc(desc, order, ptrSize)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

func parseDesc(d []byte, order binary.ByteOrder, ptrSize int) (Probe, error) {
	var n Probe
	if len(d) < 3*ptrSize {
		return n, fmt.Errorf("truncated stapsdt descriptor (%d bytes)", len(d))
	}
	word := func(i int) uint64 {
		if ptrSize == 4 {
			return uint64(order.Uint32(d[i*4:]))
		}
		return order.Uint64(d[i*8:])
	}
	n.PC, n.NoteBase, n.Semaphore = word(0), word(1), word(2)
	strs := strings.SplitN(string(d[3*ptrSize:]), "\x00", 4)
	if len(strs) < 4 {
		return n, fmt.Errorf("stapsdt descriptor: want provider, name and arguments, got %q", strs)
	}
	n.Provider, n.Name, n.ArgSpec = strs[0], strs[1], strs[2]
	if n.Provider == "" || n.Name == "" {
		return n, errors.New("stapsdt descriptor without provider or name")
	}
	n.Args, n.ArgErr = ParseArgs(n.ArgSpec)
	if n.ArgErr != nil {
		n.Args = nil
	}
	return n, nil
}

// Find returns every site of the probe provider:name.
func Find(probes []Probe, provider, name string) []Probe {
	var out []Probe
	for _, p := range probes {
		if p.Provider == provider && p.Name == name {
			out = append(out, p)
		}
	}
	return out
}
