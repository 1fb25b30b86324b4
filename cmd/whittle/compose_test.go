package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/whittle-dev/whittle/compose"
	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/probe"
)

const (
	pgnotesImage   = "whittle-fixture/pgnotes:latest"
	pgdbImage      = "whittle-fixture/pgdb:latest"
	pgnotesCompose = "../../testdata/targets/pgnotes/compose.yaml"
	pgnotesDriver  = "../../testdata/targets/pgnotes/e2e.sh"
	// pgnotesPassword is the compose file's default database password.
	pgnotesPassword = "notes-secret-pw"
)

// whittleFor runs the CLI in-process with a deadline of its own.
func whittleFor(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// assertNoOwnLeftovers fails when a container, network or volume of this
// process is left.
func assertNoOwnLeftovers(t *testing.T, cli *client.Client) {
	t.Helper()
	ctx := context.Background()
	assertNoOwnContainers(t, cli)
	prefix := fmt.Sprintf("%d.", os.Getpid())
	byLabel := filters.NewArgs(filters.Arg("label", probe.LabelRun))
	nets, _ := cli.NetworkList(ctx, network.ListOptions{Filters: byLabel})
	for _, n := range nets {
		if strings.HasPrefix(n.Labels[probe.LabelOwner], prefix) {
			t.Errorf("network %s left behind", n.Name)
		}
	}
	vols, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: byLabel})
	for _, v := range vols.Volumes {
		if strings.HasPrefix(v.Labels[probe.LabelOwner], prefix) {
			t.Errorf("volume %s left behind", v.Name)
		}
	}
}

// heldOut are requests a user would send that the run's corpus does not
// hold (checked): data written, read back, rendered with every template,
// counted, searched and deleted.
var heldOut = []corpus.Request{
	{Method: "GET", Path: "/notes?tag=home&limit=7"},
	{Method: "POST", Path: "/notes", Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: []byte(`{"title": "Held out", "body": "a request the corpus never held", "tag": "heldout"}`)},
	{Method: "GET", Path: "/notes?tag=heldout"},
	{Method: "GET", Path: "/notes/3/render?format=md"},
	{Method: "GET", Path: "/notes/3/render?format=html"},
	{Method: "GET", Path: "/notes/2/render?format=csv"},
	{Method: "GET", Path: "/notes/1/render?format=json"},
	{Method: "GET", Path: "/notes/1/render?format=yaml"},
	{Method: "GET", Path: "/tags"},
	{Method: "GET", Path: "/search?q=milk"},
	{Method: "DELETE", Path: "/notes/2"},
	{Method: "GET", Path: "/notes/2"},
	{Method: "GET", Path: "/notes?limit=100"},
}

