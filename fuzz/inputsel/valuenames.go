package inputsel

import (
	"strings"
	"unicode"
)

// Names a value spells. An interpreter's own library holds registries of
// modules that a free-form value names: Python's codecs (encodings/,
// "utf-8" → utf_8.py), locales, database drivers. The interpreter listed
// such a directory at start-up, and the modules it loaded then (utf_8)
// open no file when a request names them again: nothing correlates. What
// does show is the shape of a value the target accepted: it spells a name
// of a directory the target listed. That directory's other names are
// worth a few requests at that value (a sample, not the hundreds the
// directory holds: see SampleNames); one that makes the target open its
// module selects the directory, and rebuild keeps it whole.

const (
	// minValueNameLen: shorter values spell too many names by chance.
	minValueNameLen = 3
	// maxValueDirs bounds the directories one value is found to name.
	maxValueDirs = 2
	// minRegistryNames: a directory of fewer names is no registry.
	minRegistryNames = 4
)

// registryName is the name a registry looks a value up by, as Python's
// codecs and most plugin registries normalise it: lower case, each run of
// other characters than letters, digits and dots as one "_" ("UTF-8" →
// "utf_8", "ISO 8859-1" → "iso_8859_1").
func registryName(v string) string {
	var b strings.Builder
	sep := false
	for _, r := range v {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		sep = true
	}
	return b.String()
}

// ValueDirs are the directories the target listed whose entries include
// one that value names (spelled as a registry normalises it), at most
// maxValueDirs, those of the application before the interpreter's. A
// value PickName gave shows nothing: none.
func (b *NameBook) ValueDirs(value string) []*NameDir {
	key := registryName(value)
	if len(key) < minValueNameLen {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.picked[value] {
		return nil // the book's own name, back from the generator
	}
	var app, system []*NameDir
	seen := map[*NameDir]bool{}
	for _, d := range b.byName[key] {
		if !d.listed || len(d.names) < minRegistryNames || seen[d] {
			continue
		}
		seen[d] = true
		if d.system {
			system = append(system, d)
		} else {
			app = append(app, d)
		}
	}
	out := append(app, system...)
	if len(out) > maxValueDirs {
		out = out[:maxValueDirs]
	}
	return out
}

// SampleNames are up to maxSweep names of d other than the one value
// names, spread evenly over the directory (sorted by name): a directory of
// hundreds of modules is sampled, not swept.
func (d *NameDir) SampleNames(value string) []string {
	skip := registryName(value)
	var names []string
	for _, n := range d.names {
		if registryName(n.stem) != skip {
			names = append(names, n.stem)
		}
	}
	if len(names) <= maxSweep {
		return names
	}
	out := make([]string, maxSweep)
	for i := range out {
		out[i] = names[i*len(names)/maxSweep]
	}
	return out
}

// indexNames files d's names by how a registry spells them. b.mu is held.
func (b *NameBook) indexNames(d *NameDir) {
	for _, n := range d.names {
		k := registryName(n.stem)
		if len(k) >= minValueNameLen {
			b.byName[k] = append(b.byName[k], d)
		}
	}
}
