package tracer

// Regenerate the BPF object and its Go bindings (clang-14, llvm-strip from
// Debian); the coverage object is generated in tracer/cover:
//
//	go generate ./tracer/...
//
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target bpfel -go-package tracer tracer bpf/tracer.bpf.c
