/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Record layouts, flags and tables shared with user space (events.go,
 * specs.go, tracer.go). The Go tests check the values and the layout.
 */
#ifndef WHITTLE_RECORDS_H
#define WHITTLE_RECORDS_H

#define PATH_MAX 4096
#define PATH_MASK (PATH_MAX - 1)
#define NAME_MASK 255
#define MAX_DEPTH 256
#define NR_SYSCALLS 512
#define MAX_BOUND 64 /* mount namespaces bound at once */
#define AT_FDCWD -100
#define PROT_EXEC 4

#define NR_execve 59
#define NR_chdir 80
#define NR_fchdir 81
#define NR_execveat 322

/* Record types. Keep in sync with events.go. */
enum ev_type {
	EV_FILE = 1,
	EV_EXEC = 2,
	EV_FORK = 3,
	EV_EXIT = 4,
	EV_SYNC = 5,
	EV_COVER = 6,  /* first hit of a probed function (cover.bpf.c) */
	EV_PYLINE = 7, /* first execution of a Python (file, function, line) */
	EV_HEAD = 8,   /* a thread read the start of an HTTP request */
};

/* Record flags. Keep in sync with events.go. */
enum ev_flags {
	F_TRACKED = 1,    /* the thread group was tracked (had exec'd) */
	F_BASE = 2,       /* data holds a base directory after the path */
	F_BASE_TRUNC = 4, /* base walk stopped early (depth or length) */
	F_BASE_ERR = 8,   /* base could not be found (bad fd) */
	F_INTERP = 16,    /* exec record of a script's interpreter */
	F_SECOND = 32,    /* second path argument (rename, link, ...) */
	F_EXEC_FD = 64,   /* execveat through a dirfd: base is the executed file */
};

/* Special argument handling. Keep in sync with specs.go. */
enum special {
	SP_NONE = 0,
	SP_MMAP = 1,    /* only PROT_EXEC mappings of a file; base = the fd's path */
	SP_OPENAT2 = 2, /* flags live in struct open_how */
	SP_CHDIR = 3,   /* base = cwd at exit, i.e. the new cwd when it succeeded */
	SP_FCHDIR = 4,  /* base = the fd's path */
	SP_EXEC = 5,    /* reported by sched_process_exec when it succeeds */
	SP_HEAD = 6,    /* read, recvfrom: a record when the bytes start an HTTP request */
};

/* Counters (per CPU). Keep in sync with tracer.go. */
enum counter {
	C_DROPS = 0,          /* ring buffer full */
	C_INFLIGHT_FULL = 1,  /* inflight map full */
	C_READ_FAIL = 2,      /* user path unreadable */
	C_TRACKED_FULL = 3,   /* tracked map full */
	C_WALK_TRUNC = 4,     /* dentry walk truncated */
	C_MAX = 8,
};

struct hdr {
	u8 type;
	u8 kind;
	u16 nr;
	u32 pid;
	u32 tgid;
	u32 flags;
	u64 mntns;
	u64 ts;
	char comm[16];
};

struct file_ev {
	struct hdr h;
	s64 ret;
	u64 aux; /* open flags or AT_* flags */
	s32 dirfd;
	u32 path_len;
	u32 base_len;
	u32 pad;
	char data[2 * PATH_MAX]; /* path, then base */
};

struct fork_ev {
	struct hdr h;
	u32 child_tgid;
	u32 pad;
};

struct sync_ev {
	struct hdr h;
	u64 seq;
};

/* The first bytes of an HTTP request a thread read (EV_HEAD): which thread
 * serves which request, for attributing coverage with several in flight. */
#define HEAD_MAX 192

struct head_ev {
	struct hdr h;
	s64 ret; /* bytes the read returned; data holds min(ret, HEAD_MAX) */
	char data[HEAD_MAX];
};

/* Coverage (cover.bpf.c). */
#define MAX_COVER (1 << 18) /* probed functions, all binaries together */
#define PY_STR 256          /* bytes kept of a Python file or function name */
#define PY_MASK (PY_STR - 1)
#define MAX_USDT_SPECS 64   /* USDT sites attached at once */
#define USDT_ARGS 3

struct cover_ev {
	struct hdr h;
	u32 idx; /* the probe's cookie: index into cover_hits */
	u32 pad;
};

struct py_ev {
	struct hdr h;
	s32 line;
	u16 file_len;
	u16 func_len;
	char data[2 * PY_STR]; /* file, then function */
};

/* Where a USDT argument lives; mirrors usdt.Arg. */
enum usdt_arg_kind {
	ARG_CONST = 1,
	ARG_REG = 2,
	ARG_MEM = 3,
};

struct usdt_arg {
	u8 kind;
	u8 size;
	u8 is_signed;
	u8 pad;
	u32 reg_off; /* offset in struct pt_regs */
	s64 disp;    /* memory displacement or constant */
};

struct usdt_spec {
	struct usdt_arg a[USDT_ARGS]; /* python:line: filename, funcname, lineno */
};

struct spec {
	u8 kind;
	u8 special;
	s8 dirfd_arg;
	s8 path_arg;
	s8 flags_arg;
	s8 dirfd2_arg;
	s8 path2_arg;
	u8 pad;
};

struct inflight {
	u64 a[8];
	u32 nr;
	u32 pad;
};

struct tracked_v {
	u64 mntns;
};

struct sysbits {
	u64 w[NR_SYSCALLS / 64];
};

struct scratch {
	struct file_ev ev;
	char walk[PATH_MAX + NAME_MASK + 1];
};

#endif /* WHITTLE_RECORDS_H */
