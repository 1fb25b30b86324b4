package node

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// nodeProcess is a node process of a traced container.
type nodeProcess struct {
	pid     int
	exe     string   // in the container
	args    []string // its command line
	mntns   uint64
	started uint64 // start time (clock ticks since boot): pids are reused
}

// findNodeProcesses lists the node processes of the given mount namespaces.
func findNodeProcesses(proc procfs.FS, namespaces []uint64) []nodeProcess {
	ents, err := os.ReadDir(proc.Dir)
	if err != nil {
		return nil
	}
	var out []nodeProcess
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		ns, err := proc.Mntns(uint32(pid))
		if err != nil || !slices.Contains(namespaces, ns) {
			continue
		}
		exe, ok := proc.Exe(uint32(pid))
		if !ok || !isNodeBinary(exe) {
			continue
		}
		p := nodeProcess{pid: pid, exe: exe, mntns: ns, started: startTime(proc, pid)}
		if raw, err := os.ReadFile(proc.PidPath(uint32(pid), "cmdline")); err == nil {
			p.args = strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		}
		out = append(out, p)
	}
	return out
}

// isNodeBinary: Debian's /usr/bin/nodejs and node, nvm's and the official
// images' node.
func isNodeBinary(exe string) bool {
	b := path.Base(exe)
	return b == "node" || b == "nodejs" || strings.HasPrefix(b, "node") && strings.Trim(b[4:], "0123456789.") == ""
}

// startTime is field 22 of /proc/PID/stat.
func startTime(proc procfs.FS, pid int) uint64 {
	raw, err := os.ReadFile(proc.PidPath(uint32(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

// errNoInspector: the process listens on no loopback TCP port, so it runs
// without an inspector (NODE_OPTIONS not set for it, or a node built
// without one).
var errNoInspector = errors.New("no inspector listening on the container's loopback")

// inspectorPort finds the port of pid's inspector: the TCP socket it
// listens on at 127.0.0.1 that it opened first. node starts its inspector
// before any of the application's code runs, so the application's own
// loopback listeners come later.
func inspectorPort(proc procfs.FS, pid int) (int, error) {
	listening, err := loopbackListeners(proc.PidPath(uint32(pid), "net/tcp"))
	if err != nil {
		return 0, err
	}
	fds, err := os.ReadDir(proc.PidPath(uint32(pid), "fd"))
	if err != nil {
		return 0, err
	}
	best, port := -1, 0
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink(proc.PidPath(uint32(pid), "fd/"+e.Name()))
		if err != nil {
			continue
		}
		ino, ok := strings.CutPrefix(link, "socket:[")
		if !ok {
			continue
		}
		inode, _ := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
		if p, ok := listening[inode]; ok && (best < 0 || fd < best) {
			best, port = fd, p
		}
	}
	if best < 0 {
		return 0, errNoInspector
	}
	return port, nil
}

// loopbackListeners parses a /proc/PID/net/tcp table: the sockets
// listening on 127.0.0.1, socket inode → port.
func loopbackListeners(file string) (map[uint64]int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseTCPTable(bufio.NewScanner(f))
}

func parseTCPTable(sc *bufio.Scanner) (map[uint64]int, error) {
	out := map[uint64]int{}
	first := true
	for sc.Scan() {
		if first { // the header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" { // TCP_LISTEN
			continue
		}
		ip, portHex, ok := strings.Cut(f[1], ":")
		if !ok || ip != "0100007F" { // 127.0.0.1, little-endian
			continue
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		out[inode] = int(port)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the TCP table: %w", err)
	}
	return out, nil
}
