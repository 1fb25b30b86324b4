package tracer

import (
	"encoding/binary"
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"
	"unsafe"
)

// encodeRecord writes r in the BPF wire format (test helper).
func encodeRecord(r record) []byte {
	le := binary.LittleEndian
	b := make([]byte, hdrSize)
	b[0], b[1] = r.typ, uint8(r.kind)
	le.PutUint16(b[2:], r.nr)
	le.PutUint32(b[4:], r.pid)
	le.PutUint32(b[8:], r.tgid)
	le.PutUint32(b[12:], r.flags)
	le.PutUint64(b[16:], r.mntns)
	le.PutUint64(b[24:], r.ts)
	copy(b[32:48], r.comm)
	switch r.typ {
	case evFile, evExec:
		b = le.AppendUint64(b, uint64(r.ret))
		b = le.AppendUint64(b, r.aux)
		b = le.AppendUint32(b, uint32(r.dirfd))
		b = le.AppendUint32(b, uint32(len(r.path)))
		b = le.AppendUint32(b, uint32(len(r.base)))
		b = le.AppendUint32(b, 0)
		b = append(b, r.path...)
		b = append(b, r.base...)
	case evFork:
		b = le.AppendUint32(b, r.child)
		b = le.AppendUint32(b, 0)
	case evSync:
		b = le.AppendUint64(b, r.seq)
	}
	return b
}

func TestRecordDecode(t *testing.T) {
	tests := []record{
		{typ: evFile, kind: KindOpen, nr: 257, pid: 11, tgid: 10, flags: fTracked | fBase, mntns: 4026532000,
			ts: 123, comm: "python3", ret: -2, aux: 0o200000, dirfd: atFDCWD, path: "rel/x", base: "/app"},
		{typ: evExec, kind: 0, nr: 59, pid: 7, tgid: 7, flags: fTracked, mntns: 1, comm: "0123456789abcde",
			path: "/usr/bin/env"},
		{typ: evFork, pid: 1, tgid: 1, mntns: 5, comm: "sh", child: 99},
		{typ: evExit, pid: 3, tgid: 3, mntns: 5},
		{typ: evSync, seq: 42},
	}
	for _, want := range tests {
		var got record
		if err := got.decode(encodeRecord(want)); err != nil {
			t.Fatalf("decode(%+v): %v", want, err)
		}
		if got != want {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestRecordDecodeRejects(t *testing.T) {
	good := encodeRecord(record{typ: evFile, path: "/etc/passwd", base: ""})
	cases := map[string][]byte{
		"empty":           nil,
		"short header":    good[:hdrSize-1],
		"short file":      good[:fileFixedSize-1],
		"path past end":   good[:len(good)-1],
		"unknown type":    append([]byte{99}, good[1:]...),
		"short fork":      encodeRecord(record{typ: evFork})[:hdrSize+4],
		"short sync":      encodeRecord(record{typ: evSync})[:hdrSize+4],
		"coverage record": append([]byte{6}, good[1:]...), // the coverage extension's, never the collector's
		"huge base size": func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[72:], 1<<31)
			return b
		}(),
	}
	for name, b := range cases {
		var r record
		if err := r.decode(b); err == nil {
			t.Errorf("%s: decoded without error: %+v", name, r)
		}
	}
	var r record
	if err := r.decode(nil); !errors.Is(err, errShortRecord) {
		t.Errorf("decode(nil) = %v, want errShortRecord", err)
	}
}

func TestErrno(t *testing.T) {
	for ret, want := range map[int64]int{0: 0, 3: 0, -2: 2, -4095: 4095, -4096: 0, 0x7f0000001000: 0} {
		if got := (&record{ret: ret}).errno(); got != want {
			t.Errorf("errno(%d) = %d, want %d", ret, got, want)
		}
	}
}

// The Go decoder and the C structs must agree on the layout; bpf2go's
// generated types mirror the C structs.
func TestWireLayoutMatchesBPF(t *testing.T) {
	var s tracerScratch
	if got := unsafe.Sizeof(s.Ev.H); got != hdrSize {
		t.Errorf("sizeof(struct hdr) = %d, decoder uses %d", got, hdrSize)
	}
	if got := unsafe.Offsetof(s.Ev.Data); got != fileFixedSize {
		t.Errorf("offsetof(file_ev, data) = %d, decoder uses %d", got, fileFixedSize)
	}
	if got := len(s.Ev.Data); got != 2*4096 {
		t.Errorf("file_ev data is %d bytes", got)
	}
}

// Constants shared with bpf/tracer.bpf.c must have the same values.
func TestConstantsMatchBPF(t *testing.T) {
	var src []byte
	for _, f := range []string{"bpf/records.h", "bpf/tracer.bpf.c"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	c := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s*([A-Z][A-Z0-9_]+) = (\d+),`).FindAllStringSubmatch(string(src), -1) {
		c[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, m := range regexp.MustCompile(`(?m)^#define (NR_\w+|NR_SYSCALLS|AT_FDCWD|MAX_BOUND) (-?\d+)`).FindAllStringSubmatch(string(src), -1) {
		c[m[1]], _ = strconv.Atoi(m[2])
	}
	want := map[string]int{
		"EV_FILE": evFile, "EV_EXEC": evExec, "EV_FORK": evFork, "EV_EXIT": evExit, "EV_SYNC": evSync,
		"F_TRACKED": fTracked, "F_BASE": fBase, "F_BASE_TRUNC": fBaseTrunc, "F_BASE_ERR": fBaseErr,
		"F_INTERP": fInterp, "F_SECOND": fSecond, "F_EXEC_FD": fExecFD,
		"SP_NONE": spNone, "SP_MMAP": spMmap, "SP_OPENAT2": spOpenat2, "SP_CHDIR": spChdir,
		"SP_FCHDIR": spFchdir, "SP_EXEC": spExec,
		"C_DROPS": cDrops, "C_INFLIGHT_FULL": cInflightFull, "C_READ_FAIL": cReadFail,
		"C_TRACKED_FULL": cTrackedFull, "C_WALK_TRUNC": cWalkTrunc,
		"NR_execve": nrExecve, "NR_chdir": nrChdir, "NR_fchdir": nrFchdir, "NR_execveat": nrExecveat,
		"NR_SYSCALLS": nrSyscalls, "AT_FDCWD": atFDCWD, "MAX_BOUND": maxBound,
	}
	for name, v := range want {
		got, ok := c[name]
		if !ok {
			t.Errorf("%s not found in bpf/records.h", name)
		} else if got != v {
			t.Errorf("%s = %d in C, %d in Go", name, got, v)
		}
	}
}

func FuzzRecordDecode(f *testing.F) {
	f.Add(encodeRecord(record{typ: evFile, path: "a", base: "/b"}))
	f.Add(encodeRecord(record{typ: evExec, path: "/bin/sh"}))
	f.Add(encodeRecord(record{typ: evFork, child: 3}))
	f.Add(encodeRecord(record{typ: evSync, seq: 1}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r record
		if err := r.decode(b); err != nil {
			return
		}
		if len(r.path)+len(r.base) > len(b) {
			t.Fatalf("decoded more bytes than given")
		}
	})
}
