// Package elfsym lists the functions of an ELF executable with the file
// offsets uprobes need: from .symtab when the binary has one, else from the
// Go pclntab of a stripped Go binary (internally or externally linked, the
// latter being the dangerous case: its .text starts with C code, so the Go
// text start must be read from the module data, never assumed).
//
// Every entry it returns lies in an executable PT_LOAD segment, outside the
// range of the previous function, and decodes as an x86-64 instruction
// (CheckEntry). Parsers never panic on malformed input: they are fuzzed.
package elfsym

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNoFunctions: the binary has neither a usable .symtab nor a Go pclntab.
var ErrNoFunctions = errors.New("no function table (.symtab, Go pclntab or exported functions in .dynsym)")

// ErrNoTextStart: a Go pclntab was found but the start of the Go text could
// not be established; probing at guessed addresses would crash the target.
var ErrNoTextStart = errors.New("the Go text start could not be established (no module data, runtime.text or pclntab textStart)")

// Binary is an opened ELF executable or shared object.
type Binary struct {
	f     *elf.File
	r     io.ReaderAt
	loads []segment
	// Go build information, when present.
	GoVersion  string // e.g. "go1.26.8"
	GoMainPath string // main module path, e.g. "github.com/whittle-dev/gopets"
	GoPath     string // main package path ("command-line-arguments" for go run files)
	closer     io.Closer
}

type segment struct {
	vaddr, memsz, off, filesz uint64
	exec, write               bool
}

// Open opens the ELF file at path.
func Open(path string) (*Binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	b, err := NewBinary(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b.closer = f
	return b, nil
}

// NewBinary reads an ELF file from r. It never panics on malformed input.
func NewBinary(r io.ReaderAt) (b *Binary, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("malformed ELF file: %v", p)
		}
	}()
	size, err := readerSize(r)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	b = &Binary{f: f, r: r}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if p.Vaddr+p.Memsz < p.Vaddr || p.Off+p.Filesz < p.Off || p.Off+p.Filesz > uint64(size) {
			return nil, fmt.Errorf("malformed PT_LOAD at vaddr %#x (offset %#x + %#x, file of %d bytes)", p.Vaddr, p.Off, p.Filesz, size)
		}
		b.loads = append(b.loads, segment{
			vaddr: p.Vaddr, memsz: p.Memsz, off: p.Off, filesz: p.Filesz,
			exec: p.Flags&elf.PF_X != 0, write: p.Flags&elf.PF_W != 0,
		})
	}
	if info, err := buildinfo.Read(r); err == nil {
		b.GoVersion, b.GoMainPath, b.GoPath = info.GoVersion, info.Main.Path, info.Path
	}
	return b, nil
}

