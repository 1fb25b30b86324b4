package rebuild

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// LdSoConf is the parsed content of one ld.so.conf file.
type LdSoConf struct {
	Dirs     []string // library directories, in order
	Includes []string // include glob patterns, absolute (relative ones joined to the file's directory)
	// Order interleaves both as they appear: an element is either a
	// directory or, prefixed with "include ", a pattern.
	Order []string
}

// ParseLdSoConf parses one ld.so.conf-format file found at file (used to
// anchor relative include patterns), as glibc's ldconfig does: '#' starts a
// comment, "include PATTERN..." includes files, "hwcap ..." lines are
// obsolete and ignored, any other line names directories (separated by
// white space, ':' or ','; a trailing "=TYPE" is dropped).
func ParseLdSoConf(data []byte, file string) LdSoConf {
	var c LdSoConf
	base := path.Dir(cleanAbs(file))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if rest, ok := cutWord(line, "include"); ok {
			for _, pat := range strings.Fields(rest) {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Join(base, pat)
				}
				c.Includes = append(c.Includes, path.Clean(pat))
				c.Order = append(c.Order, "include "+path.Clean(pat))
			}
			continue
		}
		if _, ok := cutWord(strings.ToLower(line), "hwcap"); ok {
			continue
		}
		for _, d := range strings.FieldsFunc(line, func(r rune) bool {
			return r == ' ' || r == '\t' || r == ':' || r == ',' || r == '\r' || r == '\v' || r == '\f'
		}) {
			if i := strings.IndexByte(d, '='); i >= 0 {
				d = d[:i]
			}
			if !strings.HasPrefix(d, "/") {
				continue // ldconfig ignores relative directories
			}
			d = path.Clean(d)
			c.Dirs = append(c.Dirs, d)
			c.Order = append(c.Order, d)
		}
	}
	return c
}

// cutWord reports whether line starts with word followed by a blank.
func cutWord(line, word string) (string, bool) {
	if len(line) <= len(word) || !strings.HasPrefix(line, word) {
		return "", false
	}
	if c := line[len(word)]; c != ' ' && c != '\t' {
		return "", false
	}
	return line[len(word)+1:], true
}

// LdSoConfDirs reads the image's /etc/ld.so.conf (or file) and the files it
// includes, recursively (each at most once; include globs are matched
// inside the image and sorted, as glob(3) does), and returns the directories
// in order, without duplicates.
func (f *ImageFS) LdSoConfDirs(file string) []string {
	var dirs []string
	seenDir := map[string]bool{}
	seenFile := map[string]bool{}
	var walk func(string, int)
	walk = func(p string, depth int) {
		if depth > 16 {
			return
		}
		res, err := f.Resolve(p)
		if err != nil || seenFile[res.Path] {
			return
		}
		seenFile[res.Path] = true
		data, err := f.ReadFile(res.Path)
		if err != nil {
			return
		}
		for _, item := range ParseLdSoConf(data, p).Order {
			if pat, ok := strings.CutPrefix(item, "include "); ok {
				matches, _ := f.Glob(pat)
				for _, m := range matches {
					walk(m, depth+1)
				}
			} else if !seenDir[item] {
				seenDir[item] = true
				dirs = append(dirs, item)
			}
		}
	}
	walk(file, 0)
	return dirs
}
