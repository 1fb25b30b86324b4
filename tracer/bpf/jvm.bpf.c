// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * whittle JVM coverage: the messages of whittle's JVMTI agent
 * (tracer/cover/jvm/agent/agent.c), read at the agent's
 * whittle_jvm_message(msg, len) by a uprobe on the agent's file.
 *
 * Loaded next to tracer.bpf.c and sharing its ring buffer (events) and
 * counters, so that a Sync marker orders the agent's messages with file
 * records: the agent sends them from the thread that runs the method,
 * before it runs, so after an answer and a Sync they have been read.
 *
 * No mount namespace filter: the agent's file is written by each run and
 * mounted into that run's traced containers only, so whoever calls it is
 * one of them (possibly not bound yet: the agent replays its messages
 * once the probe is attached, which may race with the bind).
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "records.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Record type of an agent message: beyond enum ev_type in records.h, which
 * the tracer and the other coverage kinds number from 1. Keep in sync with
 * records.go. */
#define EV_JVM 16
#define JVM_MSG 1024 /* a power of two above the agent's longest message (512) */

struct jvm_ev {
	struct hdr h;
	u32 len;
	u32 pad;
	char data[JVM_MSG];
};

/* Shared with tracer.bpf.c (replaced at load time). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

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
	__type(value, struct jvm_ev);
} jvm_scratch SEC(".maps");

SEC("uprobe")
int jvm_message(struct pt_regs *ctx)
{
	u32 zero = 0;
	struct jvm_ev *e = bpf_map_lookup_elem(&jvm_scratch, &zero);
	if (!e)
		return 0;
	const char *msg = (const char *)BPF_CORE_READ(ctx, di);
	u32 len = (u32)BPF_CORE_READ(ctx, si);
	if (len > JVM_MSG - 1)
		len = JVM_MSG - 1;
	len &= JVM_MSG - 1;
	if (bpf_probe_read_user(e->data, len, msg))
		return 0;

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 id = bpf_get_current_pid_tgid();
	e->h.type = EV_JVM;
	e->h.kind = 0;
	e->h.nr = 0;
	e->h.pid = (u32)id;
	e->h.tgid = id >> 32;
	e->h.flags = 0;
	e->h.mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->h.ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->h.comm, sizeof(e->h.comm));
	e->len = len;
	if (bpf_ringbuf_output(&events, e, __builtin_offsetof(struct jvm_ev, data) + len, 0)) {
		u32 idx = C_DROPS;
		u64 *c = bpf_map_lookup_elem(&counters, &idx);
		if (c)
			*c += 1;
	}
	return 0;
}
