package tracer

import (
	"fmt"
	"os"
	"syscall"
)

// nsInode returns the inode number of a namespace file such as
// /proc/PID/ns/mnt: the same number BPF reads from ns_common.inum.
func nsInode(file string) (uint64, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("stat %s: no inode", file)
	}
	return st.Ino, nil
}
