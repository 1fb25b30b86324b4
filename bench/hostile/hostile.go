// Package hostile runs the real whittle binary against hostile targets (the
// service in testdata/hostile/server, one image per case) and measures what
// each run cost: its wall time, its peak RSS, how it ended and what it left
// behind. The end-to-end test of this package and the bench (benchtool
// hostile) both use it.
package hostile

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Case is one hostile target.
type Case struct {
	// Name is the server's HOSTILE_CASE, and names the image.
	Name string
	// What the target does, in one line.
	What string
	// SpecFile: whittle is given the served spec as --spec FILE instead
	// of discovering it (a user's file is held to higher caps).
	SpecFile bool
	// Server is the HOSTILE_CASE when it differs from Name.
	Server string
	// SecondRound, when set, says why the case passes only once the
	// fuzzer's own budgets land (issue 18's second round: findings per
	// operation and check, response validation depth and time, the corpus
	// and crash history holding no bodies in memory).
	SecondRound string
	// Note says what is still slow or large in a case that passes.
	Note string
	// Limits are those the run must report reaching (limits_hit).
	Limits []string
}

func (c Case) server() string {
	if c.Server != "" {
		return c.Server
	}
	return c.Name
}

// Cases are the hostile targets, the first.
var Cases = []Case{
	{Name: "headers-and-500", SpecFile: true, What: "8 MB of headers on every answer and a new 500 body on every request",
		Limits: []string{"answer.header_bytes"}},
	{Name: "minlength", What: "minLength: 4000000000 on a required query parameter",
		Limits: []string{"gen.length"}},
	{Name: "bigspec", What: "a 60 MB discovered spec with 40,000 operations"},
	{Name: "bigspec-file", Server: "bigspec", SpecFile: true, What: "the same 60 MB spec with 40,000 operations given as --spec FILE",
		Limits: []string{"spec.operations"}},
	{Name: "deep-oneof", What: "a recursive oneOf (two array branches), answered with arrays nested 40 deep",
		Limits: []string{"oracle.validation_steps"}},
	{Name: "allof-dag", What: "an allOf DAG 6 wide and 9 deep in the request body and the answer",
		Limits: []string{"oracle.validation_steps"}},
	{Name: "headers-8mb", SpecFile: true, What: "8 MB of headers (1,024 of 8 KB) on every answer",
		Limits: []string{"answer.header_bytes"}},
	{Name: "headers-8mb-discovered", Server: "headers-8mb", What: "8 MB of headers on every answer, the spec it serves included"},
	{Name: "headers-many", SpecFile: true, What: "100,000 small headers (2 MB) on every answer"},
	{Name: "headers-under-cap", What: "900 KB of headers on every answer, each one under the cap"},
	{Name: "findings-500", What: "a new 500 body on every request",
		Limits: []string{"findings.per_check"}},
	{Name: "findings-schema", What: "200 answers breaking the schema with a new property name every time"},
}

// Find returns the case named name.
func Find(name string) (Case, bool) {
	for _, c := range Cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// Server is the host-built hostile service.
type Server struct {
	Bin string
}

// BuildServer compiles testdata/hostile/server of the repository at repo
// (statically) into dir.
func BuildServer(ctx context.Context, repo, dir string) (*Server, error) {
	bin := filepath.Join(dir, "hostile-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./testdata/hostile/server")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the hostile server: %w\n%s", err, out)
	}
	return &Server{Bin: bin}, nil
}

// Spec writes the spec case c serves to file.
func (s *Server) Spec(ctx context.Context, c Case, file string) error {
	out, err := exec.CommandContext(ctx, s.Bin, "-print-spec", c.server()).Output()
	if err != nil {
		return fmt.Errorf("writing the spec of %s: %w", c.Name, err)
	}
	return os.WriteFile(file, out, 0o644)
}

// Image is the image name of case c.
func Image(c Case) string { return "whittle-hostile/" + c.Name + ":1" }

// MinimalTag is the tag whittle gives the minimal image of case c.
func MinimalTag(c Case) string { return "whittle-hostile/" + c.Name + ":whittled" }

// Import imports the server as case c's image (docker import: no base
// image, no registry).
func (s *Server) Import(ctx context.Context, cli *client.Client, c Case) (string, error) {
	prog, err := os.ReadFile(s.Bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "server", Mode: 0o755, Size: int64(len(prog)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
		return "", err
	}
	if _, err := tw.Write(prog); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	name := Image(c)
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, name, image.ImportOptions{
		Changes: []string{`ENTRYPOINT ["/server"]`, "EXPOSE 8080", "ENV HOSTILE_CASE=" + c.server()},
	})
	if err != nil {
		return "", fmt.Errorf("importing %s: %w", name, err)
	}
	_, _ = io.Copy(io.Discard, rc)
	rc.Close()
	return name, nil
}

