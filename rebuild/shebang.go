package rebuild

import (
	"bytes"
	"path"
	"strings"
)

// shebangMax is how much of a script the kernel reads for "#!" (BINPRM_BUF_SIZE).
const shebangMax = 256

// Shebang is the interpreter line of a script.
type Shebang struct {
	Interp string // the interpreter path as written
	Arg    string // the optional single argument (the rest of the line, trimmed)
}

// ParseShebang parses the "#!" line at the start of b as Linux does: blanks
// after "#!" are skipped, the interpreter runs up to the next blank, the rest
// of the line (trimmed) is one optional argument; only the first 256 bytes
// count. ok is false when b does not start with a usable "#!" line.
func ParseShebang(b []byte) (s Shebang, ok bool) {
	if !bytes.HasPrefix(b, []byte("#!")) {
		return s, false
	}
	if len(b) > shebangMax {
		b = b[:shebangMax]
	}
	line := b[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return s, false
	}
	str := strings.Trim(string(line), " \t\r")
	if str == "" {
		return s, false
	}
	interp, arg, _ := strings.Cut(strings.ReplaceAll(str, "\t", " "), " ")
	s.Interp = interp
	s.Arg = strings.Trim(arg, " \t\r")
	return s, true
}

// EnvProgram returns the program that "#!/usr/bin/env [-S] PROG ..." runs,
// or "" when the interpreter is not env or names no program.
func (s Shebang) EnvProgram() string {
	if path.Base(s.Interp) != "env" {
		return ""
	}
	for _, w := range strings.Fields(s.Arg) {
		if strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
			continue // env options (-S, -i, -u NAME is rare) and assignments
		}
		return w
	}
	return ""
}

// defaultPath is the PATH Docker gives containers whose image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// envPath returns the PATH entries of env ("K=V" strings), or Docker's default.
func envPath(env []string) []string {
	p := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			p = v
		}
	}
	var out []string
	for _, d := range strings.Split(p, ":") {
		if strings.HasPrefix(d, "/") {
			out = append(out, d)
		}
	}
	return out
}

// LookPath finds program name in the image along dirs (a PATH), returning
// the path as searched (symlinks unresolved), or "" when absent.
func (f *ImageFS) LookPath(name string, dirs []string) string {
	if strings.Contains(name, "/") {
		if strings.HasPrefix(name, "/") {
			if _, err := f.Resolve(name); err == nil {
				return name
			}
		}
		return ""
	}
	for _, d := range dirs {
		p := path.Join(d, name)
		if r, err := f.Resolve(p); err == nil {
			if h := f.entries[r.Path]; h != nil && h.FileInfo().Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}
