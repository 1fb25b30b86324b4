package rebuild

import (
	"archive/tar"
	"context"
	"path"
	"sort"
	"strings"
)

// extent says where the content of a regular file is: an offset in one of
// the ImageFS's sources (the saved archive, or the spill file).
type extent struct {
	src int
	off int64
}

// Whiteout names (OCI image spec, "Representing Changes").
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh." // AUFS metadata (".wh..wh.plnk", ...): never part of the filesystem
	whiteoutOpaque = ".wh..wh..opq"
)

// flattener applies layers bottom first, as overlayfs presents them to a
// container: a whiteout ".wh.NAME" deletes what lower layers have at NAME,
// an opaque marker hides the lower contents of its directory, a later entry
// replaces an earlier one (a directory over a directory only changes its
// metadata; anything else over a directory drops the directory's subtree),
// and entries beneath a non-directory are skipped. Nothing is written: the
// result is the index of f with the extents of regular files.
type flattener struct {
	f        *ImageFS
	children map[string]map[string]bool // directory key -> child keys
	links    map[string]*tar.Header     // hardlink key -> the target header it shares
	made     map[string]*tar.Header     // hardlink key -> the header made for it
}

// flatten fills f's index from layers (bottom first) whose contents are in
// source src.
func (f *ImageFS) flatten(ctx context.Context, layers []*layerIndex, src int) error {
	if f.entries == nil {
		f.entries = map[string]*tar.Header{}
	}
	if f.extents == nil {
		f.extents = map[string]extent{}
	}
	fl := &flattener{f: f, children: map[string]map[string]bool{}, links: map[string]*tar.Header{}, made: map[string]*tar.Header{}}
	for _, l := range layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		fl.apply(l, src)
	}
	fl.relink()
	f.finish()
	return nil
}

func (fl *flattener) apply(l *layerIndex, src int) {
	// Whiteouts delete from the layers below, whatever their place in the tar.
	for _, e := range l.entries {
		key := cleanKey(e.hdr.Name)
		if key == "" {
			continue
		}
		dir, base := path.Dir(key), path.Base(key)
		switch {
		case base == whiteoutOpaque:
			fl.removeChildren(dir)
		case strings.HasPrefix(base, whiteoutMeta):
		case strings.HasPrefix(base, whiteoutPrefix):
			fl.remove(path.Join(dir, base[len(whiteoutPrefix):]))
		}
	}
	regs := map[string]layerFile{} // this layer's regular files and hardlinks, by key
	var pending []layerEntry
	f := fl.f
	for _, e := range l.entries {
		h := e.hdr
		key := cleanKey(h.Name)
		if key == "" {
			if path.Clean("/"+h.Name) == "/" && h.Typeflag == tar.TypeDir {
				hc := *h
				hc.Name = "/"
				f.entries["/"] = &hc
			} else {
				f.skipped = append(f.skipped, h.Name)
			}
			continue
		}
		if strings.HasPrefix(path.Base(key), whiteoutPrefix) {
			continue
		}
		if fl.beneathNonDir(key) {
			f.skipped = append(f.skipped, h.Name)
			continue
		}
		hc := *h
		hc.Name = key
		switch h.Typeflag {
		case tar.TypeDir:
			if old, ok := f.entries[key]; !ok || old.Typeflag != tar.TypeDir {
				fl.remove(key)
			}
			fl.add(key, &hc)
		case tar.TypeReg, tar.TypeRegA:
			if e.off < 0 {
				f.skipped = append(f.skipped, h.Name) // content not available
				continue
			}
			hc.Typeflag = tar.TypeReg
			fl.remove(key)
			fl.add(key, &hc)
			at := extent{src: src, off: e.off}
			f.extents[key] = at
			regs[key] = layerFile{key: key, hdr: &hc, at: at}
		case tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			fl.remove(key)
			fl.add(key, &hc)
		case tar.TypeLink:
			target := cleanKey(h.Linkname)
			r, ok := regs[target]
			if !ok {
				pending = append(pending, e) // the target may come later in the tar
				continue
			}
			regs[key] = fl.link(key, r.key, r.hdr, r.at)
		default:
			f.skipped = append(f.skipped, h.Name)
		}
	}
	for _, e := range pending {
		key, target := cleanKey(e.hdr.Name), cleanKey(e.hdr.Linkname)
		if r, ok := regs[target]; ok {
			regs[key] = fl.link(key, r.key, r.hdr, r.at)
			continue
		}
		// A link to a lower layer's file (not what engines write, but valid).
		if th, ok := f.entries[target]; ok && th.Typeflag == tar.TypeReg && target != "" {
			fl.link(key, target, th, f.extents[target])
			continue
		}
		f.skipped = append(f.skipped, e.hdr.Name)
	}
}

// layerFile is a regular file a hardlink of the same layer may share.
type layerFile struct {
	key string // its path (the canonical one for a hardlink)
	hdr *tar.Header
	at  extent
}

// link makes key a hardlink of the regular file target (header th) and
// returns what a further link to key shares.
func (fl *flattener) link(key, target string, th *tar.Header, at extent) layerFile {
	r := layerFile{key: target, hdr: th, at: at}
	if key == target {
		return r
	}
	fl.remove(key)
	hc := *th
	hc.Typeflag, hc.Name, hc.Linkname = tar.TypeLink, key, target
	fl.add(key, &hc)
	fl.f.extents[key] = at
	fl.links[key], fl.made[key] = th, &hc
	return r
}

// relink turns hardlinks whose target an upper layer replaced or deleted
// into files of their own (they keep the content they had): the first of
// each group, in path order, becomes a regular file and the others link to it.
func (fl *flattener) relink() {
	keys := make([]string, 0, len(fl.links))
	for k := range fl.links {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	f := fl.f
	heir := map[*tar.Header]string{} // replaced target -> new canonical key
	for _, k := range keys {
		th := fl.links[k]
		if f.entries[k] != fl.made[k] || f.entries[th.Name] == th {
			continue // replaced itself, or its target is intact
		}
		cur := f.entries[k]
		if first, ok := heir[th]; ok {
			cur.Linkname = first
			continue
		}
		heir[th] = k
		cur.Typeflag, cur.Linkname = tar.TypeReg, ""
	}
}

func (fl *flattener) beneathNonDir(key string) bool {
	for d := path.Dir(key); d != "/"; d = path.Dir(d) {
		if h, ok := fl.f.entries[d]; ok && h.Typeflag != tar.TypeDir {
			return true
		}
	}
	return false
}

// add indexes h at key and records key under its ancestors.
func (fl *flattener) add(key string, h *tar.Header) {
	fl.f.entries[key] = h
	for k := key; k != "/"; {
		p := path.Dir(k)
		c := fl.children[p]
		if c == nil {
			c = map[string]bool{}
			fl.children[p] = c
		}
		if c[k] {
			return
		}
		c[k] = true
		k = p
	}
}

// remove deletes key and everything beneath it.
func (fl *flattener) remove(key string) {
	fl.removeChildren(key)
	delete(fl.f.entries, key)
	delete(fl.f.extents, key)
	if c := fl.children[path.Dir(key)]; c != nil {
		delete(c, key)
	}
}

// removeChildren deletes everything beneath key, keeping key.
func (fl *flattener) removeChildren(key string) {
	for c := range fl.children[key] {
		fl.remove(c)
	}
	delete(fl.children, key)
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
