package rebuild

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ImageFS is a read-only view of an image's flattened filesystem: an index of
// the tar headers of every entry (the truth for metadata: modes, owners, times,
// xattrs, link targets) and where contents are: byte ranges of the image
// archive the engine saved (ExportImage, OpenArchive) or files on disk
// (OpenDir). Paths are absolute and clean ("/usr/bin/x");
// symbolic links are never followed implicitly: use Resolve.
type ImageFS struct {
	Dir    string         // directory holding the files on disk; "" when contents come from an archive
	Ref    string         // image reference it was exported from ("" for OpenDir)
	ID     string         // image ID as the engine reports it
	Size   int64          // image size as the engine reports it
	Config *v1.ConfigFile // image config (nil for OpenDir unless set by the caller)

	entries map[string]*tar.Header // "/usr/bin/x" -> header (Name rewritten to the key)
	extents map[string]extent      // regular files and hardlinks of archive-backed views: where their bytes are
	srcs    []io.ReaderAt          // sources of extents
	closers []io.Closer            // files behind srcs
	sorted  []string               // keys of entries, sorted
	skipped []string               // tar entries not materialised (unsafe, conflicting)
	root    *os.Root
	owned   string // directory to remove on Close
}

// File is an open regular file of an image.
type File interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

// epoch is the modification time given to directories that the image's tar
// implies but does not carry; fixed so that layers are deterministic.
var epoch = time.Unix(0, 0).UTC()

// ExportImage exports the pristine filesystem of image ref from the engine.
// The engine's ImageSave stream is copied to a temporary file (under
// WithWorkDir's directory) while the headers of its layer tars are indexed;
// the layers are flattened as overlayfs does (whiteouts and opaque
// directories applied) and contents are read from the saved archive on
// demand: no file is extracted. Entries with unsafe names (climbing above the
// root) or beneath a non-directory are skipped (see Unextracted); symbolic
// links are kept as written, whatever they point to (Resolve clamps them to
// the root like the kernel does). Should the engine save compressed layers,
// they are decompressed once into a second file. Close removes both.
func ExportImage(ctx context.Context, cli client.ImageAPIClient, ref string, opts ...Option) (*ImageFS, error) {
	cfg := newConfig(opts)
	insp, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s", ErrImageNotFound, ref)
		}
		return nil, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	work, err := os.MkdirTemp(cfg.workDir, "whittle-export-")
	if err != nil {
		return nil, fmt.Errorf("creating export directory: %w", err)
	}
	rc, err := cli.ImageSave(ctx, []string{insp.ID})
	if err != nil {
		_ = os.RemoveAll(work)
		return nil, fmt.Errorf("saving image %s: %w", ref, err)
	}
	fsys, err := exportStream(ctx, rc, work)
	_ = rc.Close()
	if err != nil {
		_ = os.RemoveAll(work)
		return nil, fmt.Errorf("exporting image %s: %w", ref, err)
	}
	fsys.Ref, fsys.ID, fsys.Size = ref, insp.ID, insp.Size
	return fsys, nil
}

// exportStream copies an ImageSave stream into work/image.tar while indexing
// it, and returns the view over it; Close removes work.
func exportStream(ctx context.Context, r io.Reader, work string) (*ImageFS, error) {
	archive := filepath.Join(work, "image.tar")
	file, err := os.Create(archive)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(file, 1<<20)
	sa, err := indexSavedArchive(ctx, bufio.NewReaderSize(io.TeeReader(r, bw), 1<<20))
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	f, err := openSaved(ctx, sa, file, archive, work)
	if err != nil {
		_ = file.Close()
		return nil, err
	}
	f.owned = work
	return f, nil
}

