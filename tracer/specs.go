package tracer

// How each file syscall carries its path: which arguments hold the dirfd,
// the path and the flags, and any special handling. Loaded into the BPF
// "specs" array (indexed by syscall number) at start-up; a syscall absent
// here is only counted in the syscall set, never decoded.

// special handling codes, mirrored in bpf/tracer.bpf.c (enum special).
const (
	spNone    = 0
	spMmap    = 1 // only PROT_EXEC mappings of a file; base = the fd's path
	spOpenat2 = 2 // flags come from struct open_how
	spChdir   = 3 // base = cwd at exit (the new one when chdir succeeded)
	spFchdir  = 4 // base = the fd's path
	spExec    = 5 // success is reported by sched_process_exec
)

const noArg = -1

type syscallSpec struct {
	nr      int
	kind    Kind
	special uint8
	dirfd   int8 // argument index of the dirfd, or noArg for AT_FDCWD
	path    int8 // argument index of the path, or noArg
	flags   int8 // argument index of open/AT_* flags, or noArg
	dirfd2  int8 // second path (rename, link): dirfd argument
	path2   int8 // second path argument, or noArg
}

// x86_64 syscall numbers the user-space side refers to.
const (
	nrMmap     = 9
	nrCreat    = 85
	nrExecve   = 59
	nrChdir    = 80
	nrFchdir   = 81
	nrLstat    = 6
	nrExecveat = 322
)

func sc(nr int, kind Kind, dirfd, path, flags int8) syscallSpec {
	return syscallSpec{nr: nr, kind: kind, dirfd: dirfd, path: path, flags: flags, dirfd2: noArg, path2: noArg}
}

func sc2(nr int, kind Kind, dirfd, path, dirfd2, path2, flags int8) syscallSpec {
	return syscallSpec{nr: nr, kind: kind, dirfd: dirfd, path: path, flags: flags, dirfd2: dirfd2, path2: path2}
}

func special(s syscallSpec, sp uint8) syscallSpec {
	s.special = sp
	return s
}

