package cover

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/cilium/ebpf/link"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// target is the covered file: its in-container path and an open handle,
// through which probes are attached (and re-attached after the container
// that named it is gone).
type target struct {
	pid    int
	inside string       // path inside the container
	file   *os.File     // the file, pinned
	root   *procfs.Root // the container's root, while coverage is set up (see unpin)
	proc   procfs.FS
}

func (tg *target) attachPath() string { return fmt.Sprintf("/proc/self/fd/%d", tg.file.Fd()) }

func (tg *target) close() {
	if tg.file != nil {
		tg.file.Close()
	}
}

// unpin closes the container's root once coverage is set up (the file
// stays open).
func (tg *target) unpin() {
	if tg.root != nil {
		tg.root.Close()
	}
}

func (tg *target) executable() (*link.Executable, error) {
	return link.OpenExecutable(tg.attachPath())
}

// openTarget resolves binary inside pid's container and opens it there
// (never a host file: procfs.Root). The caller unpins the root when
// coverage is set up.
func openTarget(proc procfs.FS, pid int, binary string) (*target, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("cover: invalid pid %d", pid)
	}
	root, err := proc.OpenRoot(uint32(pid))
	if err != nil {
		return nil, fmt.Errorf("cover: pinning the root of pid %d: %w", pid, err)
	}
	tg := &target{pid: pid, root: root, proc: proc}
	var f *os.File
	switch {
	case binary == "":
		exe, ok := proc.Exe(uint32(pid))
		if !ok {
			root.Close()
			return nil, fmt.Errorf("cover: reading /proc/%d/exe: no such process?", pid)
		}
		// The kernel's own link to the process's executable.
		tg.inside = exe
		f, err = os.Open(proc.PidPath(uint32(pid), "exe"))
	case !strings.Contains(binary, "/"):
		found := lookPathIn(root, procPATH(proc, uint32(pid)), binary)
		if found == "" {
			root.Close()
			return nil, fmt.Errorf("cover: %s not found in the PATH of pid %d", binary, pid)
		}
		tg.inside = found
	default:
		tg.inside = root.Resolve(path.Clean("/" + binary))
	}
	if f == nil && err == nil {
		f, err = root.Open(tg.inside)
	}
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("cover: opening %s of pid %d: %w", tg.inside, pid, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		root.Close()
		return nil, fmt.Errorf("cover: %s of pid %d is not a regular file", tg.inside, pid)
	}
	tg.file = f
	return tg, nil
}

// procPATH returns the PATH in pid's environment (or the usual default).
func procPATH(proc procfs.FS, pid uint32) string {
	data, err := os.ReadFile(proc.PidPath(pid, "environ"))
	if err == nil {
		for _, kv := range strings.Split(string(data), "\x00") {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				return v
			}
		}
	}
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

func lookPathIn(root *procfs.Root, pathList, name string) string {
	for _, dir := range strings.Split(pathList, ":") {
		if !strings.HasPrefix(dir, "/") {
			continue
		}
		p := root.Resolve(path.Join(dir, name))
		f, err := root.Open(p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		f.Close()
		if err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
