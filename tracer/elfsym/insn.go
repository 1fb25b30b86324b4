package elfsym

import (
	"debug/elf"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// maxDecode bounds how much of a function is decoded.
const maxDecode = 64 << 10

// CheckEntry verifies that a probe at fn's entry lands on an instruction
// start: the entry is in an executable segment (finish checked it), it
// decodes as an x86-64 instruction that is not padding (int3), and, when the
// function's size is known, decoding from the entry runs through the
// function to its end without error (no decoder desynchronisation).
func (b *Binary) CheckEntry(fn Func) error {
	if b.f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("%s: instruction checks support x86-64 only (machine %s)", fn.Name, b.f.Machine)
	}
	end, ok := b.Executable(fn.Addr)
	if !ok {
		return fmt.Errorf("%s: entry %#x is not in an executable segment", fn.Name, fn.Addr)
	}
	if fn.End > fn.Addr && fn.End < end {
		end = fn.End
	}
	n := min(end-fn.Addr, maxDecode)
	if n == 0 {
		return fmt.Errorf("%s: empty function", fn.Name)
	}
	code := make([]byte, n)
	if err := b.ReadAt(code, fn.Addr); err != nil {
		return fmt.Errorf("%s: reading code: %w", fn.Name, err)
	}
	if code[0] == 0xcc {
		return fmt.Errorf("%s: entry %#x is int3 padding, not code", fn.Name, fn.Addr)
	}
	if _, err := x86asm.Decode(code, 64); err != nil {
		return fmt.Errorf("%s: entry %#x does not decode: %v", fn.Name, fn.Addr, err)
	}
	if fn.End > fn.Addr && fn.End-fn.Addr <= maxDecode {
		if err := decodesThrough(code); err != nil {
			return fmt.Errorf("%s: %w", fn.Name, err)
		}
	}
	return nil
}

// decodesThrough decodes code linearly and reports an error unless the
// instructions end exactly at its end, or are followed only by padding.
func decodesThrough(code []byte) error {
	pc := 0
	for pc < len(code) {
		if isPadding(code[pc:]) {
			return nil
		}
		inst, err := x86asm.Decode(code[pc:], 64)
		if err != nil {
			return fmt.Errorf("undecodable bytes at +%#x: %v", pc, err)
		}
		pc += inst.Len
	}
	if pc != len(code) {
		return fmt.Errorf("last instruction runs %d bytes past the end", pc-len(code))
	}
	return nil
}

// isPadding reports whether rest is only int3/nop/zero fill.
func isPadding(rest []byte) bool {
	for _, c := range rest {
		if c != 0xcc && c != 0x90 && c != 0x00 {
			return false
		}
	}
	return true
}

// Layout is the outcome of CheckLayout.
type Layout struct {
	Sampled int // functions decoded
	Calls   int // direct calls seen whose target lies inside the table's range
	Matched int // of those, calls that land exactly on a listed entry
}

// minLayoutCalls is the evidence CheckLayout needs to judge.
const minLayoutCalls = 16

// CheckLayout cross-checks the table against the code: it decodes a spread
// sample of functions and follows their direct calls (call rel32). The
// targets are real addresses, so with correct entries nearly every target
// inside the table's range is a listed entry; with entries shifted by a
// wrong text start almost none is. (Decoding itself resynchronises too fast
// to tell.) It fails when fewer than 90% match, and passes without judging
// when there are fewer than 16 such calls.
func (b *Binary) CheckLayout(t *Table, samples int) (Layout, error) {
	var l Layout
	if len(t.Funcs) == 0 || samples <= 0 || b.f.Machine != elf.EM_X86_64 {
		return l, nil
	}
	entries := make(map[uint64]bool, len(t.Funcs))
	lo, hi := t.Funcs[0].Addr, uint64(0)
	for _, f := range t.Funcs {
		entries[f.Addr] = true
		hi = max(hi, f.Addr+1, f.End)
	}
	step := max(1, len(t.Funcs)/samples)
	for i := 0; i < len(t.Funcs); i += step {
		f := t.Funcs[i]
		end := f.End
		if segEnd, ok := b.Executable(f.Addr); !ok {
			continue
		} else if end <= f.Addr || end > segEnd {
			end = min(segEnd, f.Addr+4096)
		}
		code := make([]byte, min(end-f.Addr, maxDecode))
		if b.ReadAt(code, f.Addr) != nil {
			continue
		}
		l.Sampled++
		for pc := 0; pc < len(code); {
			inst, err := x86asm.Decode(code[pc:], 64)
			if err != nil {
				pc++
				continue
			}
			pc += inst.Len
			if inst.Op != x86asm.CALL || inst.Len != 5 || code[pc-5] != 0xe8 {
				continue
			}
			rel, ok := inst.Args[0].(x86asm.Rel)
			if !ok {
				continue
			}
			target := f.Addr + uint64(pc) + uint64(int64(rel))
			if target < lo || target >= hi {
				continue
			}
			l.Calls++
			if entries[target] {
				l.Matched++
			}
		}
	}
	if l.Calls >= minLayoutCalls && l.Matched*10 < l.Calls*9 {
		return l, fmt.Errorf("only %d of %d direct calls into the function table land on a listed entry: the addresses look shifted (wrong text start?)", l.Matched, l.Calls)
	}
	return l, nil
}
