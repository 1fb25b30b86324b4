package cover

import (
	"context"
	"errors"
	"testing"
)

// restartingRuntime asks for a restart at its first attach, then covers.
type restartingRuntime struct {
	attaches int
	src      Source
}

func (r *restartingRuntime) Name() string { return "late" }

func (r *restartingRuntime) Attach(context.Context, Process) (Source, error) {
	r.attaches++
	if r.attaches == 1 {
		return nil, ErrRestart
	}
	return r.src, nil
}

// A runtime that asks for a restart gets another attach at the next
// process that gets ready; until then Coverage says a restart is needed.
func TestStarterRetriesAfterRestart(t *testing.T) {
	want := &Coverage{}
	rt := &restartingRuntime{src: want}
	s := NewStarter(nil, "", WithRuntime(rt))
	ctx := context.Background()
	s.coverFirst(ctx, 1)
	if _, err := s.Coverage(); !errors.Is(err, ErrRestart) {
		t.Fatalf("after the first start: %v, want ErrRestart", err)
	}
	s.coverFirst(ctx, 2)
	got, err := s.Coverage()
	if err != nil || got != want {
		t.Fatalf("after the restart: %v, %v; want the runtime's source", got, err)
	}
	s.coverFirst(ctx, 3)
	if rt.attaches != 2 {
		t.Errorf("%d attaches, want 2: a covered target is not attached again", rt.attaches)
	}
}
