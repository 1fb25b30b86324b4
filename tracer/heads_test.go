package tracer

import (
	"encoding/binary"
	"fmt"
	"os"
	"testing"
)

// The heads the workload's two processes read: a request from a pipe
// (read), another from a socket pair (recvfrom), each by its own thread;
// bytes that start like a method but are no request, and everything the
// container read before WatchRequestHeads, give nothing.
func TestIntegrationRequestHeads(t *testing.T) {
	requireIntegration(t)
	tr := newTestTracer(t)
	if err := tr.WatchRequestHeads(); err != nil {
		t.Fatal(err)
	}
	c := runContainer(t, testImage(t), "/usr/bin/wl", "wait", "heads")
	if err := tr.Bind(c.pid); err != nil {
		t.Fatalf("Bind(%d): %v", c.pid, err)
	}
	// Other tests' containers may run meanwhile (go test without -p 1):
	// only this container's heads count.
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	c.signal(t)
	c.wait(t)
	syncTracer(t, tr)
	all, next := tr.RequestHeadsSince(0)
	var got []Head
	for _, h := range all {
		if fmt.Sprintf("mnt:[%d]", h.Mntns) == ns {
			got = append(got, h)
		}
	}
	if len(got) != 2 || next != len(all) {
		t.Fatalf("heads %+v (next %d of %d), want the GET and the POST", got, next, len(all))
	}
	if got[0].Line != "GET /a?x=1 HTTP/1.1" || got[1].Line != "POST /b HTTP/1.1" || got[0].Truncated || got[1].Truncated {
		t.Fatalf("heads %+v", got)
	}
	if got[0].Thread == 0 || got[0].Thread == got[1].Thread || got[0].Mntns == 0 || got[0].Mntns != got[1].Mntns {
		t.Fatalf("threads and namespaces %+v: want two threads of one namespace", got)
	}
	if got[0].Mono == 0 || got[1].Mono <= got[0].Mono {
		t.Fatalf("times %d, %d: the child read first", got[0].Mono, got[1].Mono)
	}
	if more, n := tr.RequestHeadsSince(next); len(more) != 0 || n != next {
		t.Fatalf("since %d: %+v, %d", next, more, n)
	}
}

func TestHeadRecordDecodes(t *testing.T) {
	b := make([]byte, headRecord)
	b[0] = evHead
	binary.LittleEndian.PutUint32(b[4:], 77)
	line := "GET /x HTTP/1.1\r\nHost: a\r\n\r\nstale"
	copy(b[headFixed:], line)
	binary.LittleEndian.PutUint64(b[hdrSize:], uint64(len(line)-5))
	var r record
	if err := r.decode(b); err != nil || r.path != "GET /x HTTP/1.1" || r.aux != 0 || r.pid != 77 {
		t.Fatalf("decode: %v %+v", err, r)
	}
	// A line longer than the record keeps, and a read shorter than it.
	for _, c := range []struct {
		ret  int64
		body string
		want string
	}{{headMax + 500, "GET /" + repeat('a', headMax), "GET /" + repeat('a', headMax-5)}, {9, "GET /abcdef HTTP", "GET /abcd"}} {
		b := make([]byte, headRecord)
		b[0] = evHead
		copy(b[headFixed:], c.body)
		binary.LittleEndian.PutUint64(b[hdrSize:], uint64(c.ret))
		if err := r.decode(b); err != nil || r.path != c.want || r.aux != 1 {
			t.Fatalf("ret %d: %v %q truncated=%d", c.ret, err, r.path, r.aux)
		}
	}
	if err := r.decode(b[:headRecord-1]); err == nil {
		t.Fatal("a short head record decoded")
	}
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
