package jvm

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/tracer"
)

// messageSet is the tracer extension reading the agent's messages: the BPF
// program (loaded on the first Attach, sharing the tracer's ring buffer and
// counters) and the coverage its records go to.
type messageSet struct {
	objs jvmObjects

	mu  sync.Mutex
	cov *Coverage
}

// setFor returns tr's JVM message extension, loading it on first use.
func setFor(tr *tracer.Tracer) (*messageSet, error) {
	ext, err := tr.Extend("jvm", []uint8{evJVM}, func() (tracer.Extension, error) { return loadSet(tr) })
	if err != nil {
		return nil, err
	}
	return ext.(*messageSet), nil
}

func loadSet(tr *tracer.Tracer) (*messageSet, error) {
	if err := faults.At(faults.Uprobe); err != nil { // tests: a kernel without uprobes
		return nil, fmt.Errorf("%w: uprobes: %v", tracer.ErrNotSupported, err)
	}
	spec, err := loadJvm()
	if err != nil {
		return nil, err
	}
	shared := tr.SharedMaps()
	spec.Maps["events"].MaxEntries = shared["events"].MaxEntries()
	s := &messageSet{}
	opts := &ebpf.CollectionOptions{MapReplacements: map[string]*ebpf.Map{"events": shared["events"], "counters": shared["counters"]}}
	if err := spec.LoadAndAssign(&s.objs, opts); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) || errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: loading the JVM message program: %v", tracer.ErrNotSupported, err)
		}
		return nil, fmt.Errorf("loading the JVM message program: %w", err)
	}
	return s, nil
}

func (s *messageSet) register(c *Coverage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cov != nil {
		return errors.New("cover: a JVM agent is covered already by this tracer")
	}
	s.cov = c
	return nil
}

func (s *messageSet) unregister(c *Coverage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cov == c {
		s.cov = nil
	}
}

// Handle applies one agent message; the tracer's ring buffer reader calls
// it, in order with Sync markers.
func (s *messageSet) Handle(raw []byte) error {
	r, err := decodeRecord(raw)
	s.mu.Lock()
	c := s.cov
	s.mu.Unlock()
	if c == nil {
		return err
	}
	if err != nil {
		c.malformed()
		return err
	}
	c.apply(r)
	return nil
}

// Close closes the coverage and unloads the program (Tracer.Close).
func (s *messageSet) Close() error {
	s.mu.Lock()
	c := s.cov
	s.mu.Unlock()
	var errs []error
	if c != nil {
		errs = append(errs, c.Close())
	}
	return errors.Join(append(errs, s.objs.Close())...)
}
