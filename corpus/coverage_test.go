package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/report/covdata"
)

func shardCoverage(hit ...string) *covdata.Coverage {
	c := &covdata.Coverage{Kind: "native-functions", Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for i, name := range []string{"main.list", "main.create", "main.compact"} {
		f := covdata.Function{File: "shop/main.go", Line: 10 * (i + 1), Name: name, Package: "main", State: covdata.Never}
		for _, h := range hit {
			if h == name {
				f.State, f.Operation = covdata.Requests, "GET /"+name
			}
		}
		c.Functions = append(c.Functions, f)
	}
	c.Summarize()
	return c
}

func hitNames(c *covdata.Coverage) (out []string) {
	for _, f := range c.Functions {
		if f.State.Hit() {
			out = append(out, f.Name)
		}
	}
	return out
}

// Shards' coverage merges with their corpora: the merged corpus reached
// what any shard reached; a resumed run adds its own.
func TestCoverageMergesWithCorpora(t *testing.T) {
	a, b, out := t.TempDir(), t.TempDir(), t.TempDir()+"/merged"
	sa, sb := mustOpen(t, a, testKey), mustOpen(t, b, testKey)
	if _, _, err := sa.Put(testEntry(1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sb.Put(testEntry(2)); err != nil {
		t.Fatal(err)
	}
	if c, err := sa.Coverage(); c != nil || err != nil {
		t.Fatalf("coverage of a corpus without any: %v, %v", c, err)
	}
	if err := sa.AddCoverage(shardCoverage("main.list")); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddCoverage(shardCoverage("main.create")); err != nil {
		t.Fatal(err)
	}
	sa.Close()
	sb.Close()
	res, err := Merge(out, []string{a, b}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Coverage != 2 {
		t.Errorf("coverage merged from %d sources, want 2", res.Coverage)
	}
	c, err := LoadCoverage(out)
	if err != nil || c == nil {
		t.Fatalf("merged coverage: %v, %v", c, err)
	}
	if got := strings.Join(hitNames(c), " "); got != "main.list main.create" {
		t.Errorf("merged corpus reached %q, want both shards' functions", got)
	}
	if total, hit, _, _ := c.Totals(); total != 3 || hit != 2 {
		t.Errorf("merged totals %d/%d", hit, total)
	}
	// A resumed run adds what it reached.
	s := mustOpen(t, out, testKey)
	if err := s.AddCoverage(shardCoverage("main.compact")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	c, _ = LoadCoverage(out)
	if got := len(hitNames(c)); got != 3 {
		t.Errorf("after a resumed run: %d functions hit, want 3", got)
	}
}

func TestCorruptCoverage(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, testKey)
	defer s.Close()
	if err := os.WriteFile(filepath.Join(dir, coverageFile), []byte(`{"format":"whittle-corpus-coverage","version":1,"data":{"columns":["x"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Coverage(); err == nil {
		t.Fatal("corrupt coverage read without an error")
	}
	// The next run's coverage replaces it, with a warning.
	if err := s.AddCoverage(shardCoverage("main.list")); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Coverage(); err != nil || len(hitNames(c)) != 1 {
		t.Fatalf("after replacing: %v, %v", c, err)
	}
	if w := s.Warnings(); len(w) == 0 || !strings.Contains(w[len(w)-1], "replaced") {
		t.Errorf("no warning about the replaced coverage: %v", w)
	}
	ro, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.AddCoverage(shardCoverage()); err == nil {
		t.Error("a read-only corpus stored coverage")
	}
}
