package tracer

import (
	"errors"
	"fmt"
	"maps"

	"github.com/cilium/ebpf"
)

// Extension is BPF code loaded next to the tracer's own that writes into
// its ring buffer, so that Sync orders the extension's records with the
// tracer's: code coverage (package tracer/cover) is one.
type Extension interface {
	// Handle applies one of the extension's records (the raw ring buffer
	// sample, header included). It is called on the ring buffer reader's
	// goroutine, in order with every other record; an error counts the
	// record as malformed (Stats.DecodeErrors).
	Handle(record []byte) error
	// Close releases the extension's BPF objects. Tracer.Close calls it
	// before closing the tracer's own, so none is left in the kernel.
	Close() error
}

// RecordHeaderSize is the size of the header (struct hdr in bpf/records.h)
// every record in the ring buffer starts with, an extension's too.
const RecordHeaderSize = hdrSize

// SharedMaps returns the maps an extension's BPF object shares with the
// tracer, by the names its C source gives them, for
// ebpf.CollectionOptions.MapReplacements: "events" (the ring buffer),
// "bound_set" (the bound mount namespaces) and "counters".
func (t *Tracer) SharedMaps() map[string]*ebpf.Map {
	return map[string]*ebpf.Map{"events": t.objs.Events, "bound_set": t.objs.BoundSet, "counters": t.objs.Counters}
}

// Extend returns the tracer's extension called name, loading it with load
// on the first call; records of the given types (the first byte of a
// record, enum ev_type in bpf/records.h) go to it from then on.
func (t *Tracer) Extend(name string, types []uint8, load func() (Extension, error)) (Extension, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("loading %s: tracer closed", name)
	}
	if ext, ok := t.ext[name]; ok {
		return ext, nil
	}
	handlers := map[uint8]Extension{}
	if cur := t.handlers.Load(); cur != nil {
		handlers = maps.Clone(*cur)
	}
	for _, typ := range types {
		if typ <= evSync || typ == evHead {
			return nil, fmt.Errorf("loading %s: record type %d is the tracer's own", name, typ)
		}
		if _, taken := handlers[typ]; taken {
			return nil, fmt.Errorf("loading %s: record type %d has another extension", name, typ)
		}
	}
	ext, err := load()
	if err != nil {
		return nil, err
	}
	if ext == nil {
		return nil, errors.New("loading " + name + ": no extension")
	}
	if t.ext == nil {
		t.ext = map[string]Extension{}
	}
	t.ext[name] = ext
	for _, typ := range types {
		handlers[typ] = ext
	}
	t.handlers.Store(&handlers)
	return ext, nil
}

// handler returns the extension owning a raw record, or nil.
func (t *Tracer) handler(record []byte) Extension {
	h := t.handlers.Load()
	if h == nil || len(record) == 0 {
		return nil
	}
	return (*h)[record[0]]
}
