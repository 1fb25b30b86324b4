package cover

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/whittle-dev/whittle/tracer"
)

// StartFunc starts a process for the tracer to follow (a container) and
// returns the host pid of its init as soon as it exists, and a function
// that waits until it is ready (answers requests): by then it runs its own
// binary rather than an entrypoint script, so its coverage can begin.
type StartFunc func(ctx context.Context) (pid int, ready func(context.Context) error, err error)

// Starter starts the processes a tracer follows, in the order that records
// them from their first exec, and covers the code they run: arm the
// tracer, start, bind it to the new process (tracer.Start, serialised with
// every other start), wait until the process is ready, and, the first
// time, begin coverage: the first of its runtimes (WithRuntime) that
// recognises the process, else native or Python coverage of its binary
// (Attach). Later processes are covered by that one Source: probes sit on
// the file's inode, and runtimes follow the tracer's bound namespaces.
// Its methods are safe for concurrent use.
type Starter struct {
	tr     *tracer.Tracer
	binary string
	opts   []Option

	mu      sync.Mutex
	started bool // a process got ready: coverage was attempted
	cov     Source
	covErr  error
}

// NewStarter returns a Starter for tr covering binary (its path inside the
// container; "" for the started process's executable; see Attach).
func NewStarter(tr *tracer.Tracer, binary string, opts ...Option) *Starter {
	return &Starter{tr: tr, binary: binary, opts: opts}
}

// bindGrace is how long a process the tracer could not bind is given to
// show that it died (ready fails at once then, saying why).
const bindGrace = 5 * time.Second

// Start starts one process with start and returns once it is ready. The
// pid is the one the tracer was bound to, 0 when it was not (start failed,
// or the process could not be bound): a pid to Unbind when the process is
// gone. A failure to begin coverage does not fail the start: Coverage says
// why there is none.
func (s *Starter) Start(ctx context.Context, start StartFunc) (int, error) {
	var ready func(context.Context) error
	pid, err := s.tr.Start(ctx, func(ctx context.Context) (int, error) {
		p, r, err := start(ctx)
		ready = r
		return p, err
	})
	switch {
	case errors.Is(err, tracer.ErrNotBound) && ready != nil:
		// A process that dies at once is gone before it can be bound:
		// then its own error (with its last log lines) says why.
		rctx, cancel := context.WithTimeout(ctx, bindGrace)
		rerr := ready(rctx)
		waited := rctx.Err() != nil // alive, or not ready within the grace
		cancel()
		if rerr != nil && !waited {
			return 0, rerr
		}
		return 0, err
	case err != nil:
		return 0, err
	}
	// Until it is ready, what the process runs is its start-up: hits of a
	// later container (a restart, a spare) are no request's merit.
	s.tr.Starting(pid)
	if ready != nil {
		if err := ready(ctx); err != nil {
			return pid, err
		}
	}
	s.tr.Ready(pid)
	s.coverFirst(ctx, pid)
	return pid, nil
}

// coverFirst begins coverage at the first process that got ready.
func (s *Starter) coverFirst(ctx context.Context, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started, s.covErr = true, nil
	var cfg config
	for _, o := range s.opts {
		o(&cfg)
	}
	if cfg.off {
		s.covErr = ErrCoverageOff
		return
	}
	p := Process{Tracer: s.tr, Pid: pid, Binary: s.binary, Patterns: cfg.patterns()}
	for _, rt := range cfg.runtimes {
		src, err := rt.Attach(ctx, p)
		if errors.Is(err, ErrOtherRuntime) {
			continue
		}
		if errors.Is(err, ErrRestart) {
			s.started = false // the next process that gets ready tries again
			s.covErr = fmt.Errorf("%s: %w", rt.Name(), err)
			return
		}
		if err != nil {
			s.covErr = fmt.Errorf("%s: %w", rt.Name(), err)
		} else {
			s.cov = src
		}
		return
	}
	cov, err := Attach(ctx, s.tr, pid, s.binary, s.opts...)
	if err != nil {
		s.covErr = err
		return
	}
	s.cov = cov
}

// errNotStarted: Coverage before any process got ready.
var errNotStarted = errors.New("cover: no process started yet")

// Coverage returns the coverage begun by the first process that got
// ready, or why there is none (ErrNoUSDT: a Python interpreter without
// USDT probes; tracer.ErrNotSupported: no uprobes; a runtime's own error).
func (s *Starter) Coverage() (Source, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		if s.covErr != nil {
			return nil, s.covErr // ErrRestart
		}
		return nil, errNotStarted
	}
	return s.cov, s.covErr
}