// Passes tells whether a run met the acceptance for a run of duration d:
// ended by itself within d + 60 s, under 1.5 GB, with a clear message (the
// summary, or one error line), no container left; why not otherwise.
func (r Result) Passes(d time.Duration) (bool, string) {
	switch {
	case r.Killed:
		return false, "did not end by itself"
	case r.Capped || r.MaxRSSBytes > MaxRSS:
		return false, "over 1.5 GB"
	case r.Leftovers > 0:
		return false, "left containers"
	case r.WallSeconds > (d + time.Minute).Seconds():
		return false, "ended later than the duration + 60 s"
	case r.Exit == 1 && (r.ErrorLine == "" || len(r.ErrorLine) > 600):
		return false, "no clear error line"
	case (r.Exit == 0 || r.Exit == 2 || r.Exit == 3) && !strings.HasPrefix(r.Summary, "original:"):
		return false, "no summary"
	case r.Exit < 0 || r.Exit > 3:
		return false, fmt.Sprintf("exit %d", r.Exit)
	}
	return true, ""
}

// MaxRSS is what the issue allows one run.
const MaxRSS = 1536 << 20

// RemoveImages removes case c's image and its minimal image.
func RemoveImages(ctx context.Context, cli *client.Client, c Case) {
	for _, ref := range []string{MinimalTag(c), Image(c)} {
		_, _ = cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}

// Result is how one run ended and what it cost.
type Result struct {
	Case string `json:"case"`
	// Exit is whittle's exit code (-1 when killed).
	Exit int `json:"exit"`
	// Killed: the run did not end by itself within the hard timeout and
	// was interrupted (then killed).
	Killed bool `json:"killed"`
	// Capped: the run was killed by the memory cap of the measurement
	// (RunOptions.MemoryCap); its peak RSS is then the cap.
	Capped bool `json:"memory_capped,omitempty"`
	// WallSeconds is the run's wall time.
	WallSeconds float64 `json:"wall_seconds"`
	// MaxRSSBytes is the peak resident set of the whittle process (its
	// VmHWM, sampled every 50 ms: the rusage of a child started with
	// vfork counts its parent's pages too).
	MaxRSSBytes int64 `json:"max_rss_bytes"`
	// LastLine is the last line whittle wrote to stderr (its error line
	// when it failed), Summary the first line of its stdout.
	LastLine string `json:"last_line"`
	Summary  string `json:"summary,omitempty"`
	// ErrorLine is the "whittle: ..." line of a run that failed.
	ErrorLine string `json:"error_line,omitempty"`
	// Leftovers counts the containers of the run still there after it
	// ended (they are removed afterwards).
	Leftovers int `json:"leftover_containers"`
	// From the report, when the run wrote one: requests sent, corpus
	// entries, findings, and the limits the run reached.
	Requests  int64    `json:"requests"`
	Corpus    int      `json:"corpus"`
	Findings  int      `json:"findings"`
	LimitsHit []string `json:"limits_hit,omitempty"`
	// Stderr is the whole of it, for logs.
	Stderr string `json:"-"`
}

// RunOptions bound one run.
type RunOptions struct {
	// Duration is whittle's --duration (default 20s).
	Duration time.Duration
	// HardTimeout is when the run is interrupted (SIGINT, then SIGKILL a
	// minute later) if it has not ended (default Duration + 4 minutes).
	HardTimeout time.Duration
	// Dir holds the spec file, the report and the corpus.
	Dir string
	// MemoryCap, when not 0, kills the run when it holds more (a memory
	// cgroup of its own), so that a run that would take the machine's
	// memory is measured without harming anything else on it.
	MemoryCap int64
}

// Run runs whittle (the binary at bin) against case c's image, as
// `whittle run IMAGE --auto --duration D`, and measures it.
func (s *Server) Run(ctx context.Context, cli *client.Client, bin string, c Case, o RunOptions) (Result, error) {
	if o.Duration == 0 {
		o.Duration = 20 * time.Second
	}
	if o.HardTimeout == 0 {
		o.HardTimeout = o.Duration + 4*time.Minute
	}
	args := []string{"run", Image(c), "--auto", "--duration", o.Duration.String(), "--seed", "1",
		"--tag", MinimalTag(c), "-o", "json=" + filepath.Join(o.Dir, "report.json")}
	if c.SpecFile {
		file := filepath.Join(o.Dir, "openapi.json")
		if err := s.Spec(ctx, c, file); err != nil {
			return Result{}, err
		}
		args = append(args, "--spec", file)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = nil
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	pid := cmd.Process.Pid
	var cg *memCgroup
	if o.MemoryCap > 0 {
		var err error
		if cg, err = capMemory(pid, o.MemoryCap); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return Result{}, err
		}
		defer cg.remove()
	}
	done := make(chan error, 1)
	peak := watchPeak(pid)
	go func() { done <- cmd.Wait() }()
	res := Result{Case: c.Name}
	var err error
	select {
	case err = <-done:
	case <-time.After(o.HardTimeout):
		res.Killed = true
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			err = <-done
		}
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		peak()
		return res, ctx.Err()
	}
	res.WallSeconds = time.Since(began).Seconds()
	res.Exit = cmd.ProcessState.ExitCode()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return res, err
	}
	res.MaxRSSBytes = peak()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL && !res.Killed {
		res.Capped = cg != nil && cg.hit()
	}
	res.Stderr = stderr.String()
	res.LastLine = lastLine(res.Stderr)
	for _, l := range strings.Split(res.Stderr, "\n") {
		if strings.HasPrefix(l, "whittle: ") {
			res.ErrorLine = l
		}
	}
	res.Summary = firstLine(stdout.String())
	res.Leftovers, err = removeLeftovers(ctx, cli, pid)
	readReport(filepath.Join(o.Dir, "report.json"), &res)
	return res, err
}

