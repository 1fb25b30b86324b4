package tracer

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"
)

// Request heads. With several requests in flight, what the target newly
// covered can still be credited to one of them where the runtime serves a
// request on one thread: a coverage record carries the thread that made it,
// and a head record says which request that thread read last. The tracer
// only reports what each thread read; deciding what a thread was serving
// when (and whether the runtime serves one request per thread at all) is
// the caller's.

// Head is the start of an HTTP/1 request that a thread of a followed
// container read from a socket (read or recvfrom).
type Head struct {
	Thread uint32 // host thread id
	Mntns  uint64
	Mono   uint64 // CLOCK_MONOTONIC ns when the read returned
	// Line is the request line as read: "GET /pets?limit=2 HTTP/1.1", or
	// its start when the read held less or the line is longer than a
	// record keeps (Truncated).
	Line      string
	Truncated bool
}

const (
	evHead       = 8   // enum ev_type EV_HEAD
	spHead       = 6   // enum special SP_HEAD
	headMax      = 192 // HEAD_MAX
	headFixed    = hdrSize + 8
	headRecord   = headFixed + headMax
	nrRead       = 0
	nrRecvfrom   = 45
	headKind     = 0xff // any kind: the BPF side only needs one, heads are no file access
	maxHeadsKept = 1 << 16
)

// decodeHead fills r.path with the request line of a head record.
func (r *record) decodeHead(b []byte) error {
	if len(b) < headRecord {
		return fmt.Errorf("%w: head record of %d bytes", errShortRecord, len(b))
	}
	r.ret = int64(binary.LittleEndian.Uint64(b[hdrSize:]))
	data := b[headFixed:headRecord]
	if r.ret >= 0 && r.ret < headMax {
		data = data[:r.ret]
	}
	line, _, full := bytes.Cut(data, []byte("\r\n"))
	r.path = string(line)
	r.aux = 0
	if !full {
		r.aux = 1
	}
	return nil
}

// WatchRequestHeads starts reporting the HTTP request heads the followed
// containers' threads read (RequestHeadsSince). It costs a map update per
// read and recvfrom of their processes, so it is off until asked for.
func (t *Tracer) WatchRequestHeads() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return fmt.Errorf("watching request heads: tracer closed")
	}
	for _, nr := range []uint32{nrRead, nrRecvfrom} {
		v := tracerSpec{Kind: headKind, Special: spHead, DirfdArg: noArg, PathArg: noArg, FlagsArg: noArg, Dirfd2Arg: noArg, Path2Arg: noArg}
		if err := t.objs.SyscallSpecs.Update(nr, &v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("watching request heads: %w", err)
		}
	}
	return nil
}

// RequestHeadsSince returns the heads read at or after cursor (0 at first)
// and the next cursor. It keeps the last 65536 only: a cursor older than
// that starts at the oldest kept.
func (t *Tracer) RequestHeadsSince(cursor int) ([]Head, int) {
	return t.col.headsSince(cursor)
}

// heads is the collector's bounded log of heads.
type heads struct {
	log  []Head
	base int // cursor of log[0]
}

func (h *heads) add(x Head) {
	if len(h.log) >= maxHeadsKept {
		drop := len(h.log) / 2
		h.log = append(h.log[:0], h.log[drop:]...)
		h.base += drop
	}
	h.log = append(h.log, x)
}

func (c *collector) head(r *record) {
	c.heads.add(Head{Thread: r.pid, Mntns: r.mntns, Mono: r.ts, Line: r.path, Truncated: r.aux != 0})
}

func (c *collector) headsSince(cursor int) ([]Head, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &c.heads
	next := h.base + len(h.log)
	i := max(cursor-h.base, 0)
	if i >= len(h.log) {
		return nil, next
	}
	return append([]Head(nil), h.log[i:]...), next
}
