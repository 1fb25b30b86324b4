// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * whittle tracer: file, exec and syscall observation of container processes.
 *
 * Attribution ("arm first, bind later"): a thread group is tracked from its
 * first execve in a mount namespace other than the host's (sched_process_exec),
 * inherited by its forked children (sched_process_fork) and forgotten when
 * its last thread exits (sched_process_exit). runc init therefore never counts,
 * while the loader's first opens of the entrypoint do. Once user space binds
 * (filtering, bound_set: one or more containers' mount namespaces),
 * everything else is ignored here.
 *
 * File syscalls are paired: sys_enter saves the raw arguments per thread
 * (inflight), sys_exit reads the path string (the kernel has faulted it in by
 * then), resolves the base directory of a relative path when the in-kernel
 * tier is selected (kernel_paths) and emits one record with the result.
 * Which syscalls, and where their path/dirfd/flags arguments are, comes from
 * the specs table that user space fills in.
 *
 * x86_64 only for now (pt_regs member names, syscall numbers).
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "records.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Load-time settings (.rodata). */
const volatile u64 host_mntns = 0;
const volatile u32 kernel_paths = 0;

/*
 * Run-time setting (.bss): once user space binds, only the mount namespaces
 * in bound_set are followed; Arm clears it again to catch the next
 * container's first exec.
 */
volatile u32 filtering = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BOUND);
	__type(key, u64);
	__type(value, u8);
} bound_set SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, struct tracked_v);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_SYSCALLS);
	__type(key, u32);
	__type(value, struct spec);
} syscall_specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, struct sysbits);
} sysbits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline void count(u32 idx)
{
	u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1;
}

