package cover

import (
	"bytes"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// launchers start the application rather than being it: init shims
// (tini, dumb-init, docker-init) and shells running an entrypoint script
// that did not exec.
var launchers = []string{"tini", "tini-static", "dumb-init", "docker-init", "catatonit", "sh", "bash", "dash", "ash", "busybox", "s6-svscan", "runsvdir", "supervisord"}

// applicationPid is the process whose code coverage should follow when the
// container's first process is a launcher: its first descendant that is
// not one (breadth first, a few levels down); pid itself otherwise.
func applicationPid(proc procfs.FS, pid int) int {
	queue := []int{pid}
	for depth := 0; depth < 4 && len(queue) > 0; depth++ {
		var next []int
		for _, p := range queue {
			exe, ok := proc.Exe(uint32(p))
			if !ok {
				continue
			}
			if !slices.Contains(launchers, path.Base(exe)) {
				return p
			}
			next = append(next, children(proc, p)...)
		}
		queue = next
	}
	return pid
}

// children lists pid's child processes, oldest first.
func children(proc procfs.FS, pid int) []int {
	tasks, err := os.ReadDir(proc.PidPath(uint32(pid), "task"))
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		raw, err := os.ReadFile(proc.PidPath(uint32(pid), "task/"+t.Name()+"/children"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(bytes.TrimSpace(raw))) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}
