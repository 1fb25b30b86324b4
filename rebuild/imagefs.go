package rebuild

import (
	"archive/tar"
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
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ImageFS is a read-only view of an image's flattened filesystem: an index of
// the tar headers of every entry (the truth for metadata: modes, owners, times,
// xattrs, link targets) and a directory holding the extracted files (the truth
// for contents). Paths are absolute and clean ("/usr/bin/x"); symbolic links
// are never followed implicitly: use Resolve.
type ImageFS struct {
	Dir    string         // directory holding the extracted files
	Ref    string         // image reference it was exported from ("" for OpenDir)
	ID     string         // image ID as the engine reports it
	Size   int64          // image size as the engine reports it
	Config *v1.ConfigFile // image config (nil for OpenDir unless set by the caller)

	entries map[string]*tar.Header // "/usr/bin/x" -> header (Name rewritten to the key)
	sorted  []string               // keys of entries, sorted
	skipped []string               // tar entries not materialised (unsafe, conflicting)
	pending []*tar.Header          // hardlinks met before their target (non-nil while extracting)
	made    map[string]bool        // directories created on disk while extracting (relative)
	dirs    map[string]*os.Root    // cached directory handles while extracting
	root    *os.Root
	owned   string // directory to remove on Close
}

// epoch is the modification time given to directories that the image's tar
// implies but does not carry; fixed so that layers are deterministic.
var epoch = time.Unix(0, 0).UTC()

// ExportImage exports the pristine filesystem of image ref from the engine:
// ImageSave, read as a docker-archive with go-containerregistry, layers
// flattened with mutate.Extract (whiteouts applied) and extracted into a
// temporary directory (under WithWorkDir's directory) preserving modes, owners
// (when root), times, symlinks and hardlinks. Device nodes and FIFOs are
// indexed but not created on disk. Close removes the directory.
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
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(work)
		}
	}()

	archive := filepath.Join(work, "image.tar")
	if err := saveImage(ctx, cli, insp.ID, archive); err != nil {
		return nil, fmt.Errorf("saving image %s: %w", ref, err)
	}
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		return nil, fmt.Errorf("reading saved image %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config of %s: %w", ref, err)
	}
	rootDir := filepath.Join(work, "rootfs")
	if err := os.Mkdir(rootDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating rootfs directory: %w", err)
	}
	flat := mutate.Extract(img)
	fsys, err := extractInto(ctx, flat, rootDir)
	_ = flat.Close()
	if err != nil {
		return nil, fmt.Errorf("extracting image %s: %w", ref, err)
	}
	_ = os.Remove(archive)
	fsys.Ref, fsys.ID, fsys.Size, fsys.Config = ref, insp.ID, insp.Size, cf
	fsys.owned = work
	ok = true
	return fsys, nil
}

func saveImage(ctx context.Context, cli client.ImageAPIClient, id, dst string) error {
	rc, err := cli.ImageSave(ctx, []string{id})
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// ExtractTar extracts a flattened filesystem tar (as mutate.Extract produces)
// into dir, which must exist, and returns the view over it. Entries whose path
// leaves the root, or that would be created beneath a non-directory, are
// skipped (see Unextracted). The returned ImageFS does not own dir.
func ExtractTar(r io.Reader, dir string) (*ImageFS, error) {
	return extractInto(context.Background(), r, dir)
}

func extractInto(ctx context.Context, r io.Reader, dir string) (*ImageFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	f := &ImageFS{Dir: dir, root: root, entries: map[string]*tar.Header{}, pending: []*tar.Header{}, made: map[string]bool{}}
	defer f.closeDirs()
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			_ = root.Close()
			return nil, ctx.Err()
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = root.Close()
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		if err := f.extractEntry(h, tr); err != nil {
			_ = root.Close()
			return nil, err
		}
	}
	pending := f.pending
	f.pending = nil
	for _, h := range pending {
		if err := f.extractEntry(h, nil); err != nil {
			_ = root.Close()
			return nil, err
		}
	}
	f.finish()
	f.applyMetadata()
	f.made = nil
	return f, nil
}

// cleanKey turns a tar name into an index key ("/a/b"), or "" when the name
// leaves the root or is the root itself.
func cleanKey(name string) string {
	if name == "" {
		return ""
	}
	c := path.Clean("/" + name)
	if strings.Contains(name, "\x00") {
		return ""
	}
	depth := 0
	for _, part := range strings.Split(name, "/") {
		switch part {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "" // climbs above the root
			}
		default:
			depth++
		}
	}
	if c == "/" {
		return ""
	}
	return c
}

