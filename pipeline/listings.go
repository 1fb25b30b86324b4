package pipeline

import (
	"path"

	"github.com/whittle-dev/whittle/fuzz/inputsel"
	"github.com/whittle-dev/whittle/internal/imagepath"
	"github.com/whittle-dev/whittle/tracer"
)

// listings are the directories, not seen before, that files show the target
// listed (opendir) or used files in. The fuzzer reads their entries from
// the image and tries them as names: an interpreter that listed a package
// directory once resolves names from that listing, so a request naming a
// module that does not exist touches no file that would show the directory.
func (f *traceFeedback) listings(files []tracer.FileAccess, startup bool) []inputsel.DirListing {
	var out []inputsel.DirListing
	add := func(dir string, listed bool) {
		wasListed, seen := f.dirs[dir]
		if (seen && (wasListed || !listed)) || imagepath.UnderAny(dir, imagepath.PseudoFS) {
			return
		}
		f.dirs[dir] = listed
		out = append(out, inputsel.DirListing{Path: dir, Listed: listed, Startup: startup})
	}
	for _, fa := range files {
		if fa.Errno != 0 || !path.IsAbs(fa.Path) {
			continue
		}
		if fa.Kind == tracer.KindOpenDir {
			add(path.Clean(fa.Path), true)
			continue
		}
		add(path.Dir(path.Clean(fa.Path)), false)
	}
	return out
}
