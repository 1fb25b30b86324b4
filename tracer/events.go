package tracer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire format of the ring buffer records written by bpf/tracer.bpf.c.
// All integers are little-endian (the object is built for bpfel).

// record types (enum ev_type)
const (
	evFile = 1
	evExec = 2
	evFork = 3
	evExit = 4
	evSync = 5
	// 6 and 7 are coverage records (bpf/cover.bpf.c), decoded by the
	// extension that owns them (package tracer/cover); 8 is evHead
	// (heads.go).
)

// record flags (enum ev_flags)
const (
	fTracked   = 1
	fBase      = 2
	fBaseTrunc = 4
	fBaseErr   = 8
	fInterp    = 16
	fSecond    = 32
	fExecFD    = 64
)

const (
	hdrSize       = 48 // struct hdr
	fileFixedSize = 80 // struct file_ev up to data
	forkSize      = hdrSize + 8
	syncSize      = hdrSize + 8
	atFDCWD       = -100
)

var errShortRecord = errors.New("short record")

// record is one decoded ring buffer record; which fields are meaningful
// depends on typ.
type record struct {
	typ   uint8
	kind  Kind
	nr    uint16
	pid   uint32 // thread id (host)
	tgid  uint32 // process id (host)
	flags uint32
	mntns uint64
	ts    uint64 // CLOCK_MONOTONIC ns
	comm  string

	// evFile, evExec
	ret   int64
	aux   uint64 // open flags / AT_* flags
	dirfd int32
	path  string // exactly as passed by the process
	base  string // in-kernel base directory, when flags&fBase

	child uint32 // evFork: the new process
	seq   uint64 // evSync
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// decode parses one record. It never panics on malformed input.
func (r *record) decode(b []byte) error {
	if len(b) < hdrSize {
		return fmt.Errorf("%w: %d bytes", errShortRecord, len(b))
	}
	le := binary.LittleEndian
	*r = record{
		typ:   b[0],
		kind:  Kind(b[1]),
		nr:    le.Uint16(b[2:]),
		pid:   le.Uint32(b[4:]),
		tgid:  le.Uint32(b[8:]),
		flags: le.Uint32(b[12:]),
		mntns: le.Uint64(b[16:]),
		ts:    le.Uint64(b[24:]),
		comm:  cstring(b[32:48]),
	}
	switch r.typ {
	case evFile, evExec:
		if len(b) < fileFixedSize {
			return fmt.Errorf("%w: file record of %d bytes", errShortRecord, len(b))
		}
		r.ret = int64(le.Uint64(b[48:]))
		r.aux = le.Uint64(b[56:])
		r.dirfd = int32(le.Uint32(b[64:]))
		plen := int(le.Uint32(b[68:]))
		blen := int(le.Uint32(b[72:]))
		data := b[fileFixedSize:]
		if plen < 0 || blen < 0 || plen+blen > len(data) {
			return fmt.Errorf("%w: path %d + base %d > %d bytes", errShortRecord, plen, blen, len(data))
		}
		r.path = string(data[:plen])
		r.base = string(data[plen : plen+blen])
	case evFork:
		if len(b) < forkSize {
			return fmt.Errorf("%w: fork record of %d bytes", errShortRecord, len(b))
		}
		r.child = le.Uint32(b[48:])
	case evSync:
		if len(b) < syncSize {
			return fmt.Errorf("%w: sync record of %d bytes", errShortRecord, len(b))
		}
		r.seq = le.Uint64(b[48:])
	case evHead:
		return r.decodeHead(b)
	case evExit:
	default:
		return fmt.Errorf("unknown record type %d", r.typ)
	}
	return nil
}

// errno returns the positive errno of a failed syscall, 0 on success.
func (r *record) errno() int {
	if r.ret < 0 && r.ret >= -4095 {
		return int(-r.ret)
	}
	return 0
}
