package tracer

import (
	"path"
	"strings"
)

// joinPath makes the Path of a FileAccess: an absolute requested path is
// cleaned, a relative one is joined to its base directory (the cwd or the
// dirfd's directory) and cleaned. Cleaning is lexical: symlinks are not
// followed, so "a/../b" becomes "b" whatever "a" is; the rebuild resolves
// symlinks against the image itself.
func joinPath(base, requested string) string {
	if strings.HasPrefix(requested, "/") {
		return path.Clean(requested)
	}
	// "/" first: the result is absolute even for a malformed base.
	return path.Clean("/" + base + "/" + requested)
}
