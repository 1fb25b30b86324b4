package rebuild

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// WriteLayer writes files (sorted by path, as Select returns them) as one
// uncompressed layer tar taken from fsys, and returns its digest (which is
// also its DiffID) and size. The output depends only on the image's entries
// and the file list: headers are copied from the image (modes, owners, times,
// xattrs) with access/change times dropped and other PAX records removed,
// contents come from the extracted files, and a group of hardlinks is written
// as one regular file (the first path in order) and links to it.
func WriteLayer(w io.Writer, fsys *ImageFS, files []KeptFile) (v1.Hash, int64, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	tw := tar.NewWriter(cw)
	first := map[string]string{} // canonical inode path -> first kept path written
	for _, kf := range files {
		src, ok := fsys.entries[kf.Path]
		if !ok {
			return v1.Hash{}, 0, fmt.Errorf("writing layer: %s is not in the image", kf.Path)
		}
		hdr := layerHeader(src, kf.Path)
		switch src.Typeflag {
		case tar.TypeReg, tar.TypeLink:
			canon := kf.Path
			if src.Typeflag == tar.TypeLink {
				canon = src.Linkname
				if t, ok := fsys.entries[canon]; ok {
					hdr = layerHeader(t, kf.Path)
				}
			}
			if prev, ok := first[canon]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, strings.TrimPrefix(prev, "/"), 0
				if err := tw.WriteHeader(hdr); err != nil {
					return v1.Hash{}, 0, fmt.Errorf("writing layer: %s: %w", kf.Path, err)
				}
				continue
			}
			first[canon] = kf.Path
			hdr.Typeflag = tar.TypeReg
			if err := tw.WriteHeader(hdr); err != nil {
				return v1.Hash{}, 0, fmt.Errorf("writing layer: %s: %w", kf.Path, err)
			}
			if err := copyContent(tw, fsys, kf.Path, hdr.Size); err != nil {
				return v1.Hash{}, 0, err
			}
		default:
			if err := tw.WriteHeader(hdr); err != nil {
				return v1.Hash{}, 0, fmt.Errorf("writing layer: %s: %w", kf.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("writing layer: %w", err)
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, cw.n, nil
}

func copyContent(w io.Writer, fsys *ImageFS, p string, size int64) error {
	f, err := fsys.openReal(p)
	if err != nil {
		return fmt.Errorf("writing layer: %w", err)
	}
	defer f.Close()
	if _, err := io.CopyN(w, f, size); err != nil {
		return fmt.Errorf("writing layer: %s: %w", p, err)
	}
	return nil
}

// layerHeader is a clean copy of an image header for the layer entry at p.
func layerHeader(src *tar.Header, p string) *tar.Header {
	h := &tar.Header{
		Typeflag: src.Typeflag,
		Name:     strings.TrimPrefix(p, "/"),
		Linkname: src.Linkname,
		Size:     src.Size,
		Mode:     src.Mode,
		Uid:      src.Uid,
		Gid:      src.Gid,
		Uname:    src.Uname,
		Gname:    src.Gname,
		ModTime:  src.ModTime,
		Devmajor: src.Devmajor,
		Devminor: src.Devminor,
	}
	switch src.Typeflag {
	case tar.TypeDir:
		h.Name += "/"
		h.Size = 0
	case tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		h.Size = 0
	}
	for k, v := range src.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords[k] = v
		}
	}
	return h
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileLayer is an uncompressed layer stored in a file: its digest is its
// DiffID and Compressed returns the same bytes (the engine accepts
// uncompressed layers in docker-archive tarballs; no gzip cost).
type fileLayer struct {
	path   string
	diffID v1.Hash
	size   int64
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)           { return l.diffID, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)           { return l.diffID, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	return os.Open(l.path)
}
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.DockerUncompressedLayer, nil }
func (l *fileLayer) remove()                             { _ = os.Remove(l.path) }

// writeLayerFile writes the layer into a temporary file under dir.
func writeLayerFile(fsys *ImageFS, files []KeptFile, dir string) (*fileLayer, error) {
	f, err := os.CreateTemp(dir, "whittle-layer-*.tar")
	if err != nil {
		return nil, fmt.Errorf("creating layer file: %w", err)
	}
	diffID, size, err := WriteLayer(f, fsys, files)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, err
	}
	return &fileLayer{path: f.Name(), diffID: diffID, size: size}, nil
}
