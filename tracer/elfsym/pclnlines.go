package elfsym

import "encoding/binary"

// Source positions of Go functions, from the pclntab's file and line
// tables (runtime/symtab.go, Go 1.16+): each _func names its compilation
// unit (cuOffset) and the offsets of its pcfile and pcln value tables in
// pctab; a pcfile value indexes the unit's slice of cutab, whose entry is
// the file name's offset in filetab. Go 1.20+ also records the line of the
// func keyword (startLine). Go 1.2-1.15 tables are laid out differently and
// give no positions here.

// lineTables keeps cutab, filetab and pctab, the header words at first,
// first+1 and first+2; a malformed offset leaves them out (no positions).
func (p *Pclntab) lineTables(sub func(int) ([]byte, uint64, error), first int) {
	cu, _, err1 := sub(first)
	file, _, err2 := sub(first + 1)
	pc, _, err3 := sub(first + 2)
	if err1 == nil && err2 == nil && err3 == nil {
		p.cutab, p.filetab, p.pctab = cu, file, pc
	}
}

// _func fields after the entry (a uint32 from 1.18, a uintptr before), in
// 4-byte words: nameOff, args, deferreturn, pcsp, pcfile, pcln, npcdata,
// cuOffset, startLine (1.20+).
const (
	funcPcfile    = 4
	funcPcln      = 5
	funcCuOffset  = 7
	funcStartLine = 8
)

// funcLine returns the source file and first line of the _func at
// funcdata[funcoff], or "" and 0 when the table does not say.
func (p *Pclntab) funcLine(funcoff uint64) (string, int) {
	if p.pctab == nil || funcoff >= uint64(len(p.funcdata)) {
		return "", 0
	}
	f := p.funcdata[funcoff:]
	word := func(i int) (uint32, bool) {
		at := p.functabField + 4*i
		if at+4 > len(f) {
			return 0, false
		}
		return binary.LittleEndian.Uint32(f[at:]), true
	}
	pcfile, ok1 := word(funcPcfile)
	pcln, ok2 := word(funcPcln)
	cuOff, ok3 := word(funcCuOffset)
	if !ok1 || !ok2 || !ok3 || pcfile == 0 {
		return "", 0
	}
	fileIdx, ok := p.firstValue(pcfile)
	if !ok || fileIdx < 0 {
		return "", 0
	}
	at := (uint64(cuOff) + uint64(fileIdx)) * 4
	if at+4 > uint64(len(p.cutab)) {
		return "", 0
	}
	nameOff := binary.LittleEndian.Uint32(p.cutab[at:])
	if nameOff == ^uint32(0) {
		return "", 0
	}
	file, ok := cstr(p.filetab, uint64(nameOff))
	if !ok || file == "" {
		return "", 0
	}
	line := 0
	if p.Magic == magic120 {
		if v, ok := word(funcStartLine); ok && int32(v) > 0 {
			line = int(int32(v))
		}
	}
	if line == 0 && pcln != 0 {
		if v, ok := p.firstValue(pcln); ok && v > 0 {
			line = int(v)
		}
	}
	return file, line
}

// firstValue decodes the value a pc-value table gives a function's entry:
// the table starts at -1 and its first step adds a zigzag-encoded delta.
func (p *Pclntab) firstValue(off uint32) (int32, bool) {
	if uint64(off) >= uint64(len(p.pctab)) {
		return 0, false
	}
	u, n := binary.Uvarint(p.pctab[off:])
	if n <= 0 || u > 1<<32-1 {
		return 0, false
	}
	d := uint32(u)
	return -1 + int32(-(d&1)^(d>>1)), true
}

// addGoPositions gives the functions of a Go binary's symbol table their
// source positions from its pclntab, matched by name; without a readable
// pclntab they stay unknown.
func (b *Binary) addGoPositions(t *Table) {
	p, _, err := b.findPclntab()
	if err != nil {
		return
	}
	raw, _ := p.Funcs()
	type pos struct {
		file string
		line int
	}
	at := make(map[string]pos, len(raw))
	for _, r := range raw {
		if r.File != "" {
			at[r.Name] = pos{r.File, r.Line}
		}
	}
	for i := range t.Funcs {
		if ps, ok := at[t.Funcs[i].Name]; ok {
			t.Funcs[i].File, t.Funcs[i].Line = ps.file, ps.line
		}
	}
}