// readReport fills what the run's report says, if it wrote one.
func readReport(file string, res *Result) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var rep struct {
		Fuzz struct {
			Requests   int64             `json:"requests"`
			CorpusSize int               `json:"corpus_size"`
			Findings   []json.RawMessage `json:"findings"`
		} `json:"fuzz"`
		LimitsHit []struct {
			Limit string `json:"limit"`
		} `json:"limits_hit"`
	}
	if json.Unmarshal(data, &rep) != nil {
		return
	}
	res.Requests, res.Corpus, res.Findings = rep.Fuzz.Requests, rep.Fuzz.CorpusSize, len(rep.Fuzz.Findings)
	for _, h := range rep.LimitsHit {
		res.LimitsHit = append(res.LimitsHit, h.Limit)
	}
}

// watchPeak samples pid's peak resident set (VmHWM) until the returned
// function is called, which returns the highest seen.
func watchPeak(pid int) func() int64 {
	var max atomic.Int64
	stop := make(chan struct{})
	sample := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				if kb*1024 > max.Load() {
					max.Store(kb * 1024)
				}
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return max.Load()
	}
}

// removeLeftovers counts and removes the containers whittle process pid
// created (their owner label starts with "PID.").
func removeLeftovers(ctx context.Context, cli *client.Client, pid int) (int, error) {
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "dev.whittle.owner"))})
	if err != nil {
		return 0, fmt.Errorf("listing containers: %w", err)
	}
	n := 0
	prefix := fmt.Sprintf("%d.", pid)
	for _, c := range list {
		if !strings.HasPrefix(c.Labels["dev.whittle.owner"], prefix) {
			continue
		}
		n++
		_ = cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}
	return n, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimLeft(s, "\n"), "\n")
	return l
}

// memCgroup is a cgroup v1 memory controller group holding one process.
type memCgroup struct{ dir string }

const memoryV1 = "/sys/fs/cgroup/memory"

// capMemory moves pid into a memory cgroup of its own limited to limit
// bytes (cgroup v1, as on this project's machines).
func capMemory(pid int, limit int64) (*memCgroup, error) {
	if _, err := os.Stat(memoryV1 + "/memory.limit_in_bytes"); err != nil {
		return nil, fmt.Errorf("no cgroup v1 memory controller at %s to cap the run's memory: %w", memoryV1, err)
	}
	cg := &memCgroup{dir: fmt.Sprintf("%s/whittle-hostile-%d", memoryV1, pid)}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		return nil, err
	}
	for file, value := range map[string]string{"memory.limit_in_bytes": fmt.Sprint(limit), "cgroup.procs": fmt.Sprint(pid)} {
		if err := os.WriteFile(filepath.Join(cg.dir, file), []byte(value), 0o644); err != nil {
			cg.remove()
			return nil, fmt.Errorf("capping the run's memory: %w", err)
		}
	}
	return cg, nil
}

// hit reports whether the group's limit was reached.
func (c *memCgroup) hit() bool {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.failcnt"))
	return err == nil && strings.TrimSpace(string(b)) != "0"
}

func (c *memCgroup) remove() { _ = os.Remove(c.dir) }
