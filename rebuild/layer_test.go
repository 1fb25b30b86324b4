package rebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type tarEntry struct {
	hdr  tar.Header
	body string
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = fixedTime
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var dirTime = time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)

func sampleTar(t testing.TB) []byte {
	return makeTar(t, []tarEntry{
		{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1, Gid: 2, ModTime: dirTime}},
		{hdr: tar.Header{Name: "a/f", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 3, Gid: 4, Uname: "u", Gname: "g",
			PAXRecords: map[string]string{"SCHILY.xattr.user.test": "v", "LIBARCHIVE.creationtime": "1"}}, body: "content"},
		{hdr: tar.Header{Name: "a/l", Typeflag: tar.TypeSymlink, Linkname: "f"}},
		{hdr: tar.Header{Name: "early", Typeflag: tar.TypeLink, Linkname: "c"}}, // target comes later
		{hdr: tar.Header{Name: "dangling-hard", Typeflag: tar.TypeLink, Linkname: "nowhere"}},
		{hdr: tar.Header{Name: "a/h", Typeflag: tar.TypeLink, Linkname: "a/f", Mode: 0o640}},
		{hdr: tar.Header{Name: "a/suid", Typeflag: tar.TypeReg, Mode: 0o4755}, body: "#!/bin/sh\n"},
		{hdr: tar.Header{Name: "srv/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}},
		{hdr: tar.Header{Name: "./b/../c", Typeflag: tar.TypeReg, Mode: 0o644}, body: "c"},
		{hdr: tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644}, body: "evil"},
		{hdr: tar.Header{Name: "a/l/x", Typeflag: tar.TypeReg, Mode: 0o644}, body: "under a link"},
		{hdr: tar.Header{Name: "esc", Typeflag: tar.TypeSymlink, Linkname: "/"}},
		{hdr: tar.Header{Name: "esc/evil2", Typeflag: tar.TypeReg, Mode: 0o644}, body: "through a link"},
		{hdr: tar.Header{Name: "deep/x/y", Typeflag: tar.TypeReg, Mode: 0o644}, body: "y"},
		{hdr: tar.Header{Name: "ro/", Typeflag: tar.TypeDir, Mode: 0o555}},
		{hdr: tar.Header{Name: "ro/file", Typeflag: tar.TypeReg, Mode: 0o444}, body: "ro"},
	})
}

