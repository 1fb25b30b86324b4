package usdt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ArgKind says where a USDT argument lives.
type ArgKind uint8

const (
	// ArgConst: an immediate ("8@$42"); the value is Disp.
	ArgConst ArgKind = 1
	// ArgReg: a register ("8@%rax").
	ArgReg ArgKind = 2
	// ArgMem: memory at register + displacement ("-4@112(%rsp)").
	ArgMem ArgKind = 3
)

// Arg is one argument of a probe, in x86-64 terms.
type Arg struct {
	Kind   ArgKind
	Size   int  // bytes: 1, 2, 4 or 8
	Signed bool // a negative size in the spec
	// Reg is the register as written ("ebp"), RegOffset the byte offset of
	// its value in the kernel's x86-64 struct pt_regs (the 64-bit register,
	// +1 for ah/bh/ch/dh).
	Reg       string
	RegOffset int
	Disp      int64 // memory displacement, or the constant
}

func (a Arg) String() string {
	sz := strconv.Itoa(a.Size)
	if a.Signed {
		sz = "-" + sz
	}
	switch a.Kind {
	case ArgConst:
		return fmt.Sprintf("%s@$%d", sz, a.Disp)
	case ArgReg:
		return fmt.Sprintf("%s@%%%s", sz, a.Reg)
	default:
		return fmt.Sprintf("%s@%d(%%%s)", sz, a.Disp, a.Reg)
	}
}

// ErrUnsupportedArg: an argument form this parser does not handle
// (rip-relative symbols, index registers, segment overrides).
var ErrUnsupportedArg = errors.New("unsupported USDT argument")

// ptRegs are the byte offsets of struct pt_regs members (x86-64).
var ptRegs = map[string]int{
	"r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56,
	"r9": 64, "r8": 72, "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112,
	"rip": 128, "rsp": 152,
}

// regAlias maps sub-register names to their 64-bit register and byte shift.
var regAlias = func() map[string]struct {
	reg   string
	shift int
} {
	m := map[string]struct {
		reg   string
		shift int
	}{}
	add := func(name, reg string, shift int) {
		m[name] = struct {
			reg   string
			shift int
		}{reg, shift}
	}
	for _, r := range []string{"ax", "bx", "cx", "dx"} {
		x := string(r[0])
		add("r"+r, "r"+r, 0)
		add("e"+r, "r"+r, 0)
		add(r, "r"+r, 0)
		add(x+"l", "r"+r, 0)
		add(x+"h", "r"+r, 1)
	}
	for _, r := range []string{"si", "di", "bp", "sp"} {
		add("r"+r, "r"+r, 0)
		add("e"+r, "r"+r, 0)
		add(r, "r"+r, 0)
		add(r+"l", "r"+r, 0)
	}
	for i := 8; i <= 15; i++ {
		r := "r" + strconv.Itoa(i)
		for _, suf := range []string{"", "d", "w", "b", "l"} {
			add(r+suf, r, 0)
		}
	}
	add("rip", "rip", 0)
	return m
}()

func register(name string) (string, int, error) {
	a, ok := regAlias[name]
	if !ok {
		return "", 0, fmt.Errorf("%w: register %%%s", ErrUnsupportedArg, name)
	}
	return a.reg, ptRegs[a.reg] + a.shift, nil
}

// maxArgs is the most arguments a probe may have (SDT macros allow 12).
const maxArgs = 12

// ParseArgs parses a stapsdt argument string ("8@%r14 8@%rax -4@%ebp").
// It never panics.
func ParseArgs(spec string) ([]Arg, error) {
	fields := strings.Fields(spec)
	if len(fields) > maxArgs {
		return nil, fmt.Errorf("%d arguments (at most %d)", len(fields), maxArgs)
	}
	args := make([]Arg, 0, len(fields))
	for _, f := range fields {
		a, err := parseArg(f)
		if err != nil {
			return nil, fmt.Errorf("argument %q: %w", f, err)
		}
		args = append(args, a)
	}
	return args, nil
}

func parseArg(s string) (Arg, error) {
	a := Arg{Size: 8}
	if sz, rest, ok := strings.Cut(s, "@"); ok {
		n, err := strconv.Atoi(sz)
		if err != nil {
			return a, fmt.Errorf("bad size %q", sz)
		}
		if n < 0 {
			a.Signed, n = true, -n
		}
		switch n {
		case 1, 2, 4, 8:
		default:
			return a, fmt.Errorf("bad size %d", n)
		}
		a.Size, s = n, rest
	}
	switch {
	case strings.HasPrefix(s, "$"):
		v, err := strconv.ParseInt(s[1:], 0, 64)
		if err != nil {
			return a, fmt.Errorf("%w: constant %q", ErrUnsupportedArg, s)
		}
		a.Kind, a.Disp = ArgConst, v
		return a, nil
	case strings.HasPrefix(s, "%"):
		reg, off, err := register(s[1:])
		if err != nil {
			return a, err
		}
		if reg == "rip" {
			return a, fmt.Errorf("%w: %%rip as a value", ErrUnsupportedArg)
		}
		a.Kind, a.Reg, a.RegOffset = ArgReg, s[1:], off
		return a, nil
	}
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return a, fmt.Errorf("%w: %q", ErrUnsupportedArg, s)
	}
	inner := s[open+1 : len(s)-1]
	if !strings.HasPrefix(inner, "%") || strings.ContainsAny(inner, ",:") {
		return a, fmt.Errorf("%w: addressing %q", ErrUnsupportedArg, s)
	}
	reg, off, err := register(inner[1:])
	if err != nil {
		return a, err
	}
	if reg == "rip" {
		return a, fmt.Errorf("%w: base %q", ErrUnsupportedArg, inner)
	}
	if regAlias[inner[1:]].reg != inner[1:] {
		return a, fmt.Errorf("%w: base register %q is not 64-bit", ErrUnsupportedArg, inner)
	}
	if d := s[:open]; d != "" {
		v, err := strconv.ParseInt(d, 0, 64)
		if err != nil {
			return a, fmt.Errorf("%w: displacement %q", ErrUnsupportedArg, d)
		}
		a.Disp = v
	}
	a.Kind, a.Reg, a.RegOffset = ArgMem, inner[1:], off
	return a, nil
}
