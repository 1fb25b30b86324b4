package tracer

import (
	"bufio"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSyscallNames(t *testing.T) {
	for nr, want := range map[int]string{0: "read", 2: "open", 9: "mmap", 59: "execve", 231: "exit_group",
		257: "openat", 262: "newfstatat", 322: "execveat", 332: "statx", 435: "clone3", 437: "openat2",
		439: "faccessat2", 452: "fchmodat2", 471: "rseq_slice_yield", 511: "syscall_511", -1: "syscall_-1", 1000: "syscall_1000"} {
		if got := SyscallName(nr); got != want {
			t.Errorf("SyscallName(%d) = %q, want %q", nr, got, want)
		}
	}
	for nr, name := range syscallNamesAMD64 {
		if name == "" {
			continue
		}
		if got, ok := SyscallNumber(name); !ok || got != nr {
			t.Errorf("SyscallNumber(%q) = %d, %v; want %d", name, got, ok, nr)
		}
	}
	if _, ok := SyscallNumber("no_such_call"); ok {
		t.Error("SyscallNumber of an unknown name")
	}
	if len(syscallNamesAMD64) > nrSyscalls {
		t.Errorf("%d syscall names do not fit the %d-bit BPF bitmap", len(syscallNamesAMD64), nrSyscalls)
	}
}

func TestSyscallsFromBits(t *testing.T) {
	words := make([]uint64, nrSyscalls/64)
	for _, nr := range []int{0, 59, 63, 64, 257, 511} {
		words[nr/64] |= 1 << (nr % 64)
	}
	var got []int
	for _, s := range syscallsFromBits(words) {
		got = append(got, s.Nr)
		if s.Name != SyscallName(s.Nr) {
			t.Errorf("%d named %q", s.Nr, s.Name)
		}
	}
	if want := []int{0, 59, 63, 64, 257, 511}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// Every file syscall spec names a real syscall and sane argument slots.
func TestSyscallSpecs(t *testing.T) {
	seen := map[int]bool{}
	for _, s := range fileSyscallsAMD64 {
		name := SyscallName(s.nr)
		if strings.HasPrefix(name, "syscall_") {
			t.Errorf("spec for unknown syscall %d", s.nr)
		}
		if seen[s.nr] {
			t.Errorf("%s specified twice", name)
		}
		seen[s.nr] = true
		if s.kind == KindUnknown || s.kind >= kindCount {
			t.Errorf("%s: kind %v", name, s.kind)
		}
		for _, a := range []int8{s.dirfd, s.path, s.flags, s.dirfd2, s.path2} {
			if a < noArg || a > 5 {
				t.Errorf("%s: argument index %d", name, a)
			}
		}
		if s.path == noArg && s.special != spMmap && s.special != spFchdir {
			t.Errorf("%s: no path argument", name)
		}
		if (s.path2 == noArg) != (s.dirfd2 == noArg) && s.dirfd2 != noArg {
			t.Errorf("%s: dirfd2 without path2", name)
		}
	}
	for _, name := range []string{"open", "openat", "openat2", "creat", "execve", "execveat", "newfstatat",
		"statx", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "chdir", "fchdir", "mmap"} {
		nr, _ := SyscallNumber(name)
		if _, ok := specFor(nr); !ok {
			t.Errorf("no spec for %s", name)
		}
	}
	if _, ok := specFor(0); ok {
		t.Error("read has a file spec")
	}
}

func TestKindAndTierNames(t *testing.T) {
	for k := KindUnknown; k < kindCount; k++ {
		name := k.String()
		back, err := ParseKind(name)
		if err != nil || back != k || name == "" {
			t.Errorf("kind %d: %q -> %v, %v", k, name, back, err)
		}
		b, _ := k.MarshalText()
		var u Kind
		if err := u.UnmarshalText(b); err != nil || u != k {
			t.Errorf("text round trip of %v: %v %v", k, u, err)
		}
	}
	if s := Kind(200).String(); s != "kind(200)" {
		t.Errorf("Kind(200) = %q", s)
	}
	if _, err := ParseKind("nope"); err == nil {
		t.Error("ParseKind(nope)")
	}
	for _, tier := range append([]Tier{TierAuto}, tierOrder...) {
		back, err := ParseTier(tier.String())
		if err != nil || back != tier {
			t.Errorf("tier %d: %q -> %v, %v", tier, tier, back, err)
		}
	}
	if _, err := ParseTier("kprobe"); err == nil {
		t.Error("ParseTier(kprobe)")
	}
}

func TestParseCapEff(t *testing.T) {
	status := "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\nCapBnd:\t0\n"
	v, err := parseCapEff(bufio.NewScanner(strings.NewReader(status)))
	if err != nil || v != 0x1ffffffffff {
		t.Fatalf("parseCapEff = %#x, %v", v, err)
	}
	if _, err := parseCapEff(bufio.NewScanner(strings.NewReader("Name:\tx\n"))); err == nil {
		t.Error("no CapEff line accepted")
	}
}

func TestRingSize(t *testing.T) {
	for in, want := range map[int]uint32{0: 4096, 4096: 4096, 5000: 8192, 8 << 20: 8 << 20, 3 << 20: 4 << 20, 1 << 40: 1 << 30} {
		if got := ringSize(in); got != want {
			t.Errorf("ringSize(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestErrorsAreSentinels(t *testing.T) {
	err := probeUnimplemented(Tier(99))
	if !errors.Is(err, ErrNotSupported) {
		t.Errorf("probe of an unknown tier: %v", err)
	}
}
