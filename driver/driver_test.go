package driver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// echo answers with what it got, as a target would.
func echo(_ context.Context, req corpus.Request) corpus.Response {
	return corpus.Response{Status: 201, Header: map[string][]string{"Content-Type": {"text/plain"}, "X-Seen": req.Header["X-Test"]},
		Body: []byte(req.Method + " " + req.Path + " " + string(req.Body))}
}

func TestDriverThroughTheProxy(t *testing.T) {
	res := Run(context.Background(), `curl -sS -X POST -H 'X-Test: yes' --data 'hello' "$WHITTLE_TARGET_URL/items?x=1" && echo && curl -sSi "$WHITTLE_TARGET_URL/items/1" | grep -i x-seen; echo done`, echo)
	if res.Err != nil || res.ExitCode != 0 {
		t.Fatalf("driver: %v (status %d)\n%s", res.Err, res.ExitCode, res.Output)
	}
	if len(res.Exchanges) != 2 {
		t.Fatalf("%d exchanges recorded, want 2", len(res.Exchanges))
	}
	first := res.Exchanges[0]
	if first.Request.Method != "POST" || first.Request.Path != "/items?x=1" || string(first.Request.Body) != "hello" ||
		first.Request.Header["X-Test"][0] != "yes" || first.Request.Header["Host"] != nil {
		t.Errorf("recorded request %+v", first.Request)
	}
	if !strings.Contains(res.Output, "POST /items?x=1 hello") || !strings.HasSuffix(strings.TrimSpace(res.Output), "done") {
		t.Errorf("the driver did not get the answers: %q", res.Output)
	}
	e, ok := res.Entry()
	if !ok || len(e.Requests) != 2 || len(e.Responses) != 2 || !strings.HasPrefix(e.Source, "driver: ") || e.ID == "" {
		t.Errorf("entry %+v", e)
	}
}

func TestDriverFailures(t *testing.T) {
	for _, tc := range []struct {
		cmd   string
		words []string
	}{
		{"echo working; echo 'assertion failed: 2 != 3' >&2; exit 3", []string{"status 3", "assertion failed: 2 != 3"}},
		{"whittle-no-such-command-xyz", []string{"status 127", "not found"}},
	} {
		res := Run(context.Background(), tc.cmd, echo)
		if !errors.Is(res.Err, ErrFailed) {
			t.Errorf("%q: %v, want ErrFailed", tc.cmd, res.Err)
			continue
		}
		for _, w := range tc.words {
			if !strings.Contains(res.Err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", tc.cmd, res.Err, w)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	res := Run(ctx, "sleep 30 & sleep 30; wait", echo)
	if res.Err == nil || time.Since(began) > 10*time.Second {
		t.Fatalf("a cancelled driver: %v after %s", res.Err, time.Since(began))
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	tl := &tail{max: 20}
	for i := 0; i < 10; i++ {
		tl.Write([]byte("line " + string(rune('0'+i)) + "\n"))
	}
	if got := tl.String(); !strings.HasSuffix(got, "line 9\n") || len(got) > 20 || strings.HasPrefix(got, "ine") {
		t.Fatalf("tail %q", got)
	}
}
