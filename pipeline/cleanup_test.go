package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
)

// Without the CLI (no process-wide panic handler), a panic in one of the
// run's goroutines or in Execute's own still becomes Execute's error, after
// the usual cleanup: the pipeline is safe as a library too.
func TestPanicBecomesExecuteError(t *testing.T) {
	const img = "whittle-fixture/gopets:latest"
	requireFixture(t, img)
	for _, tt := range []struct {
		point    faults.Point
		where    string
		noCorpus bool // the panic comes before the corpus is opened
	}{
		{faults.TimelineSampler, string(faults.TimelineSampler), false},
		{faults.EventForwarder, string(faults.EventForwarder), false},
		{faults.Feedback, "pipeline", false},
		{faults.SpareStart, string(faults.SpareStart), false}, // after gopets' first crash
		{faults.TracedStart, "pipeline", true},                // a container created, never handed over
	} {
		t.Run(string(tt.point), func(t *testing.T) {
			var fired atomic.Bool
			t.Cleanup(faults.Set(tt.point, func() error {
				fired.Store(true)
				panic("injected fault")
			}))
			dir := filepath.Join(t.TempDir(), "corpus")
			bus := event.NewBus()
			go func() {
				for {
					if _, ok := bus.Next(context.Background()); !ok {
						return
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			rep, err := New(Config{Image: img, Spec: "../testdata/targets/gopets/openapi.yaml", Seed: 1,
				Duration: 30 * time.Second, CorpusDir: dir, Tag: "whittle-test/cleanup:latest"}, bus).Execute(ctx)
			bus.Close()
			if !fired.Load() {
				t.Fatalf("the fault never fired (err %v)", err)
			}
			var p *panics.Panic
			if !errors.As(err, &p) || !errors.Is(err, panics.ErrPanic) {
				t.Fatalf("Execute returned %v, want a *panics.Panic", err)
			}
			if p.Where != tt.where || p.Value != "injected fault" || !strings.Contains(string(p.Stack), "faults.At(") {
				t.Errorf("panic %q in %q, stack:\n%s", p.Value, p.Where, p.Stack)
			}
			if errors.Is(err, ErrInterrupted) {
				t.Error("a panic is not an interruption")
			}
			if rep == nil || !strings.HasPrefix(rep.Error, "internal error: panic in "+tt.where) {
				t.Errorf("report error %q", rep.Error)
			}
			assertNoContainersLeft(t)
			if tt.noCorpus {
				return
			}
			st, err := corpus.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if w := st.Warnings(); len(w) > 0 {
				t.Errorf("corpus warnings: %v", w)
			}
			// The corpus lock is released.
			if rw, err := corpus.Open(dir, st.Meta().Key); err != nil {
				t.Errorf("reopening the corpus: %v", err)
			} else {
				rw.Close()
			}
		})
	}
}

// Progress is called from the interfaces' goroutines, also after Execute
// has returned (the results view): a panic then has no run left to end and
// goes to the process's handler, never silently away.
func TestProgressPanic(t *testing.T) {
	var handled atomic.Pointer[panics.Panic]
	t.Cleanup(panics.SetHandler(func(p *panics.Panic) { handled.Store(p) }))
	t.Cleanup(faults.Set(faults.ProgressSnapshot, faults.Panic("injected fault")))

	r := New(Config{Image: "x"}, nil)
	_ = r.Progress() // during the run: it becomes the run's error
	if r.panicked == nil || r.panicked.Where != string(faults.ProgressSnapshot) {
		t.Fatalf("panic not recorded for Execute: %v", r.panicked)
	}
	if handled.Load() != nil {
		t.Fatal("a panic during the run went to the process handler")
	}

	r = New(Config{Image: "x"}, nil)
	r.finished = true
	_ = r.Progress()
	if p := handled.Load(); p == nil || p.Value != "injected fault" {
		t.Fatalf("a panic after the run was not handed to the process handler: %v", p)
	}
}
