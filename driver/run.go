package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// EnvURL is the variable that points a driver at the target (through the
// recording proxy).
const EnvURL = "WHITTLE_TARGET_URL"

// ErrFailed is wrapped by the error of a driver that exited with a
// non-zero status or could not start.
var ErrFailed = errors.New("driver failed")

// Result is what one driver did.
type Result struct {
	Command  string
	ExitCode int // -1: it did not run to its end (not started, or killed)
	Duration time.Duration
	// Output is the tail of its standard output and error, together.
	Output string
	// Exchanges are the requests it sent and the answers, in order;
	// Dropped counts those forwarded beyond the recording's cap.
	Exchanges []Exchange
	Dropped   int
	// Err is set when it failed (wraps ErrFailed) or was stopped.
	Err error
}

// Entry is the driver's exchanges as one corpus entry: its requests in the
// order it sent them, marked as from the driver, replayed as they are.
func (r Result) Entry() (corpus.Entry, bool) {
	if len(r.Exchanges) == 0 {
		return corpus.Entry{}, false
	}
	e := corpus.Entry{Source: "driver: " + r.Command, Reasons: []string{"sent by the driver " + r.Command}}
	for _, x := range r.Exchanges {
		e.Requests = append(e.Requests, x.Request)
		e.Responses = append(e.Responses, x.Response)
	}
	e.ID = corpus.ContentID(nil, e.Requests)
	return e, true
}

// outputCap is how much of a driver's output is kept (its tail).
const outputCap = 64 << 10

// Run runs command with the shell on the host, from the current
// directory, with EnvURL pointing at a recording proxy in front of send,
// and waits for it. Cancelling ctx kills it (its whole process group).
func Run(ctx context.Context, command string, send SendFunc) Result {
	res := Result{Command: command, ExitCode: -1}
	proxy, err := NewProxy(send)
	if err != nil {
		res.Err = err
		return res
	}
	defer proxy.Close()
	out := &tail{max: outputCap}
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(), EnvURL+"="+proxy.URL())
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		res.Err = fmt.Errorf("%w: %s: %v", ErrFailed, command, err)
		return res
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		werr = <-done
	}
	res.Duration = time.Since(began)
	res.Output = out.String()
	res.Exchanges, res.Dropped = proxy.Exchanges()
	if ctx.Err() != nil {
		res.Err = fmt.Errorf("driver %s stopped: %w", command, ctx.Err())
		return res
	}
	res.ExitCode = cmd.ProcessState.ExitCode()
	if werr != nil {
		why := fmt.Sprintf("exited with status %d", res.ExitCode)
		if res.ExitCode == 127 {
			why = "could not run a command (status 127: not found)"
		}
		if last := lastLine(res.Output); last != "" {
			why += ": " + last
		}
		res.Err = fmt.Errorf("%w: %s %s", ErrFailed, command, why)
	}
	return res
}

// Tail is the last n lines of the output.
func (r Result) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(r.Output, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		b := t.buf.Bytes()[over:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
		rest := append([]byte(nil), b...)
		t.buf.Reset()
		t.buf.Write(rest)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
