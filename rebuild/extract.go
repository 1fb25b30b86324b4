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
	"strings"
)

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
