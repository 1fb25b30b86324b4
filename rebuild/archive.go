package rebuild

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// An image saved by the engine (ImageSave, "docker save") is a tar holding
// the image's layers as tars of their own: "ID/layer.tar" members (Docker
// before 25), or "blobs/sha256/HEX" members (Docker 25+, OCI layout), plus
// the config and manifest.json naming the layers in order. The engine writes
// the layers uncompressed, so every file of the image lies, as is, at a fixed
// offset of the saved archive: indexing the headers while the archive streams
// to disk gives the whole filesystem without writing any file but the
// archive, and contents are read from it on demand.

// member is a regular entry of the saved archive: where its bytes are.
type member struct{ off, size int64 }

// layerIndex lists the entries of one layer tar, in tar order.
type layerIndex struct {
	entries []layerEntry
}

// layerEntry is one header of a layer tar and, for regular files, the offset
// of its content in the source it was indexed from.
type layerEntry struct {
	hdr *tar.Header
	off int64
}

// savedArchive indexes an archive as ImageSave writes it.
type savedArchive struct {
	members map[string]member
	layers  map[string]*layerIndex // uncompressed layer tars, by member name
}

// countingReader counts the bytes read through it: the position in the
// stream, since the tar readers above never read ahead.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// indexSavedArchive reads an ImageSave stream to its end and indexes its
// members and the headers of every member that is an uncompressed tar (the
// layers; other members are kept as byte ranges). Offsets are positions in
// the stream, i.e. in a file holding a copy of it.
func indexSavedArchive(ctx context.Context, r io.Reader) (*savedArchive, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	sa := &savedArchive{members: map[string]member{}, layers: map[string]*layerIndex{}}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading saved image: %w", err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		name := path.Clean(h.Name)
		sa.members[name] = member{off: cr.n, size: h.Size}
		if h.Size >= 2*blockSize && (path.Base(name) == "layer.tar" || strings.HasPrefix(name, "blobs/") || strings.HasSuffix(name, ".tar")) {
			if li, err := indexLayerTar(ctx, tr, cr.n); err != nil {
				return nil, err
			} else if li != nil {
				sa.layers[name] = li
			}
		}
	}
	// The end-of-archive blocks: the copy on disk must be whole.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("reading saved image: %w", err)
	}
	return sa, nil
}

const blockSize = 512

// indexLayerTar indexes the tar read from r, whose first byte is at offset
// base of the archive. It returns nil (and no error) when r is not an
// uncompressed tar whose contents are stored in place: compressed, sparse
// entries, or malformed. Errors are those of the context only.
func indexLayerTar(ctx context.Context, r io.Reader, base int64) (*layerIndex, error) {
	var head [blockSize]byte
	if _, err := io.ReadFull(r, head[:]); err != nil || !isTarBlock(head[:]) {
		return nil, nil
	}
	inner := &countingReader{r: io.MultiReader(bytes.NewReader(head[:]), r)}
	tr := tar.NewReader(inner)
	li := &layerIndex{}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return li, nil
		}
		if err != nil || isSparse(h) {
			return nil, nil
		}
		li.entries = append(li.entries, layerEntry{hdr: h, off: base + inner.n})
	}
}

// isTarBlock reports whether b (one block) starts a tar: a header whose
// checksum is right, or the zero block of an empty archive.
func isTarBlock(b []byte) bool {
	if len(b) < blockSize {
		return false
	}
	if bytes.Count(b[:blockSize], []byte{0}) == blockSize {
		return true
	}
	field := strings.TrimRight(strings.TrimLeft(string(b[148:156]), " \x00"), " \x00")
	want, err := strconv.ParseInt(field, 8, 64)
	if err != nil {
		return false
	}
	var unsigned, signed int64
	for i, c := range b[:blockSize] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		unsigned += int64(c)
		signed += int64(int8(c))
	}
	return want == unsigned || want == signed
}

// isSparse reports whether the content of h is not stored as is.
func isSparse(h *tar.Header) bool {
	if h.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// dockerManifest is one element of a saved archive's manifest.json.
type dockerManifest struct {
	Config string
	Layers []string
}

// manifest reads the saved archive's manifest.json and config.
func (sa *savedArchive) manifest(src io.ReaderAt) (*dockerManifest, *v1.ConfigFile, error) {
	m, ok := sa.members["manifest.json"]
	if !ok {
		return nil, nil, errors.New("saved image has no manifest.json")
	}
	var ms []dockerManifest
	if err := json.NewDecoder(io.NewSectionReader(src, m.off, m.size)).Decode(&ms); err != nil {
		return nil, nil, fmt.Errorf("reading manifest.json: %w", err)
	}
	if len(ms) != 1 {
		return nil, nil, fmt.Errorf("saved image has %d manifests, want 1", len(ms))
	}
	c, ok := sa.members[path.Clean(ms[0].Config)]
	if !ok {
		return nil, nil, fmt.Errorf("saved image lacks its config %s", ms[0].Config)
	}
	cf, err := v1.ParseConfigFile(io.NewSectionReader(src, c.off, c.size))
	if err != nil {
		return nil, nil, fmt.Errorf("reading config %s: %w", ms[0].Config, err)
	}
	return &ms[0], cf, nil
}

// inPlaceLayers returns the index of every layer of m, bottom first, or
// false when one of them is not an uncompressed tar of the archive.
func (sa *savedArchive) inPlaceLayers(m *dockerManifest) ([]*layerIndex, bool) {
	out := make([]*layerIndex, 0, len(m.Layers))
	for _, l := range m.Layers {
		li, ok := sa.layers[path.Clean(l)]
		if !ok {
			return nil, false
		}
		out = append(out, li)
	}
	return out, true
}

// spillLayers indexes the layers of the image saved at archive through
// go-containerregistry (which decompresses them), copying the contents of
// regular files into spill: the fallback for archives whose layers are not
// stored uncompressed.
func spillLayers(ctx context.Context, archive string, spill *os.File) ([]*layerIndex, *v1.ConfigFile, error) {
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("reading saved image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("reading config: %w", err)
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, nil, fmt.Errorf("reading layers: %w", err)
	}
	var out []*layerIndex
	for i, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, nil, fmt.Errorf("reading layer %d: %w", i, err)
		}
		li, err := spillLayer(ctx, rc, spill)
		_ = rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("reading layer %d: %w", i, err)
		}
		out = append(out, li)
	}
	return out, cf, nil
}

// maxSparseSize bounds the size of a sparse file (never written by engines)
// that spillLayer expands; larger ones are indexed without content and
// skipped, rather than filling the disk with the zeros of their holes.
var maxSparseSize int64 = 1 << 30

// spillLayer indexes the layer tar r, appending the contents of its regular
// files to spill.
func spillLayer(ctx context.Context, r io.Reader, spill *os.File) (*layerIndex, error) {
	tr := tar.NewReader(r)
	li := &layerIndex{}
	off, err := spill.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return li, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			li.entries = append(li.entries, layerEntry{hdr: h, off: off})
			continue
		}
		if h.Size > maxSparseSize && isSparse(h) {
			li.entries = append(li.entries, layerEntry{hdr: h, off: -1})
			continue
		}
		li.entries = append(li.entries, layerEntry{hdr: h, off: off})
		if _, err := io.CopyN(spill, tr, h.Size); err != nil {
			return nil, err
		}
		off += h.Size
	}
}
