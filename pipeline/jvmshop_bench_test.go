package pipeline

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/event"
	"github.com/whittle-dev/whittle/internal/testimage"
)

// BenchmarkJvmshopFuzzing measures whittle's fuzzing executions per second
// on jvmshop with JVM method coverage (the agent, its breakpoints and
// messages) and without code coverage (files and syscalls only): runs of
// BENCH_DURATION (default 60s), alternating, BENCH_JVM_ROUNDS (default 3)
// of each (-benchtime 1x; repeated names get Go's #01 suffixes). execs/s
// counts the whole fuzzing phase; execs/s-2nd-half the second half of its
// timeline, once the image's filesystem was exported and the JIT warm.
func BenchmarkJvmshopFuzzing(b *testing.B) {
	cli := testimage.RequireDocker(b)
	if _, err := cli.ImageInspect(context.Background(), jvmshopImage); err != nil {
		b.Skipf("SKIP: fixture %s not built (scripts/fixtures.sh jvmshop): %v", jvmshopImage, err)
	}
	d := time.Minute
	if v, err := time.ParseDuration(os.Getenv("BENCH_DURATION")); err == nil && v > 0 {
		d = v
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("BENCH_JVM_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	for round := 0; round < rounds; round++ {
		benchJvmshopRound(b, d)
	}
}

func benchJvmshopRound(b *testing.B, d time.Duration) {
	for _, mode := range []struct {
		name string
		off  bool
	}{{"coverage=on", false}, {"coverage=off", true}} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				tag := "whittle-bench/jvmshop:" + map[bool]string{false: "on", true: "off"}[mode.off]
				bus := event.NewBus()
				go func() {
					for {
						if _, ok := bus.Next(context.Background()); !ok {
							return
						}
					}
				}()
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
				cfg := Config{Image: jvmshopImage, Seed: 1, Duration: d, Tag: tag}
				if mode.off {
					cfg.CoverPatterns = []string{"none"}
				}
				rep, err := New(cfg, bus).Execute(ctx)
				cancel()
				bus.Close()
				removeImage(tag)
				if err != nil {
					b.Fatalf("run: %v", err)
				}
				f := rep.Fuzz
				b.ReportMetric(float64(f.Requests)/f.Duration, "execs/s")
				if tl := f.Timeline; len(tl) > 2 {
					mid, last := tl[len(tl)/2], tl[len(tl)-1]
					if last.Seconds > mid.Seconds {
						b.ReportMetric(float64(last.Requests-mid.Requests)/(last.Seconds-mid.Seconds), "execs/s-2nd-half")
					}
				}
				b.ReportMetric(float64(rep.Trace.Functions), "methods")
				b.ReportMetric(float64(rep.Trace.FunctionsTotal), "methods-in-scope")
				b.ReportMetric(float64(f.CorpusSize), "corpus")
				b.ReportMetric(float64(rep.Verification.Identical), "verified")
				b.Logf("%s: %s; %d requests in %.0f s, corpus %d, methods %d of %d, verified %d/%d",
					mode.name, rep.Trace.Coverage, f.Requests, f.Duration, f.CorpusSize, rep.Trace.Functions, rep.Trace.FunctionsTotal,
					rep.Verification.Identical, rep.Verification.Total)
			}
		})
	}
}
