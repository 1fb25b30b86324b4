package elfsym

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The Go text start: where pclntab entry offsets (Go 1.18+) count from.
//
// In an externally linked (cgo) binary .text begins with C code, so the Go
// text starts later: taking .text's address shifts every probe into the
// middle of an instruction and crashes the target. The start is read from
// the module data (runtime.firstmoduledata: its text field, found through
// the .go.module section or by locating the structure that points at the
// pclntab), from runtime.text in .symtab, or from the pclntab header's
// textStart (Go 1.18-1.25; Go 1.26 writes 0 there). When several are
// available they must agree.

// moduledata field indexes, in pointer-sized words (runtime/symtab.go,
// stable since Go 1.16): pcHeader, funcnametab []byte, cutab, filetab,
// pctab, pclntable, ftab, findfunctab, minpc, maxpc, text, etext.
const (
	mdPcHeader    = 0
	mdFuncnametab = 1
	mdFtab        = 16
	mdMinpc       = 20
	mdMaxpc       = 21
	mdText        = 22
	mdEtext       = 23
	mdWords       = 24
)

// moduleData is what is read from runtime.firstmoduledata.
type moduleData struct {
	addr                      uint64
	text, etext, minpc, maxpc uint64
}

// wordReader reads pointer-sized words of a segment, applying the
// R_X86_64_RELATIVE relocations of position-independent binaries (their
// pointers are 0 in the file, the value is the relocation's addend).
type wordReader struct {
	ptrSize int
	relocs  map[uint64]uint64 // vaddr -> addend
}

func (w *wordReader) word(seg loadedSegment, off int) (uint64, bool) {
	if off < 0 || off+w.ptrSize > len(seg.data) {
		return 0, false
	}
	if v, ok := w.relocs[seg.vaddr+uint64(off)]; ok {
		return v, true
	}
	if w.ptrSize == 4 {
		return uint64(binary.LittleEndian.Uint32(seg.data[off:])), true
	}
	return binary.LittleEndian.Uint64(seg.data[off:]), true
}

// relativeRelocs returns the R_X86_64_RELATIVE relocations of .rela.dyn.
func (b *Binary) relativeRelocs() map[uint64]uint64 {
	if b.f.Type != elf.ET_DYN || b.f.Machine != elf.EM_X86_64 {
		return nil
	}
	data, _, err := b.sectionData(".rela.dyn")
	if err != nil || len(data) == 0 {
		return nil
	}
	out := map[uint64]uint64{}
	le := binary.LittleEndian
	for i := 0; i+24 <= len(data); i += 24 {
		if elf.R_X86_64(le.Uint64(data[i+8:])&0xffffffff) == elf.R_X86_64_RELATIVE {
			out[le.Uint64(data[i:])] = le.Uint64(data[i+16:])
		}
	}
	return out
}

// findModuleData looks for runtime.firstmoduledata: in .go.module when the
// binary has it, else in every writable segment, as the structure whose
// pcHeader is the pclntab's address and whose funcnametab follows it.
func (b *Binary) findModuleData(p *Pclntab, pclnAddr uint64) (*moduleData, string, error) {
	w := &wordReader{ptrSize: p.PtrSize, relocs: b.relativeRelocs()}
	check := func(seg loadedSegment, off int) (*moduleData, bool) {
		get := func(i int) uint64 { v, _ := w.word(seg, off+i*p.PtrSize); return v }
		if off+mdWords*p.PtrSize > len(seg.data) {
			return nil, false
		}
		if get(mdPcHeader) != pclnAddr || get(mdFuncnametab) != pclnAddr+p.FuncnameOff {
			return nil, false
		}
		if n := get(mdFtab + 1); n != uint64(p.NFunc)+1 {
			return nil, false
		}
		md := &moduleData{addr: seg.vaddr + uint64(off), text: get(mdText), etext: get(mdEtext),
			minpc: get(mdMinpc), maxpc: get(mdMaxpc)}
		if md.text == 0 || md.etext < md.text || md.minpc < md.text || md.maxpc < md.minpc {
			return nil, false
		}
		return md, true
	}
	if data, s, err := b.sectionData(".go.module"); err == nil && data != nil {
		if md, ok := check(loadedSegment{vaddr: s.Addr, data: data}, 0); ok {
			return md, "module data (.go.module)", nil
		}
	}
	segs, err := b.segmentData(func(s segment) bool { return s.write })
	if err != nil {
		return nil, "", err
	}
	var needle [8]byte
	if p.PtrSize == 4 {
		binary.LittleEndian.PutUint32(needle[:], uint32(pclnAddr))
	} else {
		binary.LittleEndian.PutUint64(needle[:], pclnAddr)
	}
	for _, seg := range segs {
		// Raw scan for the pointer, then for relocated words (PIE).
		for i := 0; ; {
			j := bytes.Index(seg.data[i:], needle[:p.PtrSize])
			if j < 0 {
				break
			}
			off := i + j
			if off%p.PtrSize == 0 {
				if md, ok := check(seg, off); ok {
					return md, "module data (located through the pclntab pointer)", nil
				}
			}
			i = off + 1
		}
		for va, v := range w.relocs {
			if v != pclnAddr || va < seg.vaddr || va-seg.vaddr >= uint64(len(seg.data)) {
				continue
			}
			if md, ok := check(seg, int(va-seg.vaddr)); ok {
				return md, "module data (located through a relocated pclntab pointer)", nil
			}
		}
	}
	return nil, "", errors.New("module data not found")
}

