package fuzz

import (
	"context"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// BenchmarkLoopHTTP measures the loop against the pets API over loopback HTTP.
func BenchmarkLoopHTTP(b *testing.B) {
	s := loadPets(b)
	srv, _ := newPetsServer(b)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(int64(b.N)))
	b.ResetTimer()
	res, err := f.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.Stats.RequestsPerSecond, "req/s")
}

// BenchmarkLoopInProcess measures the fuzzer's own cost: answers come from a
// handler called directly, without sockets.
func BenchmarkLoopInProcess(b *testing.B) {
	s := loadPets(b)
	_, api := newPetsServer(b)
	send := senderFunc(func(ctx context.Context, req corpus.Request) corpus.Response {
		hr, err := req.HTTPRequest("http://pets")
		if err != nil {
			return corpus.Response{Err: err.Error()}
		}
		rec := newRecorder()
		api.ServeHTTP(rec, hr)
		return corpus.Response{Status: rec.status, Header: rec.header, Body: rec.body}
	})
	f := New(s, send, WithSeed(1), WithMaxRequests(int64(b.N)))
	b.ResetTimer()
	res, err := f.Run(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.Stats.RequestsPerSecond, "req/s")
}