// OpenArchive indexes an image archive as "docker save" writes it (one
// image) and reads contents from it on demand. The file must stay in place
// until Close, which does not remove it.
func OpenArchive(ctx context.Context, archive string) (*ImageFS, error) {
	file, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	sa, err := indexSavedArchive(ctx, bufio.NewReaderSize(file, 1<<20))
	if err == nil {
		var f *ImageFS
		if f, err = openSaved(ctx, sa, file, archive, ""); err == nil {
			return f, nil
		}
	}
	_ = file.Close()
	return nil, fmt.Errorf("opening %s: %w", archive, err)
}

// openSaved flattens the layers of an indexed archive. Layers stored
// uncompressed are read in place; otherwise every layer is decompressed into
// a spill file under spillDir (the system's temporary directory when "").
func openSaved(ctx context.Context, sa *savedArchive, file *os.File, archive, spillDir string) (*ImageFS, error) {
	f := &ImageFS{srcs: []io.ReaderAt{file}, closers: []io.Closer{file}}
	m, cf, err := sa.manifest(file)
	if err != nil {
		return nil, err
	}
	layers, ok := sa.inPlaceLayers(m)
	if !ok {
		spill, err := os.CreateTemp(spillDir, "whittle-contents-*")
		if err != nil {
			return nil, err
		}
		_ = os.Remove(spill.Name()) // unlinked: gone with the last handle
		f.srcs, f.closers = append(f.srcs, spill), append(f.closers, spill)
		if layers, cf, err = spillLayers(ctx, archive, spill); err != nil {
			_ = spill.Close()
			return nil, err
		}
	}
	if err := f.flatten(ctx, layers, len(f.srcs)-1); err != nil {
		f.closeSources()
		return nil, err
	}
	f.Config = cf
	return f, nil
}

func (f *ImageFS) closeSources() {
	for _, c := range f.closers {
		_ = c.Close()
	}
	f.srcs, f.closers = nil, nil
}

// finish adds the directories that the tar implies but does not carry and
// sorts the index.
func (f *ImageFS) finish() {
	if _, ok := f.entries["/"]; !ok {
		f.entries["/"] = &tar.Header{Name: "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}
	}
	for k := range f.entries {
		for d := path.Dir(k); d != "/"; d = path.Dir(d) {
			if _, ok := f.entries[d]; ok {
				break
			}
			f.entries[d] = &tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}
		}
	}
	f.sorted = make([]string, 0, len(f.entries))
	for k := range f.entries {
		f.sorted = append(f.sorted, k)
	}
	sort.Strings(f.sorted)
}

// OpenDir indexes an existing directory tree as an image filesystem (tests,
// unpacked root filesystems). Close does not remove it.
func OpenDir(dir string) (*ImageFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	f := &ImageFS{Dir: dir, root: root, entries: map[string]*tar.Header{}}
	type ino struct{ dev, ino uint64 }
	seen := map[ino]string{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		key := "/"
		if rel != "." {
			key = "/" + filepath.ToSlash(rel)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return nil // sockets and the like
		}
		h.Name = key
		h.Uname, h.Gname = "", ""
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			h.Uid, h.Gid = int(st.Uid), int(st.Gid)
			if fi.Mode().IsRegular() && st.Nlink > 1 {
				id := ino{uint64(st.Dev), uint64(st.Ino)}
				if first, ok := seen[id]; ok {
					h.Typeflag, h.Linkname = tar.TypeLink, first
				} else {
					seen[id] = key
				}
			}
		}
		f.entries[key] = h
		return nil
	})
	if err != nil {
		_ = root.Close()
		return nil, fmt.Errorf("indexing %s: %w", dir, err)
	}
	f.finish()
	return f, nil
}

