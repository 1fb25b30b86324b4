package cover

import (
	"encoding/binary"
	"os"
	"regexp"
	"strconv"
	"testing"
	"unsafe"

	"github.com/whittle-dev/whittle/tracer/usdt"
)

// encodeRecord writes r in the BPF wire format, behind a header with r's
// thread, mount namespace and time and a made-up process.
func encodeRecord(r record) []byte {
	le := binary.LittleEndian
	b := make([]byte, hdrSize)
	b[0] = r.typ
	le.PutUint32(b[4:], r.thread)
	le.PutUint32(b[8:], 9) // tgid
	le.PutUint64(b[16:], r.mntns)
	le.PutUint64(b[24:], r.ts)
	copy(b[32:48], "gopets")
	switch r.typ {
	case evCover:
		b = le.AppendUint32(b, r.idx)
		b = le.AppendUint32(b, 0)
	case evPyLine:
		b = le.AppendUint32(b, uint32(r.line))
		b = le.AppendUint16(b, uint16(len(r.pyFile)))
		b = le.AppendUint16(b, uint16(len(r.pyFunc)))
		b = append(b, r.pyFile...)
		b = append(b, r.pyFunc...)
	}
	return b
}

// handle feeds r to set as the tracer's ring buffer reader would.
func handle(t *testing.T, set *coverSet, r record) {
	t.Helper()
	if err := set.Handle(encodeRecord(r)); err != nil {
		t.Fatal(err)
	}
}

func TestRecordDecode(t *testing.T) {
	for _, want := range []record{
		{typ: evCover, idx: 77, thread: 12, mntns: 4026532000, ts: 5e12},
		{typ: evPyLine, line: 42, pyFile: "/app/x.py", pyFunc: "<module>", thread: 13},
	} {
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
	for name, b := range map[string][]byte{
		"empty":           nil,
		"short header":    encodeRecord(record{typ: evCover})[:hdrSize-1],
		"short cover":     encodeRecord(record{typ: evCover})[:hdrSize+4],
		"short pyline":    encodeRecord(record{typ: evPyLine})[:hdrSize+6],
		"pyline past end": encodeRecord(record{typ: evPyLine, pyFile: "/a.py", pyFunc: "f"})[:pyFixedSize+5],
		"file record":     append([]byte{1}, encodeRecord(record{typ: evCover})[1:]...),
	} {
		var r record
		if err := r.decode(b); err == nil {
			t.Errorf("%s: decoded without error: %+v", name, r)
		}
	}
}

// The decoder and the C structs must agree on the layout; bpf2go's
// generated types mirror the C structs.
func TestWireLayoutMatchesBPF(t *testing.T) {
	var py coverPyEv
	if got := unsafe.Sizeof(py.H); got != hdrSize {
		t.Errorf("sizeof(struct hdr) = %d, decoder uses %d", got, hdrSize)
	}
	if got := unsafe.Offsetof(py.Data); got != pyFixedSize {
		t.Errorf("offsetof(py_ev, data) = %d, decoder uses %d", got, pyFixedSize)
	}
	var spec coverUsdtSpec
	if got := unsafe.Sizeof(spec.A[0]); got != 16 {
		t.Errorf("sizeof(struct usdt_arg) = %d", got)
	}
}

// Constants shared with bpf/records.h and bpf/cover.bpf.c must have the
// same values.
func TestConstantsMatchBPF(t *testing.T) {
	var src []byte
	for _, f := range []string{"../bpf/records.h", "../bpf/cover.bpf.c"} {
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
	for _, m := range regexp.MustCompile(`(?m)^#define (MAX_USDT_SPECS) (\d+)`).FindAllStringSubmatch(string(src), -1) {
		c[m[1]], _ = strconv.Atoi(m[2])
	}
	for _, m := range regexp.MustCompile(`(?m)^#define (MAX_COVER) \(1 << (\d+)\)`).FindAllStringSubmatch(string(src), -1) {
		n, _ := strconv.Atoi(m[2])
		c[m[1]] = 1 << n
	}
	for name, v := range map[string]int{
		"EV_COVER": evCover, "EV_PYLINE": evPyLine, "MAX_COVER": maxCover, "MAX_USDT_SPECS": maxUSDTSpecs,
		"ARG_CONST": int(usdt.ArgConst), "ARG_REG": int(usdt.ArgReg), "ARG_MEM": int(usdt.ArgMem),
	} {
		got, ok := c[name]
		if !ok {
			t.Errorf("%s not found in the BPF sources", name)
		} else if got != v {
			t.Errorf("%s = %d in C, %d in Go", name, got, v)
		}
	}
}

func FuzzRecordDecode(f *testing.F) {
	f.Add(encodeRecord(record{typ: evCover, idx: 3}))
	f.Add(encodeRecord(record{typ: evPyLine, line: 7, pyFile: "/app/a.py", pyFunc: "f"}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r record
		if err := r.decode(b); err != nil {
			return
		}
		if len(r.pyFile)+len(r.pyFunc) > len(b) {
			t.Fatalf("decoded more bytes than given")
		}
	})
}
