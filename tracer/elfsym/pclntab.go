package elfsym

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Go pclntab magic numbers (little-endian uint32 at the start of the table).
const (
	magic12  = 0xfffffffb // Go 1.2 - 1.15
	magic116 = 0xfffffffa // Go 1.16 - 1.17
	magic118 = 0xfffffff0 // Go 1.18 - 1.19
	magic120 = 0xfffffff1 // Go 1.20 and later
)

var errNoPclntab = errors.New("no Go pclntab")

// maxFuncs bounds the function count a header may claim.
const maxFuncs = 1 << 22

// Pclntab is a parsed Go pclntab header with the tables it points to. Only
// what is needed to list functions is decoded.
type Pclntab struct {
	Magic   uint32
	PtrSize int
	NFunc   int
	// TextStart is the header's textStart field (Go 1.18 and later): 0 in
	// Go 1.26+ binaries, where it is no longer written; possibly unrelocated
	// in position-independent ones. Never trust it alone.
	TextStart     uint64
	FuncnameOff   uint64 // offset of funcnametab from the table start (1.16+)
	data          []byte
	funcnametab   []byte
	cutab         []byte // 1.16+: file indexes of each compilation unit → filetab offsets
	filetab       []byte // 1.16+: NUL-terminated file names
	pctab         []byte // 1.16+: the pc-value tables (pcfile, pcln)
	functab       []byte // nfunc+1 (entry, funcoff) pairs
	funcdata      []byte // base of funcoff
	functabField  int    // size of one functab field: 4 (1.18+) or ptrSize
	entryRelative bool   // entries are offsets from the text start (1.18+)
}

// ParsePclntab parses the header of a pclntab. It never panics.
func ParsePclntab(data []byte) (*Pclntab, error) {
	if len(data) < 16 {
		return nil, fmt.Errorf("%w: %d bytes", errNoPclntab, len(data))
	}
	le := binary.LittleEndian
	p := &Pclntab{Magic: le.Uint32(data), data: data}
	if data[4] != 0 || data[5] != 0 {
		return nil, fmt.Errorf("%w: bad header padding", errNoPclntab)
	}
	switch q := data[6]; q {
	case 1, 2, 4:
	default:
		return nil, fmt.Errorf("%w: bad instruction quantum %d", errNoPclntab, q)
	}
	p.PtrSize = int(data[7])
	if p.PtrSize != 4 && p.PtrSize != 8 {
		return nil, fmt.Errorf("%w: bad pointer size %d", errNoPclntab, p.PtrSize)
	}
	word := func(i int) (uint64, bool) {
		off := 8 + i*p.PtrSize
		if off+p.PtrSize > len(data) {
			return 0, false
		}
		if p.PtrSize == 4 {
			return uint64(le.Uint32(data[off:])), true
		}
		return le.Uint64(data[off:]), true
	}
	sub := func(i int) ([]byte, uint64, error) {
		off, ok := word(i)
		if !ok || off >= uint64(len(data)) {
			return nil, off, fmt.Errorf("table offset (word %d) %#x outside the pclntab (%d bytes)", i, off, len(data))
		}
		return data[off:], off, nil
	}
	nfunc, ok := word(0)
	if !ok || nfunc == 0 || nfunc > maxFuncs {
		return nil, fmt.Errorf("bad pclntab function count %d", nfunc)
	}
	p.NFunc = int(nfunc)
	var err error
	switch p.Magic {
	case magic12:
		p.functabField = p.PtrSize
		p.functab = data[min(8+p.PtrSize, len(data)):]
		p.funcdata = data
		p.funcnametab = data
	case magic116:
		p.functabField = p.PtrSize
		if p.funcnametab, p.FuncnameOff, err = sub(2); err != nil {
			return nil, err
		}
		if p.functab, _, err = sub(6); err != nil {
			return nil, err
		}
		p.funcdata = p.functab
		p.lineTables(sub, 3)
	case magic118, magic120:
		p.functabField = 4
		p.entryRelative = true
		p.TextStart, _ = word(2)
		if p.funcnametab, p.FuncnameOff, err = sub(3); err != nil {
			return nil, err
		}
		if p.functab, _, err = sub(7); err != nil {
			return nil, err
		}
		p.funcdata = p.functab
		p.lineTables(sub, 4)
	default:
		return nil, fmt.Errorf("%w: unknown magic %#x", errNoPclntab, p.Magic)
	}
	need := (2*p.NFunc + 1) * p.functabField
	if need > len(p.functab) {
		return nil, fmt.Errorf("pclntab function table truncated: %d functions need %d bytes, %d left", p.NFunc, need, len(p.functab))
	}
	p.functab = p.functab[:need]
	return p, nil
}

// EntryRelative reports whether function entries are offsets from the Go
// text start (Go 1.18+), which must then be known.
func (p *Pclntab) EntryRelative() bool { return p.entryRelative }

func (p *Pclntab) field(b []byte, i int) (uint64, bool) {
	off := i * p.functabField
	if off < 0 || off+p.functabField > len(b) {
		return 0, false
	}
	if p.functabField == 4 {
		return uint64(binary.LittleEndian.Uint32(b[off:])), true
	}
	return binary.LittleEndian.Uint64(b[off:]), true
}

// RawFunc is a function as the pclntab lists it: entry relative to the text
// start when EntryRelative, absolute otherwise.
type RawFunc struct {
	Name       string
	Entry, End uint64
	// File and Line are where the function starts in its source, as the
	// compiler recorded it (Go 1.16+ tables; "" and 0 otherwise).
	File string
	Line int
}

// Funcs decodes the function table. Entries whose name cannot be read are
// reported in the error count, not returned.
func (p *Pclntab) Funcs() (funcs []RawFunc, bad int) {
	for i := 0; i < p.NFunc; i++ {
		entry, ok1 := p.field(p.functab, 2*i)
		funcoff, ok2 := p.field(p.functab, 2*i+1)
		end, ok3 := p.field(p.functab, 2*i+2)
		if !ok1 || !ok2 || !ok3 || end < entry {
			bad++
			continue
		}
		name, ok := p.funcName(funcoff)
		if !ok {
			bad++
			continue
		}
		file, line := p.funcLine(funcoff)
		funcs = append(funcs, RawFunc{Name: name, Entry: entry, End: end, File: file, Line: line})
	}
	return funcs, bad
}

// funcName reads the name of the _func at funcdata[funcoff]: its nameoff
// (int32) follows the entry (uint32 in 1.18+, uintptr before).
func (p *Pclntab) funcName(funcoff uint64) (string, bool) {
	if funcoff >= uint64(len(p.funcdata)) {
		return "", false
	}
	f := p.funcdata[funcoff:]
	at := p.functabField
	if len(f) < at+4 {
		return "", false
	}
	nameoff := int32(binary.LittleEndian.Uint32(f[at:]))
	if nameoff < 0 {
		return "", false
	}
	return cstr(p.funcnametab, uint64(nameoff))
}
