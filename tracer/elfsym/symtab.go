package elfsym

import (
	"debug/elf"
	"errors"
	"fmt"
)

// crtFunctions are the C runtime's start-up and tear-down helpers linked
// into every executable: not the application's code.
var crtFunctions = map[string]bool{
	"_start": true, "_init": true, "_fini": true, "frame_dummy": true,
	"register_tm_clones": true, "deregister_tm_clones": true,
	"__do_global_dtors_aux": true, "__libc_csu_init": true, "__libc_csu_fini": true,
	"_dl_relocate_static_pie": true, "__x86.get_pc_thunk.bx": true,
}

// symtabFunctions lists the defined STT_FUNC symbols of .symtab that lie in
// an executable section (C runtime helpers excluded).
func (b *Binary) symtabFunctions() (*Table, error) {
	syms, err := b.f.Symbols()
	if err != nil {
		if errors.Is(err, elf.ErrNoSymbols) {
			return &Table{Source: SourceSymtab}, nil
		}
		return nil, fmt.Errorf("reading .symtab: %w", err)
	}
	return b.symbolFunctions(syms, SourceSymtab), nil
}

// dynsymFunctions lists the exported functions of .dynsym: what is left of a
// stripped shared library (or an executable linked with -rdynamic).
func (b *Binary) dynsymFunctions() (*Table, error) {
	syms, err := b.f.DynamicSymbols()
	if err != nil {
		if errors.Is(err, elf.ErrNoSymbols) {
			return &Table{Source: SourceDynsym}, nil
		}
		return nil, fmt.Errorf("reading .dynsym: %w", err)
	}
	return b.symbolFunctions(syms, SourceDynsym), nil
}

func (b *Binary) symbolFunctions(syms []elf.Symbol, src Source) *Table {
	t := &Table{Source: src}
	var cands []Func
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF || s.Value == 0 {
			continue
		}
		if int(s.Section) >= len(b.f.Sections) || s.Section >= elf.SHN_LORESERVE {
			continue
		}
		if sec := b.f.Sections[s.Section]; sec.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		if crtFunctions[s.Name] || s.Name == "" {
			continue
		}
		fn := Func{Name: s.Name, Addr: s.Value}
		if s.Size > 0 && s.Value+s.Size > s.Value {
			fn.End = s.Value + s.Size
		}
		if b.IsGo() {
			fn.Package = GoPackage(s.Name)
		}
		cands = append(cands, fn)
	}
	return b.finish(t, cands)
}
