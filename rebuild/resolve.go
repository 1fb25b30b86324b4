package rebuild

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"syscall"
)

// maxSymlinks is the number of symbolic links one resolution may traverse
// before it is declared a loop (Linux's MAXSYMLINKS).
const maxSymlinks = 40

// Resolution is the outcome of resolving a path inside the image.
type Resolution struct {
	Path  string   // the real path: no symbolic link on it
	Links []string // every symbolic link traversed, at its real location, in order
}

// Resolve resolves p (absolute) inside the image as the kernel would inside
// the container: symbolic links are followed (absolute targets restart at the
// image root, ".." never climbs above it, so resolution never escapes), every
// link traversed is recorded, and more than 40 links is a loop (ErrLoop).
// A missing component gives an error matching fs.ErrNotExist; a non-directory
// used as a directory gives syscall.ENOTDIR. The links traversed before a
// failure are returned too.
func (f *ImageFS) Resolve(p string) (Resolution, error) { return f.resolve(p, true) }

// ResolveNoFollow is Resolve without following a symbolic link in the last
// component (lstat semantics).
func (f *ImageFS) ResolveNoFollow(p string) (Resolution, error) { return f.resolve(p, false) }

func (f *ImageFS) resolve(p string, followLast bool) (Resolution, error) {
	var res Resolution
	if !strings.HasPrefix(p, "/") {
		return res, fmt.Errorf("resolving %q: %w", p, ErrRelativePath)
	}
	todo := splitPath(p)
	done := make([]string, 0, len(todo))
	seen := map[string]bool{}
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := "/" + strings.Join(append(done[:len(done):len(done)], c), "/")
		h, ok := f.entries[cur]
		if !ok {
			return res, &fs.PathError{Op: "resolve", Path: p, Err: fs.ErrNotExist}
		}
		last := !hasComponent(todo)
		switch {
		case h.Typeflag == tar.TypeSymlink && (!last || followLast):
			links++
			if links > maxSymlinks {
				return res, &fs.PathError{Op: "resolve", Path: p, Err: ErrLoop}
			}
			if !seen[cur] {
				seen[cur] = true
				res.Links = append(res.Links, cur)
			}
			if strings.HasPrefix(h.Linkname, "/") {
				done = done[:0]
			}
			todo = append(splitPath(h.Linkname), todo...)
		case !last && h.Typeflag != tar.TypeDir:
			return res, &fs.PathError{Op: "resolve", Path: p, Err: syscall.ENOTDIR}
		default:
			done = append(done, c)
		}
	}
	res.Path = "/" + strings.Join(done, "/")
	return res, nil
}

func splitPath(p string) []string {
	return strings.Split(p, "/")
}

// hasComponent reports whether parts still names something (not only "", ".").
// ".." counts: "/file/.." must fail like the kernel does for a non-directory.
func hasComponent(parts []string) bool {
	for _, c := range parts {
		if c != "" && c != "." {
			return true
		}
	}
	return false
}

// isNotFound reports whether a resolution error means "nothing there".
func isNotFound(err error) bool {
	return err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR))
}

// cleanAbs returns p as a clean absolute path.
func cleanAbs(p string) string { return path.Clean("/" + p) }