// openLayers is the view the build reads: the layers in an archive as the
// engine saves an image, opened with OpenArchive.
func openLayers(t *testing.T, layers ...[]byte) *ImageFS {
	t.Helper()
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(file, savedArchiveBytes(t, layers...), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenArchive(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// One layer of every kind of entry, unsafe ones included: the view indexes
// what a container would see and skips what leaves the root or goes through
// a non-directory.
func TestSingleLayerView(t *testing.T) {
	f := openLayers(t, sampleTar(t))
	got := strings.Join(f.Paths(), " ")
	want := "/ /a /a/f /a/h /a/l /a/suid /c /deep /deep/x /deep/x/y /early /esc /ro /ro/file /srv /srv/null"
	if got != want {
		t.Errorf("paths = %s\nwant    %s", got, want)
	}
	un := f.Unextracted()
	sort.Strings(un)
	if strings.Join(un, " ") != "../evil a/l/x dangling-hard esc/evil2" {
		t.Errorf("unextracted = %q", un)
	}
	if b, err := f.ReadFile("/a/f"); err != nil || string(b) != "content" {
		t.Errorf("a/f = %q, %v", b, err)
	}
	h, _ := f.Lookup("/a/f")
	if h.Uid != 3 || h.Uname != "u" || h.PAXRecords["SCHILY.xattr.user.test"] != "v" {
		t.Errorf("a/f header %+v", h)
	}
	if h, _ := f.Lookup("/a/h"); h.Typeflag != tar.TypeLink || h.Linkname != "/a/f" || h.Size != 7 {
		t.Errorf("hardlink header %+v", h)
	}
	if b, err := f.ReadFile("/a/h"); err != nil || string(b) != "content" {
		t.Errorf("a/h = %q, %v: a hardlink reads its target's content", b, err)
	}
	if h, ok := f.Lookup("/srv/null"); !ok || h.Devminor != 3 {
		t.Error("device node not indexed")
	}
	if h, _ := f.Lookup("/a"); h.Mode&0o777 != 0o750 || !h.ModTime.Equal(dirTime) || h.Uid != 1 {
		t.Errorf("directory metadata %+v", h)
	}
	if h, _ := f.Lookup("/a/suid"); h.FileInfo().Mode()&os.ModeSetuid == 0 {
		t.Errorf("setuid lost: %v", h.FileInfo().Mode())
	}
	if h, _ := f.Lookup("/deep/x"); h.Typeflag != tar.TypeDir || !h.ModTime.Equal(epoch) {
		t.Errorf("implied dir %+v", h)
	}
	if b, err := f.ReadFile("/a/l"); err != nil || string(b) != "content" {
		t.Errorf("read through symlink: %q %v", b, err)
	}
	if _, err := f.ReadFile("/esc/a/f"); err != nil {
		t.Errorf("absolute symlink to / must resolve inside the image: %v", err)
	}
	if _, err := f.ReadFile("/a"); err == nil {
		t.Error("reading a directory as a file")
	}
}

func readLayer(t *testing.T, b []byte) []*tar.Header {
	t.Helper()
	var out []*tar.Header
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

func TestWriteLayerDeterministic(t *testing.T) {
	f := openLayers(t, sampleTar(t))
	pl := Select(f, []Need{
		{Path: "/a/h", Reason: "traced:open"},
		{Path: "/a/l", Reason: "traced:open"},
		{Path: "/srv/null", Reason: "traced:open"},
		{Path: "/deep/x/y", Reason: "traced:open"},
		{Path: "/ro/file", Reason: "traced:open"},
	}, WithHeuristics())
	var b1, b2 bytes.Buffer
	d1, n1, err := WriteLayer(&b1, f, pl.Files)
	if err != nil {
		t.Fatal(err)
	}
	d2, n2, err := WriteLayer(&b2, f, pl.Files)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 || n1 != n2 || !bytes.Equal(b1.Bytes(), b2.Bytes()) || n1 != int64(b1.Len()) {
		t.Fatalf("layer not deterministic: %s/%d vs %s/%d", d1, n1, d2, n2)
	}
	hs := readLayer(t, b1.Bytes())
	var names []string
	byName := map[string]*tar.Header{}
	for _, h := range hs {
		names = append(names, h.Name)
		byName[h.Name] = h
		if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s carries atime/ctime", h.Name)
		}
	}
	want := "a/ a/f a/h a/l deep/ deep/x/ deep/x/y ro/ ro/file srv/ srv/null"
	if strings.Join(names, " ") != want {
		t.Errorf("layer entries = %s\nwant            %s", strings.Join(names, " "), want)
	}
	if h := byName["a/f"]; h.Typeflag != tar.TypeReg || h.Size != 7 || h.Uid != 3 || h.Uname != "u" ||
		h.PAXRecords["SCHILY.xattr.user.test"] != "v" || h.PAXRecords["LIBARCHIVE.creationtime"] != "" {
		t.Errorf("a/f = %+v", h)
	}
	if h := byName["a/h"]; h.Typeflag != tar.TypeLink || h.Linkname != "a/f" {
		t.Errorf("a/h = %+v", h)
	}
	if h := byName["a/"]; h.Mode != 0o750 || !h.ModTime.Equal(dirTime) || h.Uid != 1 {
		t.Errorf("a/ = %+v", h)
	}
	if h := byName["srv/null"]; h.Typeflag != tar.TypeChar || h.Devmajor != 1 || h.Devminor != 3 {
		t.Errorf("dev/null = %+v", h)
	}
	if h := byName["ro/"]; h.Mode != 0o555 {
		t.Errorf("ro/ = %+v", h)
	}

	// Only the hardlink kept: it is written as a regular file.
	only := []KeptFile{{Path: "/a"}, {Path: "/a/h"}}
	var b3 bytes.Buffer
	if _, _, err := WriteLayer(&b3, f, only); err != nil {
		t.Fatal(err)
	}
	if hs := readLayer(t, b3.Bytes()); len(hs) != 2 || hs[1].Typeflag != tar.TypeReg || hs[1].Size != 7 {
		t.Errorf("lone hardlink: %+v", hs[1])
	}

	// Round trip: the layer extracts to the same index.
	g := openLayers(t, b1.Bytes())
	for _, kf := range pl.Files {
		h1, _ := f.Lookup(kf.Path)
		h2, ok := g.Lookup(kf.Path)
		if !ok || h1.Mode != h2.Mode || h1.Typeflag != h2.Typeflag || !h1.ModTime.Equal(h2.ModTime) || h1.Uid != h2.Uid {
			t.Errorf("%s: %+v vs %+v", kf.Path, h1, h2)
		}
	}
}
