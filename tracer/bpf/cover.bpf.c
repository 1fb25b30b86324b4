// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * whittle coverage: function-entry uprobes (uprobe_multi, one cookie per
 * function) and Python's USDT line probe.
 *
 * Loaded next to tracer.bpf.c and sharing its ring buffer (events), bound
 * mount namespaces (bound_set) and counters, so that a Sync marker orders
 * coverage records with file records: after Sync, everything a request did
 * has been read.
 *
 * Native: probes attach to an inode, so every process mapping the binary
 * hits them (other containers of the same image included); only bound mount
 * namespaces count. A function is reported once, on its first hit; user
 * space later removes the probes of hit functions (coverage-guided tracing).
 *
 * Python: python:line fires for every executed line. The (file, function,
 * line) triple is hashed and deduplicated here, so each is reported once.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "records.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Shared with tracer.bpf.c (replaced at load time). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BOUND);
	__type(key, u64);
	__type(value, u8);
} bound_set SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

/* Own maps. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_COVER);
	__uint(map_flags, BPF_F_MMAPABLE); /* read by user space without syscalls */
	__type(key, u32);
	__type(value, u64);
} cover_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_USDT_SPECS);
	__type(key, u32);
	__type(value, struct usdt_spec);
} usdt_specs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, u64);
	__type(value, u8);
} py_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct py_ev);
} py_scratch SEC(".maps");

static __always_inline void count(u32 idx)
{
	u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1;
}

/* bound_ns returns the current task's mount namespace if it is bound, else 0. */
static __always_inline u64 bound_ns(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 m = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	if (!m || !bpf_map_lookup_elem(&bound_set, &m))
		return 0;
	return m;
}

static __always_inline void fill_hdr(struct hdr *h, u8 type, u64 mntns)
{
	u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->kind = 0;
	h->nr = 0;
	h->pid = (u32)id;
	h->tgid = id >> 32;
	h->flags = 0;
	h->mntns = mntns;
	h->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline int on_entry(struct pt_regs *ctx)
{
	u32 idx = (u32)bpf_get_attach_cookie(ctx);
	u64 *hit = bpf_map_lookup_elem(&cover_hits, &idx);
	if (!hit || *hit)
		return 0; /* already reported: user space will unprobe it */
	u64 m = bound_ns();
	if (!m)
		return 0;
	if (__sync_fetch_and_add(hit, 1) != 0)
		return 0; /* another CPU was first */
	struct cover_ev e = {};
	fill_hdr(&e.h, EV_COVER, m);
	e.idx = idx;
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0)) {
		count(C_DROPS);
		*hit = 0; /* report it at the next hit instead */
	}
	return 0;
}

/* usdt_arg reads one USDT argument, as libbpf's usdt.bpf.h does. */
static __always_inline u64 usdt_arg(struct pt_regs *ctx, struct usdt_arg *a)
{
	u64 v = 0, base = 0;
	u32 off = a->reg_off & 0xff;

	switch (a->kind) {
	case ARG_CONST:
		return (u64)a->disp;
	case ARG_REG:
		bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + off);
		break;
	case ARG_MEM:
		bpf_probe_read_kernel(&base, sizeof(base), (void *)ctx + off);
		bpf_probe_read_user(&v, sizeof(v), (void *)(base + a->disp));
		break;
	default:
		return 0;
	}
	u32 shift = 64 - 8 * (a->size & 15);
	if (shift >= 64)
		return v;
	v <<= shift;
	if (a->is_signed)
		return (u64)((s64)v >> shift);
	return v >> shift;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static __always_inline int on_py_line(struct pt_regs *ctx)
{
	u64 m = bound_ns();
	if (!m)
		return 0;
	u32 key = (u32)bpf_get_attach_cookie(ctx);
	struct usdt_spec *spec = bpf_map_lookup_elem(&usdt_specs, &key);
	if (!spec)
		return 0;
	u32 zero = 0;
	struct py_ev *e = bpf_map_lookup_elem(&py_scratch, &zero);
	if (!e)
		return 0;

	const char *file = (const char *)usdt_arg(ctx, &spec->a[0]);
	const char *func = (const char *)usdt_arg(ctx, &spec->a[1]);
	s32 line = (s32)usdt_arg(ctx, &spec->a[2]);

	/* Zeroed buffers hashed whole, word by word: no data-dependent loop
	 * for the verifier to walk. */
	__builtin_memset(e->data, 0, sizeof(e->data));
	long fl = bpf_probe_read_user_str(e->data, PY_STR, file);
	long nl = bpf_probe_read_user_str(e->data + PY_STR, PY_STR, func);
	if (fl < 1)
		fl = 1;
	if (nl < 1)
		nl = 1;
	u32 flen = (fl - 1) & PY_MASK, nlen = (nl - 1) & PY_MASK;

	u64 h = FNV_OFFSET;
	u64 *w = (u64 *)e->data;
#pragma unroll
	for (int i = 0; i < 2 * PY_STR / 8; i++)
		h = (h ^ w[i]) * FNV_PRIME;
	h = (h ^ (u32)line) * FNV_PRIME;

	u8 one = 1;
	if (bpf_map_update_elem(&py_seen, &h, &one, BPF_NOEXIST))
		return 0; /* seen */

	fill_hdr(&e->h, EV_PYLINE, m);
	e->line = line;
	e->file_len = flen;
	e->func_len = nlen;
	if (nlen) {
		/* Move the function name next to the file name. */
		bpf_probe_read_kernel(e->data + flen, nlen, e->data + PY_STR);
	}
	if (bpf_ringbuf_output(&events, e, __builtin_offsetof(struct py_ev, data) + flen + nlen, 0)) {
		count(C_DROPS);
		bpf_map_delete_elem(&py_seen, &h); /* report it at the next execution instead */
	}
	return 0;
}

/* The same programs twice: attached through uprobe_multi links (Linux 6.6+),
 * or one classic uprobe per address on kernels without them. */
SEC("uprobe.multi")
int cover_entry(struct pt_regs *ctx) { return on_entry(ctx); }

SEC("uprobe")
int cover_entry_single(struct pt_regs *ctx) { return on_entry(ctx); }

SEC("uprobe.multi")
int py_line(struct pt_regs *ctx) { return on_py_line(ctx); }

SEC("uprobe")
int py_line_single(struct pt_regs *ctx) { return on_py_line(ctx); }
