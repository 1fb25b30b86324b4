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
// prove is abandoned. A killed process its parent has not reaped yet (a
// zombie: a test harness or a shell that kills a run and starts the next
// before waiting) is dead: it will never remove what it created.
func ownerAlive(token string) bool {
	pidStr, startStr, hasStart := strings.Cut(token, ".")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return true
	}
	st, state, flags, err := processStat(pid)
	if err != nil || state == 'Z' || state == 'X' || flags&pfExiting != 0 {
		return false
	}
	if !hasStart {
		return true
	}
	want, err := strconv.ParseUint(startStr, 10, 64)
	return err != nil || want == st
}

func processStartTime(pid int) (uint64, error) {
	st, _, _, err := processStat(pid)
	return st, err
}

// pfExiting is the kernel's PF_EXITING task flag: the process is being torn
// down (a killed process with a large heap takes a while to become a zombie).
const pfExiting = 0x4

// processStat reads a process's start time, state and flags from
// /proc/PID/stat.
func processStat(pid int) (start uint64, state byte, flags uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// comm (field 2) may contain spaces and parentheses: fields after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); flags is field 9, starttime field 22.
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	flags, _ = strconv.ParseUint(fields[6], 10, 64)
	start, err = strconv.ParseUint(fields[19], 10, 64)
	return start, fields[0][0], flags, err
}
