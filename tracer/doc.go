// Package tracer observes a container from the host with eBPF: every file
// its processes open, execute, map as code or merely look up (failed lookups
// included, with their errno), and the set of syscalls they make.
//
// # Attribution: arm first, bind later
//
// New loads and attaches the programs before the container starts. From
// then on a process counts once it execs in a mount namespace other than the
// host's (sched_process_exec); its forked children inherit that
// (sched_process_fork) and it is forgotten when its last thread exits. So
// runc init's own work is excluded, the dynamic loader's and libc's first
// opens of the entrypoint are kept, and `docker exec` processes are
// included. Until Bind, records are kept per mount namespace; Bind(pid)
// keeps the container's and, from then on, BPF ignores every other
// namespace (another container of the same image included).
//
// Bind is additive: the pipeline restarts a crashed target or replays
// against a fresh container of the same image, and binds that one too;
// files, syscalls and coverage are merged across the bound containers
// (Files, FilesSince and Syscalls are one view). Arm before starting the
// next container widens recording again so its first exec is caught;
// Start does Arm, the start and Bind in that order, one start at a time.
// Unbind a container once it is removed (the kernel reuses namespace
// inode numbers).
//
// # Code coverage
//
// Package tracer/cover measures the code coverage of the bound containers
// with uprobes that share the tracer's ring buffer (an Extension), so that
// Sync orders coverage records with file records. Its Starter starts the
// target processes through Start (Arm, start, Bind, serialised) and begins
// coverage once the first one is ready.
//
// # Tiers
//
// File observation has tiers, best first: LSM hooks with bpf_d_path, fentry,
// syscall tracepoints with an in-kernel dentry walk for the base directory of
// relative paths (TierTracepointKernelPath), and syscall tracepoints with
// the base resolved in user space (TierTracepointUserPath) from a shadow of
// each process's working directory and descriptors, rebuilt from the records
// themselves. TierAuto takes the best one that loads. The LSM and fentry
// tiers are only probed so far (their programs are a later phase); where
// they would load, TierAuto still falls back, with the reason in Fallbacks.
// Both tracepoint tiers give the same file set; the tests check it.
//
// Every tracepoint tier reads the path argument at sys_exit (the kernel has
// faulted the string in by then) and the result (errno) with it. Records go
// through one BPF ring buffer; records the kernel could not queue are
// counted (Stats.Lost). Sync is a flush point: it returns once every record
// queued before it has been applied, so a caller can ask what one request
// newly touched (FilesSince).
//
// # What is recorded
//
// open/openat/openat2/creat (O_DIRECTORY opens as KindOpenDir),
// execve/execveat (confirmed by sched_process_exec; a #! script's
// interpreter; the ELF interpreter from PT_INTERP as the binary names it),
// mmap with PROT_EXEC of a file, the stat, access and readlink families,
// chdir, chroot, statfs, the xattr calls, mkdir, unlink, rmdir, rename and
// link (both paths), symlink, truncate, chmod, chown, utime*, mknod and
// inotify_add_watch. Calls with an empty path (AT_EMPTY_PATH: fstat and
// friends) are fd operations, not lookups, and are skipped.
//
// # Limits
//
//   - x86_64 only (syscall numbers, pt_regs, instruction checks); 32-bit
//     (ia32) processes' syscall numbers would be misread.
//   - Without uprobe_multi links (before Linux 6.6) each function has its
//     own uprobe: attaching stays fast, but each detach waits ~0.1 s, so
//     pruning runs in the background and closing takes longer.
//   - BPF cookies on uprobes need Linux 5.15+ (below the 5.17 floor).
//   - Needs BTF (CO-RE), the BPF ring buffer and bpf_loop: Linux 5.17+.
//   - A process that unshares its own mount namespace inside a bound
//     container and execs there is no longer followed.
//   - The user-space tier resolves symlinks of a remembered cwd or dirfd
//     through /proc/PID/root of a live process of the container; if none is
//     left, the path stays lexical. execveat through a descriptor is named
//     by /proc/PID/exe there (racy for short-lived processes).
//
// # Regenerating the BPF objects
//
//	go generate ./tracer/...
//
// runs bpf2go with clang-14 and llvm-strip-14 over bpf/tracer.bpf.c (see
// gen.go) and, in tracer/cover, bpf/cover.bpf.c; bpf/vmlinux_min.h declares
// only the kernel members read, with preserve_access_index, so no
// vmlinux.h or bpftool is needed.
package tracer
