/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * In-kernel path of a directory or file (TierTracepointKernelPath): walk the
 * dentries up to the task's root, crossing mounts, as d_path does. bpf_d_path
 * is only callable from LSM/fentry programs, which this kernel refuses.
 *
 * Included by tracer.bpf.c after its maps and helpers.
 */
#ifndef WHITTLE_DENTRY_WALK_H
#define WHITTLE_DENTRY_WALK_H

static __always_inline struct file *fd_file(struct task_struct *task, s32 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = 0;

	if (!fdt || fd < 0 || (u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]))
		return 0;
	return f;
}

struct walk_ctx {
	struct scratch *sc;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_d;
	struct vfsmount *root_m;
	u32 mnt_off;
	u32 pos;
	int done;
};

/* One step of the walk (bpf_loop callback): prepend one name, or cross one
 * mount. Returns 1 to stop. */
static long walk_step(u32 i, void *data)
{
	struct walk_ctx *w = data;
	/* Plain locals: BPF_CORE_READ(w->x, ...) would relocate walk_ctx. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;

	if (dentry == w->root_d && vfsmnt == w->root_m) {
		w->done = 1;
		return 1;
	}
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
		if (dentry != mnt_root || mp == mnt) {
			/* Root of this mount namespace (or a detached tree):
			 * the task's root is not above us. */
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		w->vfsmnt = (struct vfsmount *)((void *)mp + w->mnt_off);
		return 0;
	}
	struct qstr name = BPF_CORE_READ(dentry, d_name);
	u32 len = name.len & NAME_MASK;
	u32 pos = w->pos;
	if (len + 1 > pos)
		return 1; /* too long: done stays 0 */
	pos -= len;
	bpf_probe_read_kernel(&w->sc->walk[pos & PATH_MASK], len, name.name);
	pos -= 1;
	w->sc->walk[pos & PATH_MASK] = '/';
	w->pos = pos;
	w->dentry = parent;
	return 0;
}

/*
 * Walk from (dentry, vfsmnt) up to the current task's root, crossing mounts,
 * writing "/a/b/c" backwards into sc->walk so that it ends at PATH_MAX - 1.
 * Returns the length. Sets F_BASE_TRUNC in sc->ev.h.flags when it gave up.
 */
static __noinline u32 walk_path(struct scratch *sc, struct dentry *dentry, struct vfsmount *vfsmnt)
{
	struct task_struct *task = current_task();
	u32 end = PATH_MAX - 1;
	struct walk_ctx w = {
		.sc = sc,
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.root_d = BPF_CORE_READ(task, fs, root.dentry),
		.root_m = BPF_CORE_READ(task, fs, root.mnt),
		.mnt_off = bpf_core_field_offset(struct mount, mnt),
		.pos = end,
	};
	w.mnt = (struct mount *)((void *)vfsmnt - w.mnt_off);

	bpf_loop(MAX_DEPTH, walk_step, &w, 0);
	u32 pos = w.pos;
	if (!w.done) {
		sc->ev.h.flags |= F_BASE_TRUNC;
		count(C_WALK_TRUNC);
	}
	if (pos > end)
		pos = end;
	if (pos == end) {
		pos -= 1;
		sc->walk[pos & PATH_MASK] = '/';
	}
	return (end - pos) & PATH_MASK;
}

/* Append the walked path of (dentry, mnt) to ev->data at off; returns its length. */
static __always_inline u32 put_base(struct scratch *sc, u32 off, struct dentry *dentry, struct vfsmount *mnt)
{
	u32 blen = walk_path(sc, dentry, mnt);
	u32 start = (PATH_MAX - 1 - blen) & PATH_MASK;

	bpf_probe_read_kernel(&sc->ev.data[off & PATH_MASK], blen & PATH_MASK, &sc->walk[start]);
	sc->ev.h.flags |= F_BASE;
	return blen & PATH_MASK;
}

static __always_inline u32 put_file_base(struct scratch *sc, u32 off, struct file *f)
{
	if (!f) {
		sc->ev.h.flags |= F_BASE_ERR;
		return 0;
	}
	return put_base(sc, off, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

static __always_inline u32 put_cwd(struct scratch *sc, u32 off)
{
	struct task_struct *task = current_task();

	return put_base(sc, off, BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt));
}

#endif /* WHITTLE_DENTRY_WALK_H */