// answersNextToFreshDatabase starts image as the compose service api,
// beside a fresh database, and returns its answers to reqs.
func answersNextToFreshDatabase(t *testing.T, p *compose.Project, image string, reqs []corpus.Request) []string {
	t.Helper()
	ctx := context.Background()
	eng, err := probe.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	runID := fmt.Sprintf("heldout-%d", time.Now().UnixNano())
	st, err := p.Up(ctx, eng, runID, compose.WithTimeout(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Down(ctx)
	img, err := eng.Inspect(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]probe.Option{probe.WithRun(runID), probe.WithPort(p.Target.Port), probe.WithReadyPath("/health")}, st.TargetOptions(p.Target.Run)...)
	tgt, err := eng.Create(ctx, img, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Remove(ctx)
	if err := tgt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tgt.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range reqs {
		resp := tgt.Send(ctx, r)
		out = append(out, fmt.Sprintf("%d %s %s", resp.Status, resp.Err, resp.Body))
	}
	return out
}

// The acceptance of real services: a compose service keeping its data in
// PostgreSQL is whittled with --auto (with the team's driver script), its
// companions fresh for every container; the minimal image, next to a
// fresh database, answers held-out requests exactly as the original does.
func TestComposeServiceEndToEnd(t *testing.T) {
	cli := requireFixture(t, pgnotesImage, pgdbImage)
	ctx := context.Background()
	pgdbBefore, _ := cli.ImageInspect(ctx, pgdbImage)
	out := t.TempDir()
	corpusDir := filepath.Join(out, "corpus")
	reportPath := filepath.Join(out, "report.json")
	tag := testTag(t, cli, "pgnotes")
	driverPath, _ := filepath.Abs(pgnotesDriver)
	code, stdout, stderr := whittleFor(t, 8*time.Minute, "run", "--compose", pgnotesCompose, "--service", "api", "--auto",
		"--duration", "25s", "--seed", "5", "--driver", driverPath, "--corpus", corpusDir, "--tag", tag, "-o", "json="+reportPath)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rep := readReport(t, reportPath)
	t.Logf("minimal %s: %d bytes (original %d), verified %d/%d, %d requests", tag, rep.Minimal.Size, rep.Original.Size,
		rep.Verification.Identical, rep.Verification.Total, rep.Fuzz.Requests)
	if rep.Original.Ref != pgnotesImage || rep.Verification.Result != "identical" {
		t.Fatalf("original %q, verification %+v", rep.Original.Ref, rep.Verification)
	}
	// Companions: started fresh for the traced target, both references and
	// the verification; the report lists them.
	if len(rep.Dependencies) != 2 {
		t.Fatalf("dependencies %+v", rep.Dependencies)
	}
	for _, d := range rep.Dependencies {
		if d.Starts < 4 {
			t.Errorf("%s started %d times, want one per container of the target (at least 4)", d.Service, d.Starts)
		}
	}
	if db := rep.Dependencies[0]; db.Service != "db" || db.Condition != compose.ServiceHealthy || db.State != "healthy" {
		t.Errorf("db %+v", db)
	}
	if m := rep.Dependencies[1]; m.Service != "migrate" || m.Condition != compose.ServiceCompleted || m.State != "completed" {
		t.Errorf("migrate %+v", m)
	}
	if !strings.Contains(stderr, "[service] db (whittle-fixture/pgdb:latest): healthy") {
		t.Errorf("the progress lines do not show the database getting healthy:\n%s", stderr)
	}
	// The driver: it ran, what it sent is in the corpus as its entry and
	// was replayed by the verification.
	if len(rep.Drivers) != 1 || rep.Drivers[0].ExitCode != 0 || rep.Drivers[0].Requests != 7 ||
		!strings.Contains(rep.Drivers[0].Output, "all checks passed") {
		t.Fatalf("drivers %+v", rep.Drivers)
	}
	st, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var driverEntry *corpus.Entry
	inCorpus := map[string]bool{}
	for _, e := range st.Entries() {
		if strings.HasPrefix(e.Source, "driver: ") {
			e := e
			driverEntry = &e
		}
		for _, r := range e.Requests {
			inCorpus[r.Key()] = true
		}
	}
	if driverEntry == nil || len(driverEntry.Requests) != 7 {
		t.Fatalf("no driver entry of 7 requests in the corpus")
	}
	if rep.Verification.Total < rep.Fuzz.CorpusSize+7 {
		t.Errorf("verification compared %d answers: the driver's 7 are not all in it (corpus %d)", rep.Verification.Total, rep.Fuzz.CorpusSize)
	}
	// The database's password is nowhere on disk; the companion image is
	// untouched; nothing of the run is left.
	assertNoSecretIn(t, out, pgnotesPassword)
	if after, _ := cli.ImageInspect(ctx, pgdbImage); after.ID != pgdbBefore.ID {
		t.Errorf("the companion's image changed: %s -> %s", pgdbBefore.ID, after.ID)
	}
	assertNoOwnLeftovers(t, cli)

	// The corpus replays against the minimal image beside fresh companions,
	// as the compose file says, and so does the original it is compared
	// with: like for like, no difference.
	code, stdout, stderr = whittleFor(t, 8*time.Minute, "replay", corpusDir, tag, "--compose", pgnotesCompose, "--service", "api")
	if code != exitOK || !strings.Contains(stdout, "reference: the original") {
		t.Fatalf("replay beside companions: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	assertNoOwnLeftovers(t, cli)

	// Held-out requests: the minimal image next to a fresh database answers
	// exactly like the original next to a fresh database.
	var reqs []corpus.Request
	for _, r := range heldOut {
		if !inCorpus[r.Key()] {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) < len(heldOut)-2 {
		t.Fatalf("only %d of the held-out requests are not in the corpus", len(reqs))
	}
	p, err := compose.Load(ctx, pgnotesCompose, "api")
	if err != nil {
		t.Fatal(err)
	}
	want := answersNextToFreshDatabase(t, p, pgnotesImage, reqs)
	got := answersNextToFreshDatabase(t, p, tag, reqs)
	ok2xx := 0
	for i := range reqs {
		if got[i] != want[i] {
			t.Errorf("%s %s:\n original: %s\n  minimal: %s", reqs[i].Method, reqs[i].Path, want[i], got[i])
		}
		if strings.HasPrefix(want[i], "2") {
			ok2xx++
		}
	}
	t.Logf("%d held-out requests answered alike, %d of them 2xx", len(reqs), ok2xx)
	if ok2xx < len(reqs)/2 {
		t.Errorf("only %d held-out answers are 2xx: the comparison proves little", ok2xx)
	}
	assertNoOwnLeftovers(t, cli)
}

// ownedBy lists what the process pid left: containers, networks, volumes.
func ownedBy(t *testing.T, cli *client.Client, pid int) (containers, networks, volumes int) {
	t.Helper()
	ctx := context.Background()
	prefix := fmt.Sprintf("%d.", pid)
	byLabel := filters.NewArgs(filters.Arg("label", probe.LabelRun))
	cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: byLabel})
	for _, c := range cs {
		if strings.HasPrefix(c.Labels[probe.LabelOwner], prefix) {
			containers++
		}
	}
	ns, _ := cli.NetworkList(ctx, network.ListOptions{Filters: byLabel})
	for _, n := range ns {
		if strings.HasPrefix(n.Labels[probe.LabelOwner], prefix) {
			networks++
		}
	}
	vs, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: byLabel})
	for _, v := range vs.Volumes {
		if strings.HasPrefix(v.Labels[probe.LabelOwner], prefix) {
			volumes++
		}
	}
	return
}

// A compose run killed with SIGKILL leaves its companions, network and
// volumes; the next run removes them first thing, whatever its image, even
// one that then fails at once.
func TestKilledComposeRunIsCleanedByTheNext(t *testing.T) {
	cli := requireFixture(t, pgnotesImage, pgdbImage)
	bin := buildWhittle(t)
	c := startWhittle(t, bin, "run", "--compose", pgnotesCompose, "--service", "api", "--auto", "--duration", "60s")
	pid := c.cmd.Process.Pid
	waitUntil(t, c, 3*time.Minute, "companions, a network and a volume of the run", func() bool {
		n, nets, vols := ownedBy(t, cli, pid)
		return n >= 2 && nets >= 1 && vols >= 1
	})
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 30*time.Second)
	n, nets, vols := ownedBy(t, cli, pid)
	t.Logf("the killed run left %d container(s), %d network(s), %d volume(s)", n, nets, vols)
	if n == 0 || nets == 0 {
		t.Fatal("the killed run left nothing: the check below would prove nothing")
	}
	next := startWhittle(t, bin, "run", "whittle-test/no-such-image:anything", "--auto")
	if code := next.wait(t, 2*time.Minute); code != exitError {
		t.Fatalf("the next run: exit %d; stderr:\n%s", code, next.stderr)
	}
	if !strings.Contains(next.stderr.String(), "left behind by an interrupted run") {
		t.Errorf("the next run does not say it removed what was left; stderr:\n%s", next.stderr)
	}
	if n, nets, vols := ownedBy(t, cli, pid); n+nets+vols > 0 {
		t.Errorf("after the next run: %d container(s), %d network(s), %d volume(s) of the killed run remain", n, nets, vols)
	}
}
