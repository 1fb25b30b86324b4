package cover

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// A shell that did not exec its command is a launcher: coverage follows
// its child, the program the shell started.
func TestApplicationPidSkipsLaunchers(t *testing.T) {
	if _, err := os.Stat("/proc/self/task/" + itoa(os.Getpid()) + "/children"); err != nil {
		t.Skip("SKIP: this kernel has no /proc/PID/task/TID/children")
	}
	cmd := exec.Command("sh", "-c", "sleep 30; true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var got int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = applicationPid(procfs.Host, cmd.Process.Pid); got != cmd.Process.Pid {
			break
		}
	}
	exe, _ := procfs.Host.Exe(uint32(got))
	if got == cmd.Process.Pid || exe == "" || exe[len(exe)-5:] != "sleep" {
		t.Errorf("applicationPid(sh) = %d (%s), want its sleep child", got, exe)
	}
	if self := applicationPid(procfs.Host, os.Getpid()); self != os.Getpid() {
		t.Errorf("the test binary is no launcher, got %d", self)
	}
}
