package verify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// fate is what a fake container does with a request.
type fate int

const (
	answer    fate = iota
	dieAfter       // answers, then exits
	dieBefore      // exits without answering
)

// service is a fake image: every container answers by the same script,
// which the test may change between replays (another image, another
// timing). It counts the containers started and removed.
type service struct {
	mu      sync.Mutex
	script  func(path string) (corpus.Response, fate)
	started []*instance
	removed int
	// waitReady, when set, is how a container's start waits to be ready
	// (its error is the start's; the container exists either way).
	waitReady func(ctx context.Context) error
}

type instance struct {
	svc  *service
	id   int
	mu   sync.Mutex
	dead bool
	gone bool
}

func (s *service) setScript(f func(path string) (corpus.Response, fate)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = f
}

func (s *service) start(ctx context.Context) (Instance, error) {
	s.mu.Lock()
	in := &instance{svc: s, id: len(s.started) + 1}
	s.started = append(s.started, in)
	wait := s.waitReady
	s.mu.Unlock()
	if wait != nil {
		return in, wait(ctx)
	}
	return in, nil
}

// leftover counts the containers started and not removed.
func (s *service) leftover() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.started) - s.removed
}

func (in *instance) Send(ctx context.Context, req corpus.Request) corpus.Response {
	in.svc.mu.Lock()
	script := in.svc.script
	in.svc.mu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.dead || in.gone {
		return corpus.Response{Err: "connection refused"}
	}
	resp, f := script(req.Path)
	switch f {
	case dieBefore:
		in.dead = true
		return corpus.Response{Err: "connection reset by peer"}
	case dieAfter:
		in.dead = true
	}
	return resp
}

func (in *instance) Exited() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.dead
}

func (in *instance) ExitCode() int64 {
	if in.Exited() {
		return 2
	}
	return -1
}

func (in *instance) Remove(ctx context.Context) error {
	in.mu.Lock()
	already := in.gone
	in.gone = true
	in.mu.Unlock()
	if already {
		return fmt.Errorf("container %d removed twice", in.id)
	}
	in.svc.mu.Lock()
	in.svc.removed++
	in.svc.mu.Unlock()
	return nil
}

func (in *instance) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", 40000+in.id) }

// fast makes replays on fake containers wait for no crash report: they
// report an exit at once.
func fast() Option { return func(t *Target) { t.crashGrace = 20 * time.Millisecond } }

func jsonResp(status int, body string) corpus.Response {
	return corpus.Response{Status: status, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

// testSpec is a spec with one operation per path the fake serves.
func testSpec(t *testing.T, paths ...string) *spec.Spec {
	t.Helper()
	doc := "openapi: 3.0.3\ninfo: {title: fake, version: '1'}\npaths:\n"
	for _, p := range paths {
		doc += fmt.Sprintf("  %s:\n    get:\n      operationId: get%s\n      responses:\n        '200': {description: ok}\n", p, p[1:])
	}
	file := filepath.Join(t.TempDir(), "openapi.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	sp, err := spec.LoadSpec(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// storedEntry is a corpus entry of GET requests (no steps: they are sent
// as recorded) with the answers stored when it joined.
func storedEntry(id string, paths []string, answers ...corpus.Response) corpus.Entry {
	e := corpus.Entry{ID: id, Responses: answers}
	for _, p := range paths {
		e.Requests = append(e.Requests, corpus.Request{Operation: "get" + p[1:], Method: "GET", Path: p})
	}
	return e
}
