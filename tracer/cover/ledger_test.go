package cover

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// The ledger every Source shares: first hits once, in order, with their
// time; Baseline marks start-up, MarkBackground later background; NewSince
// skips both.
func TestLedger(t *testing.T) {
	var l Ledger
	t0 := time.Now()
	if !l.Add(Function{Name: "boot"}, t0) || l.Add(Function{Name: "boot"}, t0.Add(time.Second)) {
		t.Fatal("Add: want true for the first hit, false for the second")
	}
	synced := 0
	cur, bg, err := l.Baseline(context.Background(), 0, func(context.Context) error { synced++; return nil })
	if err != nil || synced != 1 || cur != 1 || !slices.Equal(bg, []string{"boot"}) {
		t.Fatalf("Baseline = %d, %v, %v (synced %d)", cur, bg, err, synced)
	}
	l.Add(Function{Name: "handler"}, t0.Add(2*time.Second))
	l.Add(Function{Name: "timer"}, t0.Add(3*time.Second))
	if bg, next := l.MarkBackground(2); !slices.Equal(bg, []string{"timer"}) || next != 3 {
		t.Errorf("MarkBackground(2) = %v, %d", bg, next)
	}
	if units, next := l.NewSince(cur); !slices.Equal(units, []string{"handler"}) || next != 3 {
		t.Errorf("NewSince(%d) = %v, %d", cur, units, next)
	}
	if units, next := l.NewSince(7); units != nil || next != 3 {
		t.Errorf("NewSince past the end = %v, %d", units, next)
	}
	hits := l.Hits()
	want := []FirstHit{
		{Function: Function{Name: "boot"}, At: t0, Startup: true, Background: true},
		{Function: Function{Name: "handler"}, At: t0.Add(2 * time.Second)},
		{Function: Function{Name: "timer"}, At: t0.Add(3 * time.Second), Background: true},
	}
	if !slices.Equal(hits, want) {
		t.Errorf("Hits = %+v\nwant %+v", hits, want)
	}
	if !l.Has("handler") || l.Has("nothing") {
		t.Error("Has")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := l.Baseline(ctx, time.Hour, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Baseline on a cancelled context: %v", err)
	}
}

// Units stay distinct across runtimes: native symbols, Python lines, and
// V8 ranges (anonymous functions on one line differ by offset).
func TestUnitKeys(t *testing.T) {
	cases := []struct {
		f    Function
		want string
	}{
		{Function{Name: "main.handle", Package: "main"}, "main.handle"},
		{Function{Name: "main.handle", Package: "main", File: "/src/main.go", Line: 12}, "main.handle"},
		{Function{Name: "get", Package: "/app/a.py", File: "/app/a.py", Line: 3, Level: LevelLine}, "/app/a.py:get:3"},
		{Function{Name: "get", Package: "/app/a.py"}, "/app/a.py:get:0"},
		{Function{Name: "", File: "file:///srv/app.js", Line: 4, Start: 80, End: 120}, "file:///srv/app.js:@80-120"},
		{Function{Name: "h", File: "file:///srv/app.js", Start: 90, End: 100, Level: LevelBlock}, "file:///srv/app.js:h@90-100"},
	}
	for _, c := range cases {
		if got := c.f.Unit(); got != c.want {
			t.Errorf("%+v.Unit() = %q, want %q", c.f, got, c.want)
		}
	}
}