// findPclntab returns the pclntab and its virtual address: the .gopclntab
// section, else a scan of the read-only segments for a valid header.
func (b *Binary) findPclntab() (*Pclntab, uint64, error) {
	if data, s, err := b.sectionData(".gopclntab"); err != nil {
		return nil, 0, err
	} else if data != nil {
		p, err := ParsePclntab(data)
		if err != nil {
			return nil, 0, fmt.Errorf(".gopclntab: %w", err)
		}
		return p, s.Addr, nil
	}
	segs, err := b.segmentData(func(s segment) bool { return !s.exec })
	if err != nil {
		return nil, 0, err
	}
	for _, seg := range segs {
		for _, m := range []uint32{magic120, magic118, magic116} {
			var needle [4]byte
			binary.LittleEndian.PutUint32(needle[:], m)
			for i := 0; ; {
				j := bytes.Index(seg.data[i:], needle[:])
				if j < 0 {
					break
				}
				off := i + j
				i = off + 1
				if off%8 != 0 {
					continue
				}
				p, err := ParsePclntab(seg.data[off:])
				if err != nil {
					continue
				}
				addr := seg.vaddr + uint64(off)
				if !p.EntryRelative() {
					return p, addr, nil
				}
				if _, _, err := b.findModuleData(p, addr); err == nil {
					return p, addr, nil
				}
			}
		}
	}
	return nil, 0, errNoPclntab
}

// textStart establishes the Go text start for an entry-relative pclntab.
func (b *Binary) textStart(p *Pclntab, pclnAddr uint64) (uint64, string, error) {
	type cand struct {
		v    uint64
		from string
	}
	var cands []cand
	md, from, mdErr := b.findModuleData(p, pclnAddr)
	if mdErr == nil {
		cands = append(cands, cand{md.text, from})
	}
	if syms, err := b.f.Symbols(); err == nil {
		for _, s := range syms {
			if s.Name == "runtime.text" && s.Value != 0 {
				cands = append(cands, cand{s.Value, "runtime.text (.symtab)"})
				break
			}
		}
	}
	if p.TextStart != 0 {
		v := p.TextStart
		if r := b.relativeRelocs(); r != nil {
			if rv, ok := r[pclnAddr+8+2*uint64(p.PtrSize)]; ok {
				v = rv
			}
		}
		cands = append(cands, cand{v, "pclntab header textStart"})
	}
	if len(cands) == 0 {
		return 0, "", fmt.Errorf("%w: %v", ErrNoTextStart, mdErr)
	}
	var froms []string
	for _, c := range cands {
		if c.v != cands[0].v {
			return 0, "", fmt.Errorf("%w: sources disagree: %s %#x, %s %#x", ErrNoTextStart, cands[0].from, cands[0].v, c.from, c.v)
		}
		froms = append(froms, c.from)
	}
	if _, ok := b.Executable(cands[0].v); !ok {
		return 0, "", fmt.Errorf("%w: %#x (%s) is not in an executable segment", ErrNoTextStart, cands[0].v, cands[0].from)
	}
	return cands[0].v, strings.Join(froms, " = "), nil
}

// pclntabFunctions lists a Go binary's functions from its pclntab.
func (b *Binary) pclntabFunctions() (*Table, error) {
	p, addr, err := b.findPclntab()
	if err != nil {
		return nil, err
	}
	t := &Table{Source: SourcePclntab}
	var base uint64
	if p.EntryRelative() {
		base, t.TextStartFrom, err = b.textStart(p, addr)
		if err != nil {
			return nil, err
		}
		t.TextStart = base
	}
	raw, bad := p.Funcs()
	if bad > 0 && bad*10 > p.NFunc {
		return nil, fmt.Errorf("pclntab: %d of %d function entries unreadable", bad, p.NFunc)
	}
	cands := make([]Func, 0, len(raw))
	for _, r := range raw {
		cands = append(cands, Func{Name: r.Name, Package: GoPackage(r.Name), Addr: base + r.Entry, End: base + r.End, File: r.File, Line: r.Line})
	}
	return b.finish(t, cands), nil
}