// readerSize returns the size of what r reads: segments claiming more are
// malformed (and must not make us allocate their claimed size).
func readerSize(r io.ReaderAt) (int64, error) {
	switch x := r.(type) {
	case interface{ Size() int64 }:
		return x.Size(), nil
	case interface{ Stat() (os.FileInfo, error) }:
		fi, err := x.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	return 0, errors.New("cannot tell the size of the ELF file reader")
}

// Close closes the file opened by Open.
func (b *Binary) Close() error {
	if b.closer != nil {
		return b.closer.Close()
	}
	return nil
}

// ELF returns the parsed ELF file.
func (b *Binary) ELF() *elf.File { return b.f }

// IsGo reports whether the binary carries Go build information.
func (b *Binary) IsGo() bool { return b.GoVersion != "" }

// FileOffset converts a virtual address to a file offset through the PT_LOAD
// segments; ok is false when no segment holds the address in the file.
func (b *Binary) FileOffset(vaddr uint64) (off uint64, ok bool) {
	for _, s := range b.loads {
		if vaddr >= s.vaddr && vaddr-s.vaddr < s.filesz {
			return s.off + (vaddr - s.vaddr), true
		}
	}
	return 0, false
}

// Executable reports whether vaddr lies in the file part of an executable
// PT_LOAD segment, and the end of that segment.
func (b *Binary) Executable(vaddr uint64) (end uint64, ok bool) {
	for _, s := range b.loads {
		if s.exec && vaddr >= s.vaddr && vaddr-s.vaddr < s.filesz {
			return s.vaddr + s.filesz, true
		}
	}
	return 0, false
}

// ReadAt reads len(p) bytes at virtual address vaddr (file-backed only).
func (b *Binary) ReadAt(p []byte, vaddr uint64) error {
	off, ok := b.FileOffset(vaddr)
	if !ok {
		return fmt.Errorf("address %#x is not in a file-backed segment", vaddr)
	}
	if end, ok := b.FileOffset(vaddr + uint64(len(p)) - 1); len(p) > 0 && (!ok || end-off != uint64(len(p))-1) {
		return fmt.Errorf("range %#x+%d crosses a segment", vaddr, len(p))
	}
	n, err := b.r.ReadAt(p, int64(off))
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// maxSection bounds the section sizes read into memory (a malformed header
// must not make us allocate gigabytes).
const maxSection = 1 << 30

// sectionData returns the contents of the named section, nil when absent.
func (b *Binary) sectionData(name string) ([]byte, *elf.Section, error) {
	s := b.f.Section(name)
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, nil, nil
	}
	if s.Size > maxSection {
		return nil, s, fmt.Errorf("section %s too large (%d bytes)", name, s.Size)
	}
	data, err := s.Data()
	if err != nil {
		return nil, s, fmt.Errorf("reading section %s: %w", name, err)
	}
	return data, s, nil
}

// segmentData returns the file contents of every PT_LOAD segment matching
// keep, with their virtual addresses.
func (b *Binary) segmentData(keep func(segment) bool) ([]loadedSegment, error) {
	var out []loadedSegment
	for _, s := range b.loads {
		if !keep(s) || s.filesz == 0 {
			continue
		}
		if s.filesz > maxSection {
			return nil, fmt.Errorf("segment at %#x too large (%d bytes)", s.vaddr, s.filesz)
		}
		data := make([]byte, s.filesz)
		n, err := b.r.ReadAt(data, int64(s.off))
		if n != len(data) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading segment at %#x: %w", s.vaddr, err)
		}
		out = append(out, loadedSegment{vaddr: s.vaddr, data: data})
	}
	return out, nil
}

type loadedSegment struct {
	vaddr uint64
	data  []byte
}

// Functions lists the binary's functions: from .symtab when present, else
// from the Go pclntab, else the exported ones of .dynsym. Entries are sorted
// by address; only functions whose entry is in an executable segment are
// listed (others are in Rejected).
//
// The table is cross-checked against the code (CheckLayout): a table whose
// addresses do not match the calls in the code fails with ErrBadLayout
// rather than being returned.
func (b *Binary) Functions() (t *Table, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("malformed ELF file: %v", p)
		}
	}()
	t, err = b.symtabFunctions()
	if err != nil || len(t.Funcs) == 0 {
		symErr := err
		t, err = b.pclntabFunctions()
		if errors.Is(err, errNoPclntab) {
			t, err = b.dynsymFunctions()
			if err == nil && len(t.Funcs) == 0 {
				err = ErrNoFunctions
				if symErr != nil {
					err = fmt.Errorf("%w: %v", ErrNoFunctions, symErr)
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if t.Source != SourcePclntab && b.IsGo() {
		b.addGoPositions(t)
	}
	l, err := b.CheckLayout(t, layoutSamples)
	t.Layout = l
	if err != nil {
		return nil, fmt.Errorf("%w: %s table: %v", ErrBadLayout, t.Source, err)
	}
	return t, nil
}

// layoutSamples is how many functions CheckLayout decodes.
const layoutSamples = 512

// ErrBadLayout: the function table does not match the code.
var ErrBadLayout = errors.New("function addresses do not match the code")

// cstr returns the NUL-terminated string at b[off:], bounded.
func cstr(b []byte, off uint64) (string, bool) {
	if off >= uint64(len(b)) {
		return "", false
	}
	rest := b[off:]
	if len(rest) > 4096 {
		rest = rest[:4096]
	}
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", false
	}
	return string(rest[:i]), true
}