func (f *ImageFS) extractEntry(h *tar.Header, tr io.Reader) error {
	key := cleanKey(h.Name)
	if key == "" {
		if path.Clean("/"+h.Name) == "/" && h.Typeflag == tar.TypeDir {
			hc := *h
			hc.Name = "/"
			f.entries["/"] = &hc
		} else {
			f.skipped = append(f.skipped, h.Name)
		}
		return nil
	}
	rel := key[1:]
	// Every ancestor must be a directory: never create through a link.
	for d := path.Dir(key); d != "/"; d = path.Dir(d) {
		if ph, ok := f.entries[d]; ok && ph.Typeflag != tar.TypeDir {
			f.skipped = append(f.skipped, h.Name)
			return nil
		}
	}
	dir, base := splitRel(rel)
	if dir != "." && !f.made[dir] {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		for d := dir; d != "."; d = path.Dir(d) {
			f.made[d] = true
		}
	}
	// Work relative to the parent directory's handle: one openat per entry
	// instead of one per path component.
	pr, err := f.dirRoot(dir)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	if old, ok := f.entries[key]; ok && !(old.Typeflag == tar.TypeDir && h.Typeflag == tar.TypeDir) {
		_ = pr.RemoveAll(base)
		f.closeDirs()
		if pr, err = f.dirRoot(dir); err != nil {
			return fmt.Errorf("opening %s: %w", dir, err)
		}
	}
	hc := *h
	hc.Name = key
	switch h.Typeflag {
	case tar.TypeDir:
		if err := pr.Mkdir(base, 0o700); err != nil {
			if !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("creating directory %s: %w", key, err)
			}
			if fi, err := pr.Lstat(base); err != nil || !fi.IsDir() {
				f.skipped = append(f.skipped, h.Name)
				return nil
			}
		}
		f.made[rel] = true
	case tar.TypeReg, tar.TypeRegA:
		hc.Typeflag = tar.TypeReg
		out, err := pr.OpenFile(base, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("creating %s: %w", key, err)
		}
		if _, err := io.CopyN(out, tr, h.Size); err != nil {
			_ = out.Close()
			return fmt.Errorf("writing %s: %w", key, err)
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", key, err)
		}
	case tar.TypeSymlink:
		if err := pr.Symlink(h.Linkname, base); err != nil {
			return fmt.Errorf("creating symlink %s: %w", key, err)
		}
	case tar.TypeLink:
		target := cleanKey(h.Linkname)
		th, ok := f.entries[target]
		if !ok && target != "" && f.pending != nil {
			// Flattening puts upper layers first: the target may come later.
			f.pending = append(f.pending, h)
			return nil
		}
		if target == "" || !ok || th.Typeflag != tar.TypeReg {
			f.skipped = append(f.skipped, h.Name)
			return nil
		}
		if err := f.root.Link(target[1:], rel); err != nil {
			return fmt.Errorf("creating hardlink %s: %w", key, err)
		}
		// A hardlink shares its target's inode: same metadata.
		hc = *th
		hc.Typeflag, hc.Name, hc.Linkname = tar.TypeLink, key, target
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		// indexed only: an image rebuild may carry them, the disk copy never needs them
	default:
		f.skipped = append(f.skipped, h.Name)
		return nil
	}
	f.entries[key] = &hc
	return nil
}

// splitRel splits a relative path into its directory ("." at the top) and base.
func splitRel(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel
	}
	return rel[:i], rel[i+1:]
}

// dirRoot returns a handle on directory dir (relative to the root), cached.
// Handles never follow symlinks out of the root: they are os.Roots opened
// from the image root, on paths the index knows to be directories.
func (f *ImageFS) dirRoot(dir string) (*os.Root, error) {
	if dir == "." {
		return f.root, nil
	}
	if r, ok := f.dirs[dir]; ok {
		return r, nil
	}
	if len(f.dirs) >= 256 {
		f.closeDirs()
	}
	r, err := f.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if f.dirs == nil {
		f.dirs = map[string]*os.Root{}
	}
	f.dirs[dir] = r
	return r, nil
}

func (f *ImageFS) closeDirs() {
	for k, r := range f.dirs {
		_ = r.Close()
		delete(f.dirs, k)
	}
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

// applyMetadata sets owners, modes and times on disk, deepest entries first so
// that directory times survive the creation of their children.
func (f *ImageFS) applyMetadata() {
	isRoot := os.Geteuid() == 0
	for i := len(f.sorted) - 1; i >= 0; i-- {
		k := f.sorted[i]
		if k == "/" {
			continue
		}
		h := f.entries[k]
		switch h.Typeflag {
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo, tar.TypeLink:
			continue // not on disk, or shares the inode of its target
		}
		dir, base := splitRel(k[1:])
		pr, err := f.dirRoot(dir)
		if err != nil {
			continue
		}
		if h.Typeflag == tar.TypeSymlink {
			if isRoot {
				_ = pr.Lchown(base, h.Uid, h.Gid)
			}
			continue
		}
		if isRoot {
			_ = pr.Lchown(base, h.Uid, h.Gid)
		}
		mode := h.FileInfo().Mode()
		if !isRoot && h.Typeflag == tar.TypeDir {
			mode |= 0o700 // keep the tree readable and removable
		}
		_ = pr.Chmod(base, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		_ = pr.Chtimes(base, h.ModTime, h.ModTime)
	}
	f.closeDirs()
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

// Close releases the directory handle and removes the extracted tree when
// ExportImage created it.
func (f *ImageFS) Close() error {
	if f == nil {
		return nil
	}
	if f.root != nil {
		_ = f.root.Close()
	}
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

// Open opens the file at p, following symlinks inside the image only.
func (f *ImageFS) Open(p string) (*os.File, error) {
	res, err := f.Resolve(p)
	if err != nil {
		return nil, err
	}
	return f.openReal(res.Path)
}

// openReal opens a path that Resolve returned (no symlink on it).
func (f *ImageFS) openReal(p string) (*os.File, error) {
	h, ok := f.entries[p]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeLink:
	default:
		return nil, &fs.PathError{Op: "open", Path: p, Err: errors.New("not a regular file")}
	}
	return f.root.Open(strings.TrimPrefix(p, "/"))
}

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