// Close releases the files and directory handles and removes what
// ExportImage wrote.
func (f *ImageFS) Close() error {
	if f == nil {
		return nil
	}
	if f.root != nil {
		_ = f.root.Close()
	}
	f.closeSources()
	if f.owned != "" {
		// Directories may have been made read-only by the image's modes.
		_ = filepath.WalkDir(f.owned, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
		return os.RemoveAll(f.owned)
	}
	return nil
}

// Lookup returns the header of the entry at p (not following symlinks).
func (f *ImageFS) Lookup(p string) (*tar.Header, bool) {
	h, ok := f.entries[path.Clean("/"+p)]
	return h, ok
}

// Paths returns every indexed path, sorted.
func (f *ImageFS) Paths() []string { return f.sorted }

// Unextracted lists tar entries that were not materialised (unsafe names,
// entries beneath non-directories, hardlinks to missing files).
func (f *ImageFS) Unextracted() []string { return f.skipped }

// Under returns the indexed paths strictly beneath directory dir, sorted.
func (f *ImageFS) Under(dir string) []string {
	dir = path.Clean("/" + dir)
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	i := sort.SearchStrings(f.sorted, prefix)
	j := i
	for j < len(f.sorted) && strings.HasPrefix(f.sorted[j], prefix) {
		j++
	}
	return f.sorted[i:j]
}

// ReadDir returns the names of the direct children of directory dir.
func (f *ImageFS) ReadDir(dir string) []string {
	var out []string
	base := path.Clean("/" + dir)
	for _, p := range f.Under(base) {
		if path.Dir(p) == base {
			out = append(out, path.Base(p))
		}
	}
	return out
}

// Open opens the regular file at p, following symlinks inside the image only.
func (f *ImageFS) Open(p string) (File, error) {
	res, err := f.Resolve(p)
	if err != nil {
		return nil, err
	}
	return f.openReal(res.Path)
}

// openReal opens a path that Resolve returned (no symlink on it).
func (f *ImageFS) openReal(p string) (File, error) {
	h, ok := f.entries[p]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeLink:
	default:
		return nil, &fs.PathError{Op: "open", Path: p, Err: errors.New("not a regular file")}
	}
	if e, ok := f.extents[p]; ok {
		return sectionFile{io.NewSectionReader(f.srcs[e.src], e.off, h.Size)}, nil
	}
	if f.root == nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	return f.root.Open(strings.TrimPrefix(p, "/"))
}

// sectionFile is a file whose bytes are a range of an archive.
type sectionFile struct{ *io.SectionReader }

func (sectionFile) Close() error { return nil }

// ReadFile reads the file at p, following symlinks inside the image only.
func (f *ImageFS) ReadFile(p string) ([]byte, error) {
	fh, err := f.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(fh)
}

// readHead reads up to n bytes from the start of the real file p.
func (f *ImageFS) readHead(p string, n int) []byte {
	fh, err := f.openReal(p)
	if err != nil {
		return nil
	}
	defer fh.Close()
	buf := make([]byte, n)
	m, _ := io.ReadFull(fh, buf)
	return buf[:m]
}

// Glob returns the indexed paths matching pattern (path.Match syntax applied
// to whole absolute paths, "*" never crossing "/"), following symlinks in the
// pattern's literal directory prefix.
func (f *ImageFS) Glob(pattern string) ([]string, error) {
	pattern = path.Clean("/" + pattern)
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, err
	}
	// Resolve the literal directory prefix so that globs through symlinked
	// directories (e.g. /lib/*.so under merged /usr) match.
	dir, rest := literalPrefix(pattern)
	if dir != "/" {
		if res, err := f.Resolve(dir); err == nil {
			dir = res.Path
		} else {
			return nil, nil
		}
	}
	full := path.Join(dir, rest)
	var out []string
	for _, p := range f.Under(dir) {
		if ok, _ := path.Match(full, p); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// literalPrefix splits a clean absolute pattern into its longest directory
// prefix without glob metacharacters and the rest.
func literalPrefix(pattern string) (dir, rest string) {
	parts := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	i := 0
	for i < len(parts)-1 && !strings.ContainsAny(parts[i], `*?[\`) {
		i++
	}
	return "/" + strings.Join(parts[:i], "/"), strings.Join(parts[i:], "/")
}
