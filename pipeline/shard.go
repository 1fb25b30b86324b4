package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/whittle-dev/whittle/fuzz/links"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// A campaign split across jobs: every job runs the same image, spec and
// campaign seed with its own shard i/n. Shard i fuzzes its own part of the
// operations (the spec's k-th operation, in the spec's order, belongs to
// shard k mod n + 1; with more shards than operations, shards share one
// operation each and differ by seed) with a seed derived from the
// campaign's and i. Stateful sequences still work inside a shard: it also
// sends the producers whose answers give its operations their ids
// (transitively), and the DELETEs that remove what those create, so the
// run can clean up. The shards' corpora are merged (`corpus merge`) and
// the minimal image built once from the merge.

// Shard is one part of a campaign: Index of Count, 1-based. The zero Shard
// is a whole campaign.
type Shard struct {
	Index, Count int
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// IsZero reports a whole campaign.
func (s Shard) IsZero() bool { return s.Count == 0 }

// ErrBadShard is a shard that does not name one part of a campaign.
var ErrBadShard = errors.New("bad shard")

// ShardError is a shard ParseShard refuses: the input and what is wrong.
type ShardError struct {
	Input, Problem string
}

func (e *ShardError) Error() string        { return fmt.Sprintf("bad shard %q: %s", e.Input, e.Problem) }
func (e *ShardError) Is(target error) bool { return target == ErrBadShard }

// maxShards bounds n: more jobs than this would each fuzz a sliver.
const maxShards = 1024

// ParseShard reads "i/n" (shard i of n, 1 ≤ i ≤ n).
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, errI := strconv.Atoi(is)
	n, errN := strconv.Atoi(ns)
	switch {
	case !ok || errI != nil || errN != nil:
		return Shard{}, &ShardError{s, "want i/n, shard i of n jobs, e.g. 1/4"}
	case n < 1 || n > maxShards:
		return Shard{}, &ShardError{s, fmt.Sprintf("the number of shards must be between 1 and %d", maxShards)}
	case i < 1 || i > n:
		return Shard{}, &ShardError{s, fmt.Sprintf("shards are numbered 1 to %d, so i must be between 1 and %d", n, n)}
	}
	return Shard{Index: i, Count: n}, nil
}

// ShardSeed is the fuzzing seed of shard index of the campaign with seed
// campaign: a splitmix64 step, so neighbouring shards' generators share
// nothing; positive, never 0.
func ShardSeed(campaign int64, index int) int64 {
	z := uint64(campaign) + uint64(index)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	seed := int64(z >> 2) // 62 bits: positive
	if seed == 0 {
		seed = 1
	}
	return seed
}

// ShardPlan is what one shard fuzzes.
type ShardPlan struct {
	Shard Shard
	// Own are the operations the shard fuzzes for the campaign; Support
	// those it sends so that its own can be reached (producers of their
	// ids) and cleaned up after (DELETEs of what those create).
	Own, Support []string
	// Spec is the campaign's spec with only Own and Support: what the
	// shard's fuzzer is given. Its hash is the campaign's (the corpus is
	// keyed by it, so the shards' corpora merge).
	Spec *spec.Spec
}

// PlanShard splits the operations of sp for sh. cleanup adds the DELETEs
// that remove what the producers create (off when the run keeps state).
func PlanShard(sp *spec.Spec, sh Shard, cleanup bool) ShardPlan {
	ops := sp.Operations
	plan := ShardPlan{Shard: sh}
	in := map[string]bool{}
	switch {
	case len(ops) == 0:
	case len(ops) < sh.Count:
		op := ops[(sh.Index-1)%len(ops)]
		plan.Own, in[op.ID] = []string{op.ID}, true
	default:
		for k, op := range ops {
			if k%sh.Count == sh.Index-1 {
				plan.Own, in[op.ID] = append(plan.Own, op.ID), true
			}
		}
	}
	ln := links.Infer(sp)
	queue := slices.Clone(plan.Own)
	for len(queue) > 0 {
		op := queue[0]
		queue = queue[1:]
		for _, p := range bestProducers(sp, ln, op) {
			if !in[p] {
				in[p] = true
				queue = append(queue, p)
			}
		}
	}
	if cleanup {
		for _, op := range ops {
			if op.Method != "DELETE" || in[op.ID] {
				continue
			}
			for _, p := range ln.Producers(op.ID) {
				if in[p] && strings.HasPrefix(p, "POST ") {
					in[op.ID] = true
					break
				}
			}
		}
	}
	cp := *sp
	cp.Operations = nil
	for _, op := range ops {
		if !in[op.ID] {
			continue
		}
		cp.Operations = append(cp.Operations, withinShard(op, in))
		if !slices.Contains(plan.Own, op.ID) {
			plan.Support = append(plan.Support, op.ID)
		}
	}
	plan.Spec = &cp
	return plan
}

// bestProducers are, for each path parameter of op that an earlier answer
// can give, the producer of its best binding (a create before a read
// that merely echoes the id), unless the shard has one of its producers
// already; never a DELETE.
func bestProducers(sp *spec.Spec, ln *links.Links, op string) []string {
	var out []string
	done := map[string]bool{}
	for _, b := range ln.For(op) { // best first
		if !strings.HasPrefix(b.Param, "path.") || done[b.Param] || strings.HasPrefix(b.Producer, "DELETE ") || sp.Operation(b.Producer) == nil {
			continue
		}
		done[b.Param] = true
		if !slices.Contains(out, b.Producer) {
			out = append(out, b.Producer)
		}
	}
	return out
}

// withinShard is op with only the OpenAPI links that lead to operations of
// the shard: the fuzzer follows links to consumers, and a consumer outside
// the shard is another shard's to fuzz. (The spec looks operations up by
// id among all of the campaign's: the shard's are shallow copies.)
func withinShard(op *spec.Operation, in map[string]bool) *spec.Operation {
	if !slices.ContainsFunc(op.Links, func(l spec.Link) bool { return !in[l.Target] }) {
		return op
	}
	c := *op
	c.Links = slices.DeleteFunc(slices.Clone(op.Links), func(l spec.Link) bool { return !in[l.Target] })
	return &c
}
