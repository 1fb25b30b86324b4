package probe

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ownerToken identifies a process across pid reuse: "PID.STARTTIME", the start
// time being field 22 of /proc/PID/stat (clock ticks since boot).
func ownerToken(pid int) string {
	st, err := processStartTime(pid)
	if err != nil {
		return strconv.Itoa(pid)
	}
	return fmt.Sprintf("%d.%d", pid, st)
}

// ownerAlive reports whether the process named by token still runs. Tokens
// that do not parse are treated as alive: whittle only removes what it can
// prove is abandoned.
func ownerAlive(token string) bool {
	pidStr, startStr, hasStart := strings.Cut(token, ".")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return true
	}
	st, err := processStartTime(pid)
	if err != nil {
		return false
	}
	if !hasStart {
		return true
	}
	want, err := strconv.ParseUint(startStr, 10, 64)
	return err != nil || want == st
}

func processStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// comm (field 2) may contain spaces and parentheses: fields after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