// fileSyscallsAMD64 lists every path-taking x86_64 syscall whose lookups
// matter for rebuilding an image.
var fileSyscallsAMD64 = []syscallSpec{
	sc(2, KindOpen, noArg, 0, 1),                                // open(path, flags, mode)
	sc(257, KindOpen, 0, 1, 2),                                  // openat(dfd, path, flags, mode)
	special(sc(437, KindOpen, 0, 1, noArg), spOpenat2),          // openat2(dfd, path, how, size)
	sc(nrCreat, KindOpen, noArg, 0, noArg),                      // creat(path, mode)
	special(sc(nrExecve, KindExec, noArg, 0, noArg), spExec),    // execve(path, argv, envp)
	special(sc(nrExecveat, KindExec, 0, 1, 4), spExec),          // execveat(dfd, path, argv, envp, flags)
	special(sc(nrMmap, KindMmapExec, 4, noArg, 2), spMmap),      // mmap(addr, len, prot, flags, fd, off)
	sc(4, KindStat, noArg, 0, noArg),                            // stat
	sc(nrLstat, KindStat, noArg, 0, noArg),                      // lstat
	sc(262, KindStat, 0, 1, 3),                                  // newfstatat(dfd, path, buf, flags)
	sc(332, KindStat, 0, 1, 2),                                  // statx(dfd, path, flags, mask, buf)
	sc(21, KindAccess, noArg, 0, noArg),                         // access(path, mode)
	sc(269, KindAccess, 0, 1, noArg),                            // faccessat(dfd, path, mode)
	sc(439, KindAccess, 0, 1, 3),                                // faccessat2(dfd, path, mode, flags)
	sc(89, KindReadlink, noArg, 0, noArg),                       // readlink(path, buf, size)
	sc(267, KindReadlink, 0, 1, noArg),                          // readlinkat(dfd, path, buf, size)
	special(sc(nrChdir, KindChdir, noArg, 0, noArg), spChdir),   // chdir(path)
	special(sc(nrFchdir, KindChdir, 0, noArg, noArg), spFchdir), // fchdir(fd)
	sc(161, KindChroot, noArg, 0, noArg),                        // chroot(path)
	sc(137, KindStatfs, noArg, 0, noArg),                        // statfs(path, buf)
	sc(188, KindXattr, noArg, 0, noArg),                         // setxattr
	sc(189, KindXattr, noArg, 0, noArg),                         // lsetxattr
	sc(191, KindXattr, noArg, 0, noArg),                         // getxattr
	sc(192, KindXattr, noArg, 0, noArg),                         // lgetxattr
	sc(194, KindXattr, noArg, 0, noArg),                         // listxattr
	sc(195, KindXattr, noArg, 0, noArg),                         // llistxattr
	sc(197, KindXattr, noArg, 0, noArg),                         // removexattr
	sc(198, KindXattr, noArg, 0, noArg),                         // lremovexattr
	sc(463, KindXattr, 0, 1, 2),                                 // setxattrat(dfd, path, at_flags, ...)
	sc(464, KindXattr, 0, 1, 2),                                 // getxattrat
	sc(465, KindXattr, 0, 1, 2),                                 // listxattrat
	sc(466, KindXattr, 0, 1, 2),                                 // removexattrat
	sc(83, KindMkdir, noArg, 0, noArg),                          // mkdir(path, mode)
	sc(258, KindMkdir, 0, 1, noArg),                             // mkdirat(dfd, path, mode)
	sc(84, KindUnlink, noArg, 0, noArg),                         // rmdir(path)
	sc(87, KindUnlink, noArg, 0, noArg),                         // unlink(path)
	sc(263, KindUnlink, 0, 1, 2),                                // unlinkat(dfd, path, flags)
	sc2(82, KindRename, noArg, 0, noArg, 1, noArg),              // rename(old, new)
	sc2(264, KindRename, 0, 1, 2, 3, noArg),                     // renameat(olddfd, old, newdfd, new)
	sc2(316, KindRename, 0, 1, 2, 3, 4),                         // renameat2(..., flags)
	sc2(86, KindLink, noArg, 0, noArg, 1, noArg),                // link(old, new)
	sc2(265, KindLink, 0, 1, 2, 3, 4),                           // linkat(olddfd, old, newdfd, new, flags)
	sc(88, KindSymlink, noArg, 1, noArg),                        // symlink(target, linkpath)
	sc(266, KindSymlink, 1, 2, noArg),                           // symlinkat(target, newdfd, linkpath)
	sc(76, KindTruncate, noArg, 0, noArg),                       // truncate(path, len)
	sc(90, KindChmod, noArg, 0, noArg),                          // chmod(path, mode)
	sc(268, KindChmod, 0, 1, noArg),                             // fchmodat(dfd, path, mode)
	sc(452, KindChmod, 0, 1, 3),                                 // fchmodat2(dfd, path, mode, flags)
	sc(92, KindChown, noArg, 0, noArg),                          // chown
	sc(94, KindChown, noArg, 0, noArg),                          // lchown
	sc(260, KindChown, 0, 1, 4),                                 // fchownat(dfd, path, uid, gid, flags)
	sc(132, KindUtime, noArg, 0, noArg),                         // utime
	sc(235, KindUtime, noArg, 0, noArg),                         // utimes
	sc(261, KindUtime, 0, 1, noArg),                             // futimesat
	sc(280, KindUtime, 0, 1, 3),                                 // utimensat(dfd, path, times, flags); NULL path = futimens, skipped
	sc(133, KindMknod, noArg, 0, noArg),                         // mknod
	sc(259, KindMknod, 0, 1, noArg),                             // mknodat
	sc(254, KindInotify, noArg, 1, noArg),                       // inotify_add_watch(fd, path, mask)
}

// nrSyscalls bounds syscall numbers in BPF maps (x32 numbers, with bit 30 set,
// fall outside and are ignored).
const nrSyscalls = 512

var specTable = func() (t [nrSyscalls]syscallSpec) {
	for _, s := range fileSyscallsAMD64 {
		t[s.nr] = s
	}
	return t
}()

// specFor returns the spec of a syscall number, if it is a file syscall.
func specFor(nr int) (syscallSpec, bool) {
	if nr < 0 || nr >= nrSyscalls || specTable[nr].kind == KindUnknown {
		return syscallSpec{}, false
	}
	return specTable[nr], true
}
