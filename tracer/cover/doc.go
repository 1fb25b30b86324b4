// Package cover measures the code coverage of the containers a tracer
// follows and feeds the fuzzer through NewSince: Sync the tracer after an
// answer, then ask which units the request hit first.
//
// Source is what every runtime's coverage implements (Coverage here for
// native code and CPython; runtime packages for V8 and the JVM, plugged in
// with WithRuntime): its units carry file and line where known and the
// time of their first hit (Ledger keeps them), Stats say which mechanism
// measures them and why none is active.
//
// Starter is how a target is started and covered: it arms the tracer,
// calls the caller's start function, binds the tracer to the new process
// (tracer.Start, one start at a time), waits until the process is ready
// and, the first time, attaches coverage to its binary (Attach). Later
// containers of the same image are covered by the same Coverage.
//
//   - Native ELF binaries: function-entry uprobes through uprobe_multi
//     links (or, on kernels before 6.6, one classic uprobe per function,
//     same program body), one cookie per function indexing a hit array;
//     BPF reports a function once, on its first hit by a bound namespace
//     (probes sit on the file's inode: every container of the image traps,
//     only bound ones count). Functions come from .symtab, else from the Go
//     pclntab of a stripped Go binary (package tracer/elfsym: the Go text
//     start is read from the module data, never assumed from .text, and the
//     resulting addresses are cross-checked against the code's direct
//     calls), else from .dynsym. Every entry is checked to be an
//     instruction start; chunks the kernel refuses are bisected down to the
//     function, which is reported (Problems). Default scope: a Go binary's
//     application (its main module; for a module-less GOPATH build the
//     repository root of its main package, else the non-standard prefix
//     holding most functions; vendored code left out: elfsym.GoAppScope),
//     a C, C++ or Rust executable's own functions. Probes of
//     hit functions are removed in the background (Prune: coverage-guided
//     tracing, after UnTracer), so the steady-state cost approaches zero.
//   - CPython: the interpreter's python:line USDT probe (package
//     tracer/usdt reads .note.stapsdt), attached with its semaphore, the
//     (file, function, line) triples deduplicated in BPF. Enable(false)
//     detaches it and the interpreter runs at full speed again. Without
//     USDT, Attach fails with ErrNoUSDT: file-level coverage only.
//
// Baseline marks what runs while idle (start-up, timers) as background,
// never reported as a request's novelty.
//
// The BPF object (bpf/cover.bpf.c in the tracer's directory, generated here:
// see gen.go) is loaded on the first Attach as a tracer.Extension: it
// writes into the tracer's ring buffer (so Sync orders coverage records
// with file records) and shares its bound namespace set and counters.
// Closing the tracer closes every Coverage.
package cover
