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
	inside string   // path inside the container
	file   *os.File // the file, pinned
	root   string   // /proc/PID/root
	proc   procfs.FS
}

func (tg *target) attachPath() string { return fmt.Sprintf("/proc/self/fd/%d", tg.file.Fd()) }

func (tg *target) close() {
	if tg.file != nil {
		tg.file.Close()
	}
}

func (tg *target) executable() (*link.Executable, error) {
	return link.OpenExecutable(tg.attachPath())
}

// openTarget resolves binary inside pid's container and opens it.
func openTarget(proc procfs.FS, pid int, binary string) (*target, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("cover: invalid pid %d", pid)
	}
	tg := &target{pid: pid, root: proc.Root(uint32(pid)), proc: proc}
	host := ""
	switch {
	case binary == "":
		exe, ok := proc.Exe(uint32(pid))
		if !ok {
			return nil, fmt.Errorf("cover: reading /proc/%d/exe: no such process?", pid)
		}
		tg.inside, host = exe, proc.PidPath(uint32(pid), "exe")
	case !strings.Contains(binary, "/"):
		found := lookPathIn(tg.root, procPATH(proc, uint32(pid)), binary)
		if found == "" {
			return nil, fmt.Errorf("cover: %s not found in the PATH of pid %d", binary, pid)
		}
		tg.inside = found
	default:
		tg.inside = procfs.ResolveInRoot(tg.root, path.Clean("/"+binary))
	}
	if host == "" {
		host = tg.root + tg.inside
	}
	f, err := os.Open(host)
	if err != nil {
		return nil, fmt.Errorf("cover: opening %s of pid %d: %w", tg.inside, pid, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
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

func lookPathIn(root, pathList, name string) string {
	for _, dir := range strings.Split(pathList, ":") {
		if !strings.HasPrefix(dir, "/") {
			continue
		}
		p := procfs.ResolveInRoot(root, path.Join(dir, name))
		if fi, err := os.Stat(root + p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
