package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

func TestParseShard(t *testing.T) {
	good := map[string]Shard{"1/4": {1, 4}, "4/4": {4, 4}, " 2/3 ": {2, 3}, "1/1": {1, 1}}
	for in, want := range good {
		got, err := ParseShard(in)
		if err != nil || got != want {
			t.Errorf("ParseShard(%q) = %v, %v", in, got, err)
		}
	}
	bad := map[string]string{
		"3/2":    "shards are numbered 1 to 2, so i must be between 1 and 2",
		"0/4":    "shards are numbered 1 to 4",
		"-1/4":   "shards are numbered 1 to 4",
		"1/0":    "the number of shards must be between 1 and 1024",
		"1/5000": "the number of shards must be between 1 and 1024",
		"2":      "want i/n",
		"a/b":    "want i/n",
		"":       "want i/n",
	}
	for in, want := range bad {
		_, err := ParseShard(in)
		if !errors.Is(err, ErrBadShard) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseShard(%q): %v, want one line saying %q", in, err, want)
		}
	}
}

func TestShardSeeds(t *testing.T) {
	seen := map[int64]int{}
	for i := 1; i <= 64; i++ {
		s := ShardSeed(7, i)
		if s <= 0 {
			t.Errorf("shard %d: seed %d", i, s)
		}
		if j, dup := seen[s]; dup {
			t.Errorf("shards %d and %d share seed %d", j, i, s)
		}
		seen[s] = i
		if ShardSeed(7, i) != s {
			t.Error("not reproducible")
		}
	}
	if ShardSeed(7, 1) == ShardSeed(8, 1) {
		t.Error("the campaign seed does not change the shard's")
	}
}

// TestPlanShard splits real specs with producer → consumer links (gopets:
// pets created by POST, read, adopted and deleted by id; shelf: items and
// their labels) into 1..12 shards: every operation is fuzzed by exactly one
// shard (or, with more shards than operations, by several), and each
// shard's fuzzer has the producers its operations' ids come from.
func TestPlanShard(t *testing.T) {
	for _, file := range []string{"../testdata/targets/gopets/openapi.yaml", "../testdata/targets/shelf/openapi.yaml"} {
		sp, err := spec.LoadSpec(context.Background(), file)
		if err != nil {
			t.Fatal(err)
		}
		ln := links.Infer(sp)
		withProducers := 0
		for _, op := range sp.Operations {
			if len(ln.Producers(op.ID)) > 0 {
				withProducers++
			}
		}
		if withProducers == 0 {
			t.Fatalf("%s: no operation has a producer: the test proves nothing", file)
		}
		for n := 1; n <= 12; n++ {
			owners := map[string]int{}
			for i := 1; i <= n; i++ {
				plan := PlanShard(sp, Shard{i, n}, true)
				if len(plan.Own) == 0 {
					t.Fatalf("%s shard %d/%d owns nothing", file, i, n)
				}
				if plan.Spec.Hash != sp.Hash || plan.Spec.Doc != sp.Doc {
					t.Errorf("the shard's spec is not the campaign's")
				}
				var fuzzed []string
				for _, op := range plan.Spec.Operations {
					fuzzed = append(fuzzed, op.ID)
				}
				if len(fuzzed) != len(plan.Own)+len(plan.Support) {
					t.Errorf("%d/%d: spec %v, own %v, support %v", i, n, fuzzed, plan.Own, plan.Support)
				}
				for _, op := range plan.Spec.Operations {
					if slices.Contains(plan.Own, op.ID) {
						owners[op.ID]++
					}
					// Every path parameter an answer can give has a
					// producer in the shard (own operations and,
					// transitively, their producers).
					byParam := map[string][]string{}
					for _, b := range ln.For(op.ID) {
						if strings.HasPrefix(b.Param, "path.") && !strings.HasPrefix(b.Producer, "DELETE ") {
							byParam[b.Param] = append(byParam[b.Param], b.Producer)
						}
					}
					for param, producers := range byParam {
						if !slices.ContainsFunc(producers, func(p string) bool { return slices.Contains(fuzzed, p) }) {
							t.Errorf("%s %d/%d: %s %s has none of its producers %v", file, i, n, op.ID, param, producers)
						}
					}
				}
				for _, op := range plan.Support {
					if slices.Contains(plan.Own, op) {
						t.Errorf("%s is both own and support", op)
					}
				}
				// The fuzzer follows the links it infers to consumers:
				// none may lead out of the shard (OpenAPI links of the
				// campaign's spec included).
				shardLinks := links.Infer(plan.Spec)
				for _, op := range fuzzed {
					for _, b := range append(shardLinks.For(op), shardLinks.From(op)...) {
						if !slices.Contains(fuzzed, b.Producer) || !slices.Contains(fuzzed, b.Consumer) {
							t.Errorf("%s %d/%d: a %s link %s → %s leads out of the shard %v", file, i, n, b.Reason, b.Producer, b.Consumer, fuzzed)
						}
					}
				}
			}
			for _, op := range sp.Operations {
				want := 1
				if n > len(sp.Operations) {
					want = n / len(sp.Operations)
				}
				if owners[op.ID] < want || n <= len(sp.Operations) && owners[op.ID] != 1 {
					t.Errorf("%s n=%d: %s owned by %d shards", file, n, op.ID, owners[op.ID])
				}
			}
		}
	}
}

func TestPlanShardCleansUpWhatItCreates(t *testing.T) {
	sp, err := spec.LoadSpec(context.Background(), "../testdata/targets/gopets/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		plan := PlanShard(sp, Shard{i, 3}, true)
		creates := slices.Contains(plan.Own, "POST /pets") || slices.Contains(plan.Support, "POST /pets")
		deletes := slices.Contains(plan.Own, "DELETE /pets/{petId}") || slices.Contains(plan.Support, "DELETE /pets/{petId}")
		if creates && !deletes {
			t.Errorf("shard %d/3 creates pets and cannot delete them: own %v support %v", i, plan.Own, plan.Support)
		}
		t.Logf("shard %d/3: own %v, support %v", i, plan.Own, plan.Support)
		kept := PlanShard(sp, Shard{i, 3}, false)
		if slices.Contains(kept.Support, "DELETE /pets/{petId}") {
			t.Errorf("keeping state, shard %d/3 still sends DELETE as support", i)
		}
	}
}

// FuzzParseShard: any text is a shard i/n with 1 ≤ i ≤ n, or an ErrBadShard
// that says what is wrong in one line.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"1/4", "3/2", "0/4", "-1/-1", "1/", "/", "9999999999999999999/1", " 2/3 ", "1/1024", "1/1025"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			if !errors.Is(err, ErrBadShard) || strings.Contains(err.Error(), "\n") && !strings.Contains(s, "\n") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if sh.Index < 1 || sh.Index > sh.Count || sh.Count > maxShards {
			t.Fatalf("%q accepted as %v", s, sh)
		}
	})
}
