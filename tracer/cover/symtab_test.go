package cover

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/tracer/elfsym"
	"github.com/whittle-dev/whittle/tracer/internal/fixture"
)

// Coverage of a C executable through its .symtab.
func TestIntegrationCoverSymtab(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	c := runContainer(t, covImage(t), "/usr/bin/covtarget")
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cov, err := Attach(ctx, tr, c.Pid, "covtarget") // looked up in the container's PATH
	if err != nil {
		t.Fatal(err)
	}
	st := cov.Stats()
	t.Logf("coverage: %+v", st)
	if st.Kind != NativeFunctions || st.Source != "symtab" || cov.Binary() != "/usr/bin/covtarget" {
		t.Fatalf("unexpected coverage: %+v", st)
	}
	var names []string
	for _, f := range cov.nat.funcs {
		names = append(names, f.Name)
	}
	for _, want := range []string{"main", "handle_a", "handle_b", "never_called", "square"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not probed (probed: %v)", want, names)
		}
	}
	for _, crt := range []string{"_start", "frame_dummy", "_init"} {
		if slices.Contains(names, crt) {
			t.Errorf("C runtime helper %s probed", crt)
		}
	}
	cursor := 0
	step := func(sig string, round int) []string {
		t.Helper()
		if out, err := execCommand("docker", "kill", "-s", sig, c.ID); err != nil {
			t.Fatalf("docker kill: %v: %s", err, out)
		}
		waitLog(t, c, "round "+itoa(round)+" ")
		syncTracer(t, tr)
		var units []string
		units, cursor = cov.NewSince(cursor)
		t.Logf("%s -> %v", sig, units)
		return units
	}
	a := step("USR1", 1)
	if !slices.Contains(a, "handle_a") || !slices.Contains(a, "square") || slices.Contains(a, "handle_b") {
		t.Errorf("SIGUSR1 round: %v", a)
	}
	if again := step("USR1", 2); len(again) != 0 {
		t.Errorf("repeated round yielded %v", again)
	}
	if b := step("USR2", 3); !slices.Equal(b, []string{"handle_b"}) {
		t.Errorf("SIGUSR2 round: %v", b)
	}
	if _, err := cov.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if st := cov.Stats(); st.Pruned != st.Hit || st.Probed != st.Total-st.Hit {
		t.Errorf("after pruning: %+v", st)
	}
	step("USR1", 4) // the pruned probes are gone; the program still runs
	if hit := cov.Hit(); slices.ContainsFunc(hit, func(f Function) bool { return f.Name == "never_called" }) {
		t.Errorf("never_called hit: %v", hit)
	}
}

func waitLog(t *testing.T, c *fixture.Container, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.Logs(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the logs: %s", want, c.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func execCommand(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

func itoa(i int) string { return strconv.Itoa(i) }

// A chunk the kernel refuses is bisected: the good probes attach, the bad
// one is reported, never dropped silently.
func TestIntegrationCoverBisectsRefusedChunk(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	c := runContainer(t, covImage(t), "/usr/bin/covtarget")
	if err := tr.Bind(c.Pid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cov, err := Attach(ctx, tr, c.Pid, "/usr/bin/covtarget", WithPruneInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	n := cov.nat
	n.mu.Lock()
	good := len(n.funcs)
	// An offset past the end of the file: uprobe_register refuses it.
	n.funcs = append(n.funcs, elfsym.Func{Name: "bogus", Offset: 1 << 40})
	idx := make([]int, len(n.funcs))
	for i := range idx {
		idx[i] = i
	}
	before := len(n.chunks)
	err = cov.attachBisect(idx)
	added := n.chunks[before:]
	n.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	attached := 0
	for _, ch := range added {
		attached += len(ch.idx)
	}
	if attached != good {
		t.Errorf("%d probes attached by bisection, want %d", attached, good)
	}
	probs := cov.Problems()
	if len(probs) != 1 || probs[0].Function.Name != "bogus" || !probs[0].Refused {
		t.Fatalf("problems: %+v", probs)
	}
	t.Logf("refused: %s", probs[0].Reason)
	if st := cov.Stats(); st.Refused != 1 {
		t.Errorf("stats: %+v", st)
	}
}
