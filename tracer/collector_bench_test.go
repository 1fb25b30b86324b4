package tracer

import (
	"strconv"
	"testing"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// User-space capacity: decode + dedup of one open record, the hot path at
// high open rates. Compare with the kernel side's rate in
// TestIntegrationOpenRateNoDrops.
func BenchmarkDecodeAndHandle(b *testing.B) {
	for _, userPaths := range []bool{false, true} {
		name := "kernel-path"
		if userPaths {
			name = "user-path"
		}
		b.Run(name, func(b *testing.B) {
			c := newCollector(userPaths, procfs.FS{Dir: b.TempDir()})
			c.bind(7, 1)
			bufs := make([][]byte, 64)
			for i := range bufs {
				bufs[i] = encodeRecord(record{typ: evFile, kind: KindOpen, nr: nrOpenat, pid: 1, tgid: 1,
					flags: fTracked, mntns: 7, comm: "app", ret: 3, dirfd: atFDCWD,
					path: "/usr/lib/python3.11/site-packages/pkg/mod" + strconv.Itoa(i) + ".py"})
			}
			var r record
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := r.decode(bufs[i%len(bufs)]); err != nil {
					b.Fatal(err)
				}
				c.handle(&r)
			}
		})
	}
}
