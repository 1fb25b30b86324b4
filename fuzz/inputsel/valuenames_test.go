package inputsel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
)

// interpreterImage holds an interpreter's codec registry (encodings/, as
// Python's), a stdlib of hundreds of modules and a small plugin directory
// of the application.
func interpreterImage() fakeimage.Lister {
	l := fakeimage.Lister{
		"/usr/lib/python3.11/encodings": {"__init__.py", "__pycache__", "aliases.py", "utf_8.py", "latin_1.py", "ascii.py"},
		"/usr/lib/python3.11":           {"encodings", "json", "os.py", "codecs.py"},
		"/srv/app/drivers":              {"__init__.py", "sqlite.py", "postgres.py", "mysql.py", "oracle.py"},
	}
	for i := range 120 {
		l["/usr/lib/python3.11/encodings"] = append(l["/usr/lib/python3.11/encodings"], fmt.Sprintf("cp%d.py", 400+i))
	}
	for i := range 3000 {
		l["/usr/lib/python3.11"] = append(l["/usr/lib/python3.11"], fmt.Sprintf("mod%04d.py", i))
	}
	return l
}

func interpreterBook(t *testing.T, listed ...string) *NameBook {
	t.Helper()
	b := newNameBook(interpreterImage())
	var dirs []DirListing
	for _, d := range []string{"/usr/lib/python3.11/encodings", "/usr/lib/python3.11", "/srv/app/drivers"} {
		dirs = append(dirs, DirListing{Path: d, Listed: slices.Contains(listed, d), Startup: true})
	}
	b.note(dirs)
	b.Load(context.Background())
	return b
}

func TestRegistryName(t *testing.T) {
	for v, want := range map[string]string{
		"UTF-8": "utf_8", "utf_8": "utf_8", "ISO 8859--1": "iso_8859_1", "-latin1-": "latin1", "x.y": "x.y", "": "",
	} {
		if got := registryName(v); got != want {
			t.Errorf("registryName(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestValueDirsFindsTheRegistryAValueNames(t *testing.T) {
	b := interpreterBook(t, "/usr/lib/python3.11/encodings", "/usr/lib/python3.11", "/srv/app/drivers")
	dirs := b.ValueDirs("UTF-8")
	if len(dirs) != 1 || dirs[0].Path() != "/usr/lib/python3.11/encodings" {
		t.Fatalf("UTF-8 names %v, want the encodings directory", paths(dirs))
	}
	if dirs := b.ValueDirs("sqlite"); len(dirs) != 1 || dirs[0].Path() != "/srv/app/drivers" {
		t.Fatalf("sqlite names %v", paths(dirs))
	}
	for _, v := range []string{"hello world", "42", "ab", "zz_unknown"} {
		if dirs := b.ValueDirs(v); len(dirs) != 0 {
			t.Errorf("%q names %v", v, paths(dirs))
		}
	}
}

func TestValueDirsOnlyListedDirectories(t *testing.T) {
	// The target only used files in encodings/: it did not resolve names
	// from a listing of it there.
	b := interpreterBook(t, "/srv/app/drivers")
	if dirs := b.ValueDirs("utf-8"); len(dirs) != 0 {
		t.Fatalf("utf-8 names %v in directories the target never listed", paths(dirs))
	}
}

func TestSampleNamesIsBoundedAndSpread(t *testing.T) {
	b := interpreterBook(t, "/usr/lib/python3.11/encodings", "/usr/lib/python3.11")
	enc := b.ValueDirs("utf-8")[0]
	names := enc.SampleNames("utf-8")
	if len(names) != maxSweep {
		t.Fatalf("%d names sampled from %d, want %d", len(names), len(enc.names), maxSweep)
	}
	if slices.Contains(names, "utf_8") {
		t.Error("the sample holds the name the value already spelled")
	}
	// Spread over the directory, not its first names in order.
	if names[0] == "aliases" && names[1] == "ascii" && names[2] == "cp400" {
		t.Errorf("sample is the directory's head: %v", names)
	}
	last := names[len(names)-1]
	if last < "cp500" {
		t.Errorf("sample ends at %s: not spread over the directory", last)
	}
	// The stdlib, of thousands of modules, is sampled as sparingly.
	std := b.ValueDirs("json")
	if len(std) != 1 || len(std[0].SampleNames("json")) != maxSweep {
		t.Fatalf("json: %v", paths(std))
	}
	small := interpreterBook(t, "/srv/app/drivers").ValueDirs("sqlite")[0].SampleNames("sqlite")
	if !slices.Equal(small, []string{"mysql", "oracle", "postgres"}) {
		t.Errorf("a small directory's names: %v", small)
	}
}

func paths(ds []*NameDir) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Path())
	}
	return out
}

func TestValueDirsIgnoresTheBooksOwnNames(t *testing.T) {
	b := interpreterBook(t, "/usr/lib/python3.11/encodings", "/usr/lib/python3.11")
	rng := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		v, ok := b.PickName(rng, "text")
		if !ok {
			t.Fatal("no name")
		}
		if dirs := b.ValueDirs(v); len(dirs) != 0 {
			t.Fatalf("%q, a name the book gave, names %v", v, paths(dirs))
		}
	}
}
