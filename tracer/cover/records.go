package cover

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/whittle-dev/whittle/tracer"
)

// Wire format of the coverage records bpf/cover.bpf.c writes into the
// tracer's ring buffer (bpf/records.h): the tracer's record header, then
// the record's own fields. Little-endian (the object is built for bpfel).
const (
	evCover  = 6 // first hit of a probed function (enum ev_type)
	evPyLine = 7 // first execution of a Python (file, function, line)

	hdrSize     = tracer.RecordHeaderSize
	coverSize   = hdrSize + 8
	pyFixedSize = hdrSize + 8 // struct py_ev up to data
)

var errShortRecord = errors.New("short coverage record")

// record is a decoded coverage record; which fields are meaningful depends
// on typ.
type record struct {
	typ uint8
	// mntns, ts and thread are the header's: the hitting process's mount
	// namespace, the kernel time (bpf_ktime_get_ns) of the hit, and the
	// hitting thread (host id).
	mntns, ts uint64
	thread    uint32
	idx       uint32 // evCover: the probe's cookie

	// evPyLine
	line           int32
	pyFile, pyFunc string
}

// decode parses one record. It never panics on malformed input.
func (r *record) decode(b []byte) error {
	if len(b) < hdrSize {
		return fmt.Errorf("%w: %d bytes", errShortRecord, len(b))
	}
	le := binary.LittleEndian
	*r = record{typ: b[0], thread: le.Uint32(b[4:]), mntns: le.Uint64(b[16:]), ts: le.Uint64(b[24:])}
	switch r.typ {
	case evCover:
		if len(b) < coverSize {
			return fmt.Errorf("%w: cover record of %d bytes", errShortRecord, len(b))
		}
		r.idx = le.Uint32(b[48:])
	case evPyLine:
		if len(b) < pyFixedSize {
			return fmt.Errorf("%w: python line record of %d bytes", errShortRecord, len(b))
		}
		r.line = int32(le.Uint32(b[48:]))
		flen, nlen := int(le.Uint16(b[52:])), int(le.Uint16(b[54:]))
		data := b[pyFixedSize:]
		if flen+nlen > len(data) {
			return fmt.Errorf("%w: file %d + function %d > %d bytes", errShortRecord, flen, nlen, len(data))
		}
		r.pyFile, r.pyFunc = string(data[:flen]), string(data[flen:flen+nlen])
	default:
		return fmt.Errorf("record type %d is not a coverage record", r.typ)
	}
	return nil
}
