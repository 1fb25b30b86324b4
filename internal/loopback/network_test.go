package loopback

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A server on the loopback of another network namespace is reached by the
// namespace client, not by the ordinary one (nothing listens on this
// machine's loopback at that port), and other addresses stay refused.
func TestClientInNetworkReachesItsLoopbackOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: entering a network namespace needs root")
	}
	for _, tool := range []string{"unshare", "ip", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: no %s on this machine", tool)
		}
	}
	port := freePort(t)
	cmd := exec.Command("unshare", "-n", "sh", "-c",
		fmt.Sprintf("ip link set lo up && exec python3 -m http.server %d --bind 127.0.0.1 --directory /proc/self", port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	c := NewClientInNetwork(cmd.Process.Pid, 5*time.Second)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r, gerr := c.Get(url)
		if err = gerr; err == nil {
			r.Body.Close()
			break
		}
	}
	if err != nil {
		t.Fatalf("GET %s in the namespace: %v", url, err)
	}
	if r, err := NewClient(2 * time.Second).Get(url); err == nil {
		r.Body.Close()
		t.Errorf("GET %s on this machine's loopback answered: the server is not in its own namespace", url)
	}
	if _, err := c.Get("http://" + net.JoinHostPort(hostAddress(t), "80") + "/"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("namespace client on a non-loopback address: %v, want ErrNotLoopback", err)
	}
	if _, err := NewClientInNetwork(1<<30, time.Second).Get(url); err == nil || !strings.Contains(err.Error(), "network namespace") {
		t.Errorf("no such process: %v", err)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
