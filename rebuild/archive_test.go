package rebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// savedArchiveBytes builds an archive as Docker 20.10's ImageSave writes it:
// ID/VERSION, ID/json, ID/layer.tar per layer (uncompressed), the config and
// manifest.json last.
func savedArchiveBytes(t testing.TB, layers ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: fixedTime}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	var paths []string
	var diffIDs []v1.Hash
	for i, l := range layers {
		id := strings.Repeat(string(rune('a'+i)), 64)
		if err := tw.WriteHeader(&tar.Header{Name: id + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: fixedTime}); err != nil {
			t.Fatal(err)
		}
		add(id+"/VERSION", []byte("1.0"))
		add(id+"/json", []byte(`{"id":"`+id+`"}`))
		add(id+"/layer.tar", l)
		paths = append(paths, id+"/layer.tar")
		h, _, _ := v1.SHA256(bytes.NewReader(l))
		diffIDs = append(diffIDs, h)
	}
	cf := v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{Entrypoint: []string{"/bin/app"}},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs}}
	cb, _ := json.Marshal(cf)
	add("0123.json", cb)
	mb, _ := json.Marshal([]map[string]any{{"Config": "0123.json", "RepoTags": nil, "Layers": paths}})
	add("manifest.json", mb)
	add("repositories", []byte("{}"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// overlayLayers exercises overlay semantics: whiteouts, opaque directories,
// replacements of every kind, hardlinks across an upper replacement, unsafe
// names and symlinks climbing above the root.
func overlayLayers(t testing.TB) [][]byte {
	lower := makeTar(t, []tarEntry{
		{hdr: tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "bin/app", Typeflag: tar.TypeReg, Mode: 0o755}, body: "app v1"},
		{hdr: tar.Header{Name: "bin/app-hard", Typeflag: tar.TypeLink, Linkname: "bin/app"}},
		{hdr: tar.Header{Name: "bin/keep", Typeflag: tar.TypeReg, Mode: 0o644}, body: "kept"},
		{hdr: tar.Header{Name: "bin/keep-hard", Typeflag: tar.TypeLink, Linkname: "bin/keep"}},
		{hdr: tar.Header{Name: "gone/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "gone/a", Typeflag: tar.TypeReg, Mode: 0o644}, body: "a"},
		{hdr: tar.Header{Name: "opaque/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "opaque/old", Typeflag: tar.TypeReg, Mode: 0o644}, body: "old"},
		{hdr: tar.Header{Name: "dir2file/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "dir2file/x", Typeflag: tar.TypeReg, Mode: 0o644}, body: "x"},
		{hdr: tar.Header{Name: "file2dir", Typeflag: tar.TypeReg, Mode: 0o644}, body: "f"},
		{hdr: tar.Header{Name: "meta/", Typeflag: tar.TypeDir, Mode: 0o700, Uid: 5}},
		{hdr: tar.Header{Name: "meta/child", Typeflag: tar.TypeReg, Mode: 0o644}, body: "child"},
		{hdr: tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../bin/keep"}},
		{hdr: tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644}, body: "evil"},
		{hdr: tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/"}},
		{hdr: tar.Header{Name: "link/through", Typeflag: tar.TypeReg, Mode: 0o644}, body: "through a link"},
	})
	upper := makeTar(t, []tarEntry{
		{hdr: tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "bin/app", Typeflag: tar.TypeReg, Mode: 0o700}, body: "app version 2"},
		{hdr: tar.Header{Name: "bin/late-hard", Typeflag: tar.TypeLink, Linkname: "bin/new"}}, // target later in the tar
		{hdr: tar.Header{Name: "bin/new", Typeflag: tar.TypeReg, Mode: 0o644}, body: "new"},
		{hdr: tar.Header{Name: ".wh.gone", Typeflag: tar.TypeReg, Mode: 0o644}},
		{hdr: tar.Header{Name: "opaque/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "opaque/new", Typeflag: tar.TypeReg, Mode: 0o644}, body: "new"},
		{hdr: tar.Header{Name: "opaque/.wh..wh..opq", Typeflag: tar.TypeReg, Mode: 0o644}},
		{hdr: tar.Header{Name: "dir2file", Typeflag: tar.TypeReg, Mode: 0o644}, body: "now a file"},
		{hdr: tar.Header{Name: "file2dir/", Typeflag: tar.TypeDir, Mode: 0o755}},
		{hdr: tar.Header{Name: "file2dir/y", Typeflag: tar.TypeReg, Mode: 0o644}, body: "y"},
		{hdr: tar.Header{Name: "meta/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 6}},
		{hdr: tar.Header{Name: ".wh..wh.plnk/", Typeflag: tar.TypeDir, Mode: 0o700}},
		{hdr: tar.Header{Name: "bin/.wh.nothing-there", Typeflag: tar.TypeReg, Mode: 0o644}},
	})
	return [][]byte{lower, upper}
}

func checkOverlay(t *testing.T, f *ImageFS) {
	t.Helper()
	got := strings.Join(f.Paths(), " ")
	want := "/ /bin /bin/app /bin/app-hard /bin/keep /bin/keep-hard /bin/late-hard /bin/new /dir2file /file2dir /file2dir/y " +
		"/link /meta /meta/child /opaque /opaque/new /up"
	if got != want {
		t.Errorf("paths = %s\nwant    %s", got, want)
	}
	un := append([]string(nil), f.Unextracted()...)
	sort.Strings(un)
	if strings.Join(un, " ") != "../evil link/through" {
		t.Errorf("unextracted = %q", un)
	}
	read := func(p string) string {
		b, err := f.ReadFile(p)
		if err != nil {
			return "error: " + err.Error()
		}
		return string(b)
	}
	for p, want := range map[string]string{
		"/bin/app":       "app version 2",
		"/bin/app-hard":  "app v1", // its target was replaced above: it keeps its own content
		"/bin/keep-hard": "kept",
		"/bin/late-hard": "new",
		"/dir2file":      "now a file",
		"/up":            "kept", // climbs above the root: clamped like the kernel does
		"/meta/child":    "child",
	} {
		if got := read(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if h, _ := f.Lookup("/bin/app-hard"); h.Typeflag != tar.TypeReg || h.Mode != 0o755 || h.Size != 6 {
		t.Errorf("orphaned hardlink %+v", h)
	}
	if h, _ := f.Lookup("/bin/keep-hard"); h.Typeflag != tar.TypeLink || h.Linkname != "/bin/keep" {
		t.Errorf("hardlink %+v", h)
	}
	if h, _ := f.Lookup("/bin/late-hard"); h.Typeflag != tar.TypeLink || h.Linkname != "/bin/new" {
		t.Errorf("hardlink before its target %+v", h)
	}
	if h, _ := f.Lookup("/meta"); h.Mode != 0o750 || h.Uid != 6 {
		t.Errorf("directory metadata not from the upper layer: %+v", h)
	}
	if h, _ := f.Lookup("/up"); h.Linkname != "../../../../bin/keep" {
		t.Errorf("symlink rewritten: %+v", h)
	}
	if f.Config == nil || f.Config.Config.Entrypoint[0] != "/bin/app" {
		t.Errorf("config %+v", f.Config)
	}
	// The layer written from the view holds what the view reads.
	pl := Select(f, []Need{{Path: "/bin/app-hard", Reason: "traced:open"}, {Path: "/bin/keep-hard", Reason: "traced:open"}, {Path: "/up", Reason: "traced:open"}}, WithHeuristics())
	var b bytes.Buffer
	if _, _, err := WriteLayer(&b, f, pl.Files); err != nil {
		t.Fatal(err)
	}
	g := openLayers(t, b.Bytes())
	for _, p := range []string{"/bin/app-hard", "/bin/keep-hard", "/bin/keep", "/up"} {
		want := read(p)
		if b, err := g.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("layer %s = %q, %v; want %q", p, b, err, want)
		}
	}
}

func TestOpenArchive(t *testing.T) {
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(file, savedArchiveBytes(t, overlayLayers(t)...), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenArchive(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.srcs) != 1 {
		t.Errorf("%d sources: layers were not read in place", len(f.srcs))
	}
	checkOverlay(t, f)
}

// The streaming export (tee to disk while indexing) gives the same view and
// a byte-identical archive; Close removes its directory.
func TestExportStream(t *testing.T) {
	data := savedArchiveBytes(t, overlayLayers(t)...)
	work := filepath.Join(t.TempDir(), "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	// One byte per read: offsets must not depend on how the stream is cut.
	f, err := exportStream(context.Background(), io.LimitReader(oneByteReader{bytes.NewReader(data)}, int64(len(data))), work)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(work, "image.tar")); err != nil || !bytes.Equal(b, data) {
		t.Errorf("archive copy differs (%d vs %d bytes): %v", len(b), len(data), err)
	}
	checkOverlay(t, f)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("work directory left behind: %v", err)
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// Compressed layers (as go-containerregistry writes them) are decompressed
// into a spill file, with the same result.
func TestOpenArchiveCompressedLayers(t *testing.T) {
	img := empty.Image
	for _, l := range overlayLayers(t) {
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(l)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Entrypoint = []string{"/bin/app"}
	img, _ = mutate.ConfigFile(img, cf)
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(file, name.MustParseReference("x/y:z"), img); err != nil {
		t.Fatal(err)
	}
	f, err := OpenArchive(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.srcs) != 2 {
		t.Errorf("%d sources, want the archive and a spill file", len(f.srcs))
	}
	checkOverlay(t, f)
}

func TestOpenArchiveErrors(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"empty":       nil,
		"not a tar":   []byte("hello"),
		"no manifest": makeTar(t, []tarEntry{{hdr: tar.Header{Name: "x", Typeflag: tar.TypeReg, Mode: 0o644}, body: "x"}}),
	} {
		file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if f, err := OpenArchive(context.Background(), file); err == nil {
			f.Close()
			t.Errorf("%s: no error", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	file := filepath.Join(dir, "ok.tar")
	if err := os.WriteFile(file, savedArchiveBytes(t, overlayLayers(t)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := OpenArchive(ctx, file); err == nil {
		f.Close()
		t.Error("cancelled context: no error")
	}
}

func TestIsTarBlock(t *testing.T) {
	tb := makeTar(t, []tarEntry{{hdr: tar.Header{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644}, body: "a"}})
	if !isTarBlock(tb[:blockSize]) || !isTarBlock(make([]byte, blockSize)) {
		t.Error("tar header not recognised")
	}
	bad := append([]byte(nil), tb[:blockSize]...)
	bad[0] ^= 1
	if isTarBlock(bad) || isTarBlock([]byte("\x1f\x8b\x08")) {
		t.Error("not a tar accepted")
	}
}

// FuzzIndexLayers feeds arbitrary bytes to the archive index (as a whole
// saved archive) and, as a layer tar, to the layer index and the flattener
// (twice, so that every entry replaces itself): never a panic, and the view
// is consistent: clean paths, directories as parents, hardlinks to regular
// files, every regular file readable to its size.
func FuzzIndexLayers(f *testing.F) {
	for _, l := range overlayLayers(f) {
		f.Add(l)
	}
	f.Add(sampleTar(f))
	f.Add(savedArchiveBytes(f, overlayLayers(f)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := context.Background()
		if sa, err := indexSavedArchive(ctx, bytes.NewReader(b)); err == nil {
			for name, m := range sa.members {
				if m.off < 0 || m.off+m.size > int64(len(b)) {
					t.Fatalf("member %s out of bounds: %+v", name, m)
				}
			}
		}
		li, err := indexLayerTar(ctx, bytes.NewReader(b), 0)
		if err != nil || li == nil {
			return
		}
		fs := &ImageFS{srcs: []io.ReaderAt{bytes.NewReader(b)}}
		if err := fs.flatten(ctx, []*layerIndex{li, li}, 0); err != nil {
			t.Fatal(err)
		}
		for _, p := range fs.Paths() {
			h, _ := fs.Lookup(p)
			if p != cleanAbs(p) {
				t.Fatalf("unclean path %q", p)
			}
			if p != "/" {
				if ph, ok := fs.Lookup(parentDir(p)); !ok || ph.Typeflag != tar.TypeDir {
					t.Fatalf("%s: parent is not a directory", p)
				}
			}
			switch h.Typeflag {
			case tar.TypeLink:
				if th, ok := fs.Lookup(h.Linkname); !ok || th.Typeflag != tar.TypeReg {
					t.Fatalf("%s: hardlink to %q, not a regular file", p, h.Linkname)
				}
				fallthrough
			case tar.TypeReg:
				fh, err := fs.openReal(p)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if n, err := io.Copy(io.Discard, fh); err != nil || n != h.Size {
					t.Fatalf("%s: read %d of %d bytes: %v", p, n, h.Size, err)
				}
				fh.Close()
			}
		}
	})
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}
