package tracer

//go:generate go run ./internal/gensyscalls -o syscalls_amd64_table.go

import "strconv"

// Syscall is one system call a container's processes made.
type Syscall struct {
	Nr   int    // x86_64 number
	Name string // kernel name, as in Docker seccomp profiles ("openat", "newfstatat")
}

// SyscallName returns the x86_64 name of a syscall number, or "syscall_N"
// for numbers the table does not know.
func SyscallName(nr int) string {
	if nr >= 0 && nr < len(syscallNamesAMD64) && syscallNamesAMD64[nr] != "" {
		return syscallNamesAMD64[nr]
	}
	return "syscall_" + strconv.Itoa(nr)
}

// SyscallNumber is the inverse of SyscallName for known names.
func SyscallNumber(name string) (int, bool) {
	for nr, n := range syscallNamesAMD64 {
		if n == name && n != "" {
			return nr, true
		}
	}
	return 0, false
}

// syscallsFromBits decodes a BPF syscall bitmap (bit nr of word nr/64).
func syscallsFromBits(words []uint64) []Syscall {
	var out []Syscall
	for w, v := range words {
		for bit := 0; bit < 64; bit++ {
			if v&(1<<bit) != 0 {
				nr := w*64 + bit
				out = append(out, Syscall{Nr: nr, Name: SyscallName(nr)})
			}
		}
	}
	return out
}