static __always_inline u64 task_mntns(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

/* ns_followed: whether records of mount namespace m are wanted. */
static __always_inline int ns_followed(u64 m)
{
	if (!filtering)
		return 1;
	return bpf_map_lookup_elem(&bound_set, &m) != 0;
}

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

static __always_inline void fill_hdr(struct hdr *h, u8 type, u64 mntns, u32 flags)
{
	u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->kind = 0;
	h->nr = 0;
	h->pid = (u32)id;
	h->tgid = id >> 32;
	h->flags = flags;
	h->mntns = mntns;
	h->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline void output(void *data, u64 size, u64 flags)
{
	if (bpf_ringbuf_output(&events, data, size, flags))
		count(C_DROPS);
}

#include "dentry_walk.h"

static __always_inline int is_dev_fd(const char *p)
{
	return p[0] == '/' && p[1] == 'd' && p[2] == 'e' && p[3] == 'v' && p[4] == '/' && p[5] == 'f' &&
	       p[6] == 'd' && p[7] == '/';
}

static __always_inline void send_file_ev(struct scratch *sc, u32 plen, u32 blen)
{
	plen &= PATH_MASK;
	blen &= PATH_MASK;
	sc->ev.path_len = plen;
	sc->ev.base_len = blen;
	output(&sc->ev, __builtin_offsetof(struct file_ev, data) + plen + blen, 0);
}

/* Emit one record for path argument #which (0 or 1) of a finished syscall. */
static __noinline int emit_one(struct scratch *sc, struct inflight *a, struct spec *s, int which)
{
	struct file_ev *ev = &sc->ev;
	s8 pi = which ? s->path2_arg : s->path_arg;
	s8 di = which ? s->dirfd2_arg : s->dirfd_arg;
	s32 dirfd = AT_FDCWD;
	u32 plen = 0, blen = 0;

	ev->h.flags &= F_TRACKED;
	if (which)
		ev->h.flags |= F_SECOND;
	if (di >= 0)
		dirfd = (s32)a->a[di & 7];
	ev->dirfd = dirfd;
	ev->aux = s->flags_arg >= 0 ? a->a[s->flags_arg & 7] : 0;
	if (s->special == SP_OPENAT2) {
		u64 fl = 0;
		bpf_probe_read_user(&fl, sizeof(fl), (void *)a->a[2]);
		ev->aux = fl;
	}

	if (s->special == SP_MMAP || s->special == SP_FCHDIR) {
		if (kernel_paths)
			blen = put_file_base(sc, 0, fd_file(current_task(), dirfd));
		send_file_ev(sc, 0, blen);
		return 0;
	}

	const char *up = (const char *)a->a[pi & 7];
	if (pi < 0 || !up)
		return 0;
	long n = bpf_probe_read_user_str(ev->data, PATH_MAX, up);
	if (n < 0)
		return -1;
	if (n <= 1)
		return 0; /* empty path: AT_EMPTY_PATH, an fd operation, not a lookup */
	plen = (n - 1) & PATH_MASK;
	if (kernel_paths && ev->data[0] != '/') {
		if (dirfd == AT_FDCWD || s->special == SP_CHDIR)
			blen = put_cwd(sc, plen);
		else
			blen = put_file_base(sc, plen, fd_file(current_task(), dirfd));
	}
	send_file_ev(sc, plen, blen);
	return 0;
}

/* is_method: whether w, the first four bytes a read returned, start an
 * HTTP/1 request line (little-endian). */
static __always_inline int is_method(u32 w)
{
	return w == 0x20544547 /* "GET " */ || w == 0x54534f50 /* "POST" */ || w == 0x20545550 /* "PUT " */ ||
	       w == 0x454c4544 /* "DELE" */ || w == 0x43544150 /* "PATC" */ || w == 0x44414548 /* "HEAD" */ ||
	       w == 0x4954504f /* "OPTI" */;
}

/* emit_head sends the start of a read's bytes when they begin an HTTP
 * request: the thread that read it is serving it. */
static __noinline int emit_head(u64 buf, s64 ret, u64 mntns, u32 flags)
{
	u32 w = 0;
	if (ret < 16 || bpf_probe_read_user(&w, sizeof(w), (void *)buf) || !is_method(w))
		return 0;
	struct head_ev *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(C_DROPS);
		return 0;
	}
	fill_hdr(&e->h, EV_HEAD, mntns, flags);
	e->ret = ret;
	/* The buffer is at least ret bytes; past them (ret < HEAD_MAX) it holds
	 * stale bytes, which user space cuts off. A read that fails near the
	 * end of a mapping keeps the first 16, known readable. */
	if (bpf_probe_read_user(e->data, HEAD_MAX, (void *)buf)) {
		__builtin_memset(e->data, 0, HEAD_MAX);
		bpf_probe_read_user(e->data, 16, (void *)buf);
		e->ret = 16;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline void mark_syscall(u64 mntns, long nr)
{
	struct sysbits *v = bpf_map_lookup_elem(&sysbits, &mntns);
	if (!v) {
		struct sysbits zero = {};
		bpf_map_update_elem(&sysbits, &mntns, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&sysbits, &mntns);
		if (!v)
			return;
	}
	u64 bit = 1ULL << (nr & 63);
	u32 w = (nr >> 6) & (NR_SYSCALLS / 64 - 1);
	if (!(v->w[w] & bit))
		__sync_fetch_and_or(&v->w[w], bit);
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = (long)ctx->args[1];
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32, tid = (u32)id;
	struct tracked_v *t = bpf_map_lookup_elem(&tracked, &tgid);

	if (t) {
		if (!ns_followed(t->mntns))
			return 0;
		if ((u64)nr < NR_SYSCALLS)
			mark_syscall(t->mntns, nr);
	} else {
		/* Untracked: only what makes a task tracked (exec) and what user
		 * space needs to know its working directory (chdir, fchdir). */
		if (nr != NR_execve && nr != NR_execveat && nr != NR_chdir && nr != NR_fchdir)
			return 0;
		u64 m = task_mntns(current_task());
		if (!m || m == host_mntns || !ns_followed(m))
			return 0;
	}
	if ((u64)nr >= NR_SYSCALLS)
		return 0;

	u32 k = (u32)nr;
	struct spec *s = bpf_map_lookup_elem(&syscall_specs, &k);
	if (!s || !s->kind)
		return 0;

	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	struct inflight a = {};
	a.a[0] = BPF_CORE_READ(regs, di);
	a.a[1] = BPF_CORE_READ(regs, si);
	a.a[2] = BPF_CORE_READ(regs, dx);
	a.a[3] = BPF_CORE_READ(regs, r10);
	a.a[4] = BPF_CORE_READ(regs, r8);
	a.a[5] = BPF_CORE_READ(regs, r9);
	a.nr = (u32)nr;
	if (s->special == SP_MMAP && (!(a.a[2] & PROT_EXEC) || (s32)a.a[4] < 0))
		return 0;
	if (bpf_map_update_elem(&inflight, &tid, &a, BPF_ANY))
		count(C_INFLIGHT_FULL);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, tgid = id >> 32;
	struct inflight *ip = bpf_map_lookup_elem(&inflight, &tid);
	if (!ip)
		return 0;
	struct inflight a = *ip;
	bpf_map_delete_elem(&inflight, &tid);

	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = BPF_CORE_READ(regs, orig_ax);
	if (nr != (long)a.nr)
		return 0; /* stale entry of a reused thread id */

	u32 k = a.nr;
	struct spec *s = bpf_map_lookup_elem(&syscall_specs, &k);
	if (!s || !s->kind)
		return 0;
	u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;

	struct tracked_v *t = bpf_map_lookup_elem(&tracked, &tgid);
	u64 mntns;
	u32 flags = 0;
	if (t) {
		mntns = t->mntns;
		flags = F_TRACKED;
	} else {
		mntns = task_mntns(current_task());
	}
	if (s->special == SP_HEAD)
		return emit_head(a.a[1], (s64)ctx->args[1], mntns, flags);
	fill_hdr(&sc->ev.h, EV_FILE, mntns, flags);
	sc->ev.h.kind = s->kind;
	sc->ev.h.nr = (u16)a.nr;
	sc->ev.ret = (s64)ctx->args[1];

	if (emit_one(sc, &a, s, 0) < 0)
		count(C_READ_FAIL);
	if (s->path2_arg >= 0 && emit_one(sc, &a, s, 1) < 0)
		count(C_READ_FAIL);
	return 0;
}

SEC("raw_tracepoint/sched_process_exec")
int sched_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = current_task();
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	u32 old_pid = (u32)ctx->args[1];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct inflight a = {};
	int have = 0;

	struct inflight *ip = bpf_map_lookup_elem(&inflight, &old_pid);
	if (ip) {
		a = *ip;
		have = 1;
		bpf_map_delete_elem(&inflight, &old_pid);
	}

	u64 mntns = task_mntns(task);
	if (!mntns || mntns == host_mntns || !ns_followed(mntns)) {
		bpf_map_delete_elem(&tracked, &tgid);
		return 0;
	}
	struct tracked_v tv = {.mntns = mntns};
	if (bpf_map_update_elem(&tracked, &tgid, &tv, BPF_ANY))
		count(C_TRACKED_FULL);

	u32 zero = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	if (!sc)
		return 0;
	struct file_ev *ev = &sc->ev;
	fill_hdr(&ev->h, EV_EXEC, mntns, F_TRACKED);
	ev->h.kind = 0; /* user space knows exec records */
	ev->h.nr = have ? (u16)a.nr : 0;
	ev->ret = 0;
	ev->dirfd = AT_FDCWD;
	ev->aux = 0;
	if (have && a.nr == NR_execveat) {
		ev->dirfd = (s32)a.a[0];
		ev->aux = a.a[4];
	}

	const char *filename = BPF_CORE_READ(bprm, filename);
	const char *interp = BPF_CORE_READ(bprm, interp);
	long n = bpf_probe_read_kernel_str(ev->data, PATH_MAX, filename);
	u32 plen = n > 1 ? (n - 1) & PATH_MASK : 0;
	u32 blen = 0;
	if (ev->dirfd != AT_FDCWD && is_dev_fd(ev->data)) {
		/* execveat through a dirfd (fexecve, or a relative path): the
		 * kernel calls it "/dev/fd/N[/path]"; report the executed file. */
		ev->h.flags |= F_EXEC_FD;
		if (kernel_paths) {
			struct file *f = 0;
			if (bpf_core_field_exists(bprm->executable))
				f = BPF_CORE_READ(bprm, executable);
			if (!f)
				f = BPF_CORE_READ(bprm, file);
			blen = put_file_base(sc, plen, f);
		}
	} else if (kernel_paths && plen > 0 && ev->data[0] != '/') {
		blen = put_cwd(sc, plen);
	}
	send_file_ev(sc, plen, blen);

	if (interp && interp != filename) {
		ev->h.flags = F_TRACKED | F_INTERP;
		ev->dirfd = AT_FDCWD;
		n = bpf_probe_read_kernel_str(ev->data, PATH_MAX, interp);
		plen = n > 1 ? (n - 1) & PATH_MASK : 0;
		blen = 0;
		if (kernel_paths && plen > 0 && ev->data[0] != '/')
			blen = put_cwd(sc, plen);
		send_file_ev(sc, plen, blen);
	}
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int sched_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	u32 cpid = BPF_CORE_READ(child, pid);
	u32 ctgid = BPF_CORE_READ(child, tgid);
	if (cpid != ctgid)
		return 0; /* a new thread, not a new process */

	u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	struct tracked_v *t = bpf_map_lookup_elem(&tracked, &ptgid);
	if (!t)
		return 0;
	if (!ns_followed(t->mntns))
		return 0;
	struct tracked_v tv = {.mntns = t->mntns};
	if (bpf_map_update_elem(&tracked, &ctgid, &tv, BPF_ANY))
		count(C_TRACKED_FULL);

	struct fork_ev e = {};
	fill_hdr(&e.h, EV_FORK, tv.mntns, F_TRACKED);
	e.child_tgid = ctgid;
	output(&e, sizeof(e), 0);
	return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int sched_exit(struct bpf_raw_tracepoint_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, tgid = id >> 32;

	bpf_map_delete_elem(&inflight, &tid);
	struct tracked_v *t = bpf_map_lookup_elem(&tracked, &tgid);
	if (!t)
		return 0;
	/* signal->live is decremented before this tracepoint: 0 means the
	 * whole thread group is gone. */
	if (BPF_CORE_READ(current_task(), signal, live.counter) != 0)
		return 0;
	struct hdr h = {};
	fill_hdr(&h, EV_EXIT, t->mntns, F_TRACKED);
	bpf_map_delete_elem(&tracked, &tgid);
	output(&h, sizeof(h), 0);
	return 0;
}

/*
 * Sync marker, never attached: user space runs it with BPF_PROG_TEST_RUN and
 * waits for the marker, so every record reserved before it has been read.
 */
SEC("raw_tracepoint/whittle_sync")
int sync_marker(struct bpf_raw_tracepoint_args *ctx)
{
	struct sync_ev e = {};
	e.h.type = EV_SYNC;
	e.seq = ctx->args[0];
	output(&e, sizeof(e), BPF_RB_FORCE_WAKEUP);
	return 0;
}
