package inputsel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
)

// BenchmarkPickName measures a name pick from a book of 1000 directories,
// for parameters of a few names, while signals keep naming directories the
// book knows.
func BenchmarkPickName(b *testing.B) {
	l := fakeimage.Lister{}
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
	book.Load(context.Background())
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
