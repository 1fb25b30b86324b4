package jvm

// Regenerate the BPF object and its Go bindings (clang-14, llvm-strip from
// Debian; the C source stays with the tracer's, whose records.h and ring
// buffer it shares) and the JVMTI agent (clang-14 and a JDK's headers; see
// agent/build.sh):
//
//	go generate ./tracer/...
//
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-14 -strip llvm-strip-14 -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target bpfel -go-package jvm jvm ../../bpf/jvm.bpf.c
//go:generate agent/build.sh libwhittlejvm_amd64.so
