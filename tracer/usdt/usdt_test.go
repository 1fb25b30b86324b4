package usdt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		spec string
		want []Arg
	}{
		{"8@%r14 8@%rax -4@%ebp", []Arg{
			{Kind: ArgReg, Size: 8, Reg: "r14", RegOffset: 8},
			{Kind: ArgReg, Size: 8, Reg: "rax", RegOffset: 80},
			{Kind: ArgReg, Size: 4, Signed: true, Reg: "ebp", RegOffset: 32},
		}},
		{"-4@112(%rsp)", []Arg{{Kind: ArgMem, Size: 4, Signed: true, Reg: "rsp", RegOffset: 152, Disp: 112}}},
		{"-8@-1204(%rbp) 1@%ah 2@$-3 8@%r9d", []Arg{
			{Kind: ArgMem, Size: 8, Signed: true, Reg: "rbp", RegOffset: 32, Disp: -1204},
			{Kind: ArgReg, Size: 1, Reg: "ah", RegOffset: 81},
			{Kind: ArgConst, Size: 2, Disp: -3},
			{Kind: ArgReg, Size: 8, Reg: "r9d", RegOffset: 64},
		}},
		{"%rdi", []Arg{{Kind: ArgReg, Size: 8, Reg: "rdi", RegOffset: 112}}},
		{"(%rax)", []Arg{{Kind: ArgMem, Size: 8, Reg: "rax", RegOffset: 80}}},
		{"", []Arg{}},
	} {
		got, err := ParseArgs(c.spec)
		if err != nil {
			t.Errorf("ParseArgs(%q): %v", c.spec, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("ParseArgs(%q) = %v", c.spec, got)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ParseArgs(%q)[%d] = %+v, want %+v", c.spec, i, got[i], c.want[i])
			}
		}
	}
	for _, bad := range []string{"8@foo(%rip)", "8@(%rax,%rdx,8)", "3@%rax", "8@%xmm0", "x@%rax", "8@%fs:0", "8@8(%eax)", "8@12"} {
		if a, err := ParseArgs(bad); err == nil {
			t.Errorf("ParseArgs(%q) = %v, want an error", bad, a)
		}
	}
	if _, err := ParseArgs("8@%rip"); !errors.Is(err, ErrUnsupportedArg) {
		t.Errorf("%%rip: %v", err)
	}
}

// note encodes one stapsdt note.
func note(pc, base, sem uint64, provider, name, args string) []byte {
	le := binary.LittleEndian
	desc := le.AppendUint64(nil, pc)
	desc = le.AppendUint64(desc, base)
	desc = le.AppendUint64(desc, sem)
	desc = append(desc, provider+"\x00"+name+"\x00"+args+"\x00"...)
	b := le.AppendUint32(nil, 8)
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, ntStapsdt)
	b = append(b, "stapsdt\x00"...)
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestParseNotes(t *testing.T) {
	data := append(note(0x432923, 0x8cd5e0, 0xa84d2c, "python", "line", "8@%r14 8@%rax -4@%ebp"),
		note(0x1000, 0, 0, "libc", "setjmp", "8@%rdi -4@%esi 8@%rax")...)
	other := binary.LittleEndian.AppendUint32(nil, 4)
	other = binary.LittleEndian.AppendUint32(other, 4)
	other = binary.LittleEndian.AppendUint32(other, 1)
	other = append(other, "GNU\x00abcd"...)
	data = append(data, other...)
	ps, err := ParseNotes(data, binary.LittleEndian, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("%d probes: %+v", len(ps), ps)
	}
	p := ps[0]
	if p.String() != "python:line" || p.PC != 0x432923 || p.NoteBase != 0x8cd5e0 || p.Semaphore != 0xa84d2c ||
		len(p.Args) != 3 || p.Args[2].Size != 4 || !p.Args[2].Signed {
		t.Errorf("probe: %+v", p)
	}
	if got := Find(ps, "python", "line"); len(got) != 1 {
		t.Errorf("Find = %v", got)
	}
	if _, err := ParseNotes(data[:20], binary.LittleEndian, 8); err == nil {
		t.Error("truncated notes accepted")
	}
}

// The host's python3, when it carries probes (Debian's does).
func TestParseHostPython(t *testing.T) {
	for _, p := range []string{"/usr/bin/python3.11", "/usr/bin/python3"} {
		probes, err := Read(p)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrNoProbes) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		sites := Find(probes, "python", "line")
		if len(sites) == 0 {
			t.Fatalf("%s: no python:line among %v", p, probes)
		}
		s := sites[0]
		if s.Offset == 0 || s.SemaphoreOffset == 0 || len(s.Args) != 3 {
			t.Errorf("%s: python:line %+v", p, s)
		}
		return
	}
	t.Skip("SKIPPED: no host python3 with USDT probes")
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"8@%r14 8@%rax -4@%ebp", "-4@112(%rsp)", "2@$5", "8@foo(%rip)", "%al"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		args, err := ParseArgs(spec)
		if err != nil {
			return
		}
		for _, a := range args {
			if a.Size != 1 && a.Size != 2 && a.Size != 4 && a.Size != 8 {
				t.Fatalf("size %d", a.Size)
			}
			if a.Kind != ArgConst && (a.RegOffset < 0 || a.RegOffset > 160) {
				t.Fatalf("register offset %d", a.RegOffset)
			}
		}
	})
}

func FuzzParseNotes(f *testing.F) {
	f.Add(note(0x432923, 0x8cd5e0, 0xa84d2c, "python", "line", "8@%r14 8@%rax -4@%ebp"), true)
	f.Add(note(1, 2, 3, "p", "n", ""), false)
	f.Fuzz(func(t *testing.T, data []byte, wide bool) {
		ptr := 4
		if wide {
			ptr = 8
		}
		_, _ = ParseNotes(data, binary.LittleEndian, ptr)
	})
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("/proc/self/exe"); err == nil && len(data) > 64 {
		f.Add(data[:64])
	}
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(bytes.NewReader(data))
	})
}
