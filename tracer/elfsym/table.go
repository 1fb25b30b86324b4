package elfsym

import (
	"fmt"
	"sort"
)

// Source says where a function table came from.
type Source string

const (
	SourceSymtab  Source = "symtab"
	SourcePclntab Source = "gopclntab"
	SourceDynsym  Source = "dynsym" // exported functions only
)

// Func is one function of the binary.
type Func struct {
	Name string
	// Package is the Go package path (from the symbol name) of a Go binary's
	// function, "" otherwise.
	Package string
	// Addr and End delimit the function's virtual addresses [Addr, End);
	// End is 0 when unknown (a .symtab symbol without size).
	Addr, End uint64
	// Offset is the file offset of Addr: what uprobes attach to.
	Offset uint64
	// File and Line are where a Go function starts in its source, as the
	// pclntab records it (the build's path, or the module path with
	// -trimpath); "" and 0 when unknown.
	File string
	Line int
}

func (f Func) String() string { return fmt.Sprintf("%s@%#x", f.Name, f.Addr) }

// Rejected is a function that must not be probed, and why.
type Rejected struct {
	Func   Func
	Reason string
}

// Table is the function table of a binary.
type Table struct {
	Source Source
	Funcs  []Func // sorted by Addr, entries unique
	// Rejected lists functions dropped by the structural checks (entry not
	// in an executable segment, inside the previous function, ...).
	Rejected []Rejected
	// TextStart is the Go text start used to place pclntab entries, and
	// TextStartFrom how it was established (pclntab tables only).
	TextStart     uint64
	TextStartFrom string
	// Layout is the call cross-check that validated the addresses.
	Layout Layout
}

// finish sorts the candidate functions, drops duplicates and rejects those
// that are not in an executable segment or overlap the previous function.
func (b *Binary) finish(t *Table, cands []Func) *Table {
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Addr < cands[j].Addr })
	var prevEnd uint64
	var prevAddr uint64
	for i, fn := range cands {
		if i > 0 && fn.Addr == prevAddr {
			continue // aliases of one entry (symtab): keep the first name
		}
		segEnd, ok := b.Executable(fn.Addr)
		switch {
		case !ok:
			t.Rejected = append(t.Rejected, Rejected{fn, "entry is not in an executable segment"})
			continue
		case fn.End != 0 && (fn.End < fn.Addr || fn.End > segEnd):
			t.Rejected = append(t.Rejected, Rejected{fn, fmt.Sprintf("end %#x outside the executable segment", fn.End)})
			continue
		case i > 0 && fn.Addr < prevEnd:
			t.Rejected = append(t.Rejected, Rejected{fn, fmt.Sprintf("entry inside the previous function (ends at %#x)", prevEnd)})
			continue
		}
		off, ok := b.FileOffset(fn.Addr)
		if !ok {
			t.Rejected = append(t.Rejected, Rejected{fn, "entry has no file offset"})
			continue
		}
		fn.Offset = off
		t.Funcs = append(t.Funcs, fn)
		prevAddr = fn.Addr
		if fn.End > prevEnd {
			prevEnd = fn.End
		}
	}
	return t
}
