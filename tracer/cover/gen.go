package cover

// Regenerate the coverage BPF object and its Go bindings (clang-14,
// llvm-strip from Debian). The C source stays with the tracer's, whose
// records.h and ring buffer it shares:
//
//	go generate ./tracer/...
//
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target bpfel -go-package cover cover ../bpf/cover.bpf.c
