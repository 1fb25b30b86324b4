package cover

import (
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// Every file of a container that coverage reads (source files to count
// functions, entry-point scripts, package metadata) is opened here, inside
// the container's root (/proc/PID/root) without a symlink leading out of it.

// openInRoot opens p (absolute, in the container) under root, a
// container's root as a host path (/proc/PID/root): pinned, then resolved
// inside it (procfs.Root), so that no link swapped in leads to a host file.
func openInRoot(root, p string) (*os.File, error) {
	r, err := procfs.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Open(p)
}

// OpenInContainer opens the container file p; root is the container's root
// as a host path (/proc/PID/root).
func OpenInContainer(root, p string) (*os.File, error) { return openInRoot(root, p) }

// ReadContainerFile reads at most limit bytes of the container file p; a
// longer file is an error.
func ReadContainerFile(root, p string, limit int64) ([]byte, error) {
	f, err := openInRoot(root, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, limit)
	}
	return data, nil
}

// ReadContainerDir lists the container directory p.
func ReadContainerDir(root, p string) ([]fs.DirEntry, error) {
	f, err := openInRoot(root, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}
