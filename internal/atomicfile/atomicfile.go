// Package atomicfile writes every file whittle leaves behind (reports,
// corpus entries, image archives and layouts) so that an interruption at
// any moment leaves the old file or the new one, never a torn one: the
// content goes to a temporary file beside the target, is synced, renamed
// over it, and the directory is synced so the rename itself is durable.
//
// Files get mode 0644 and directories 0755, less the process umask, as
// os.WriteFile and os.Mkdir would: reports written by root in CI stay
// readable by the runner user that uploads them.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// TempPrefix starts the name of every temporary file or directory this
// package makes; one left behind by a crash can be recognised and removed.
const TempPrefix = ".tmp-"

const (
	fileMode = 0o644
	dirMode  = 0o755
)

// WriteFile replaces path with data.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write replaces path with what fill writes. When fill fails, path is left
// as it was and the temporary file is removed.
func Write(path string, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, tmp, err := createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = fill(f); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// createTemp makes a new file beside the target; O_EXCL with the mode
// requested lets the kernel apply the umask (os.CreateTemp would give 0600).
func createTemp(dir, base string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, TempPrefix+base+"-"+randomSuffix())
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("cannot find a free temporary name")
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WriteDir replaces the directory path with the tree fill makes in the
// directory it is given (an empty sibling of path). Every file and
// directory in it gets the package's modes, whatever fill's writer chose,
// and is synced before the tree takes path's place; an existing path is
// moved aside, then removed. When fill fails, path is left as it was.
func WriteDir(path string, fill func(dir string) error) (err error) {
	parent, base := filepath.Split(filepath.Clean(path))
	if parent == "" {
		parent = "."
	}
	tmp, err := mkdirTemp(parent, base)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	// The new directory was made with 0777 less the umask: what it got
	// tells the umask without changing it (syscall.Umask sets it).
	st, err := os.Stat(tmp)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	umask := 0o777 &^ st.Mode().Perm()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := settle(tmp, umask); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	old := ""
	if _, err := os.Lstat(path); err == nil {
		old = filepath.Join(parent, TempPrefix+base+"-old-"+randomSuffix())
		if err := os.Rename(path, old); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		if old != "" {
			_ = os.Rename(old, path)
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := syncDir(parent); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return nil
}

func mkdirTemp(parent, base string) (string, error) {
	for range 100 {
		name := filepath.Join(parent, TempPrefix+base+"-"+randomSuffix())
		err := os.Mkdir(name, 0o777)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, err
	}
	return "", errors.New("cannot find a free temporary name")
}

// settle gives every file and directory under root the package's modes
// less umask, and syncs them, deepest first, so the tree is on disk before
// it is renamed into place.
func settle(root string, umask fs.FileMode) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, p)
			return os.Chmod(p, dirMode&^umask)
		case d.Type().IsRegular():
			if err := os.Chmod(p, fileMode&^umask); err != nil {
				return err
			}
			return syncFile(p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syncDir(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
