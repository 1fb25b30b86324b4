package tracer

// Regenerate the BPF objects and their Go bindings (clang-14, llvm-strip from Debian):
//
//	go generate ./tracer
//
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target bpfel -go-package tracer tracer bpf/tracer.bpf.c
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target bpfel -go-package tracer cover bpf/cover.bpf.c
