package fuzz

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/corpus"
)

// BenchmarkLoopHTTP measures the loop against the pets API over loopback HTTP.
func BenchmarkLoopHTTP(b *testing.B) {
	s := loadPets(b)
	srv, _ := newPetsServer(b)
	f := New(s, NewHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(int64(b.N)))
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
	send := SenderFunc(func(ctx context.Context, req corpus.Request) corpus.Response {
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

// BenchmarkPickName measures a name pick from a book of 1000 directories,
// for parameters of a few names, while signals keep naming directories the
// book knows.
func BenchmarkPickName(b *testing.B) {
	l := fakeLister{}
	var dirs []DirListing
	for i := range 1000 {
		d := fmt.Sprintf("/usr/lib/python3.11/pkg%03d", i)
		if i%10 == 0 {
			d = fmt.Sprintf("/app/plugins/kind%03d", i)
		}
		for j := range 20 {
			l[d] = append(l[d], fmt.Sprintf("mod_%02d.py", j))
		}
		dirs = append(dirs, DirListing{Path: d, Listed: true})
	}
	book := newNameBook(l)
	book.note(dirs)
	book.load(context.Background())
	params := []string{"codec", "name", "template", "outputFormat", "kind", "plugin", "q", "lang"}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%10 == 0 {
			book.note(dirs[i%len(dirs) : i%len(dirs)+1])
		}
		if _, ok := book.PickName(rng, params[i%len(params)]); !ok {
			b.Fatal("no name")
		}
	}
}
