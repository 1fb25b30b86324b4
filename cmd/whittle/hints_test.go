package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/remedy"
	"github.com/whittle-dev/whittle/pipeline"
	"github.com/whittle-dev/whittle/probe"
)

// The libraries' remedies come out with whittle's flags, where they stood.
func TestErrorLinesNameFlags(t *testing.T) {
	notReady := remedy.New(fmt.Errorf("%w: no HTTP answer on http://127.0.0.1:1/ within 2s", probe.ErrNotReady), probe.FixNotReady)
	notReady.Detail = "; last log lines:\n    booting"
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("starting x: %w", remedy.New(fmt.Errorf("%w: shop:1", probe.ErrNoPort), probe.FixPort)),
			"starting x: image exposes no TCP port: shop:1 (pass --port with the port the service listens on)"},
		{notReady, "target never became ready: no HTTP answer on http://127.0.0.1:1/ within 2s " +
			"(pass --port if the service listens elsewhere, or raise --ready-timeout); last log lines:\n    booting"},
		{fmt.Errorf("no spec given and none found on the target: %w", &spec.LoadError{Source: "http://127.0.0.1:1", Kind: spec.ErrNotFound, Problem: "nothing", Fix: spec.FixPassSpec}),
			"no spec given and none found on the target: spec http://127.0.0.1:1: nothing (fix: pass --spec FILE|URL)"},
		{errors.Join(errors.New("first"), remedy.New(fmt.Errorf("%w: dir", corpus.ErrLocked), corpus.FixLocked)),
			"first\ncorpus is in use by another whittle process: dir (wait for it to finish, or use another --corpus directory)"},
		{fmt.Errorf("%w: 2 finding(s) of severity high or higher", pipeline.ErrFindings),
			"findings at or above the --fail-on severity: 2 finding(s) of severity high or higher"},
		{remedy.New(errors.New("odd"), "a remedy no command rephrases"), "odd (a remedy no command rephrases)"},
	}
	for _, c := range cases {
		if got := withFlags(c.err); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
		// The dashboard prints the error itself: the same words, and the
		// sentinels still match.
		worded := sayFlags(c.err)
		if got := worded.Error(); got != c.want {
			t.Errorf("dashboard: got  %q\nwant %q", got, c.want)
		}
		if !errors.Is(worded, c.err) {
			t.Errorf("sayFlags(%v) no longer is the error it wraps", c.err)
		}
	}
	if sayFlags(nil) != nil {
		t.Error("sayFlags(nil) is not nil")
	}
}
