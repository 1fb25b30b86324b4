package rebuild

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// Benchmarks of the fixtures, for make bench (scripts/bench.sh):
//
//	go test ./rebuild -run '^$' -bench . -benchtime 1x -count 3
//
// BenchmarkExport/FIXTURE exports the fat image (ImageSave + index);
// BenchmarkBuild/FIXTURE exports it and builds the minimal image from the
// fixture's typical needs, loaded into the engine. Besides ns/op each
// reports fat-bytes and min-bytes (as the engine reports image sizes),
// ratio, entries (of the fat image, or kept) and the time of every step in
// ms. They skip, loudly, without root, an engine or the fixture images.

type benchFixture struct {
	name, image string
	needs       func(testing.TB) []Need
}

var benchFixtures = []benchFixture{
	{"gopets", gopetsImage, func(testing.TB) []Need { return gopetsTypicalTrace }},
	{"pypets", pypetsImage, pypetsNeeds},
}

func BenchmarkExport(b *testing.B) {
	cli := engine(b)
	for _, fx := range benchFixtures {
		b.Run(fx.name, func(b *testing.B) {
			if _, err := cli.ImageInspect(context.Background(), fx.image); err != nil {
				b.Skipf("SKIP: fixture %s not built (make fixtures): %v", fx.image, err)
			}
			var fsys *ImageFS
			for b.Loop() {
				if fsys != nil {
					_ = fsys.Close()
				}
				var err error
				if fsys, err = ExportImage(context.Background(), cli, fx.image, WithWorkDir(b.TempDir())); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(fsys.Size), "fat-bytes")
			b.ReportMetric(float64(len(fsys.Paths())), "entries")
			_ = fsys.Close()
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	cli := engine(b)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, fx := range benchFixtures {
		b.Run(fx.name, func(b *testing.B) {
			ctx := context.Background()
			if _, err := cli.ImageInspect(ctx, fx.image); err != nil {
				b.Skipf("SKIP: fixture %s not built (make fixtures): %v", fx.image, err)
			}
			needs := fx.needs(b)
			tag := fmt.Sprintf("whittle-bench/%s:%d", fx.name, os.Getpid())
			removeImage(b, cli, tag)
			var res *Result
			var err error
			for b.Loop() {
				if res, err = Build(ctx, cli, fx.image, needs, WithTag(tag), WithWorkDir(b.TempDir())); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.OriginalSize), "fat-bytes")
			b.ReportMetric(float64(res.Size), "min-bytes")
			b.ReportMetric(float64(res.OriginalSize)/float64(res.Size), "ratio")
			b.ReportMetric(float64(len(res.Files)), "entries")
			b.ReportMetric(ms(res.Timings.Export), "export-ms")
			b.ReportMetric(ms(res.Timings.Select), "select-ms")
			b.ReportMetric(ms(res.Timings.Layer), "layer-ms")
			b.ReportMetric(ms(res.Timings.Load), "load-ms")
		})
	}
}
