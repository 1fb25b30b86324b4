package covdata

import (
	"fmt"
	"sort"
	"strings"
)

// PathMap rewrites the source paths a run recorded (image paths, the
// paths a Go build recorded) into those of a checkout, for coverage tools
// that read the sources: each rule replaces a leading path prefix, the
// longest matching rule wins, and unmatched paths stay as they are.
type PathMap struct {
	rules []pathRule
}

type pathRule struct{ from, to string }

// ParsePathMap reads rules written FROM=TO ("/srv/app=.",
// "github.com/acme/shop=src"). FROM matches whole path elements: "/app"
// maps "/app/x.py", not "/apple".
func ParsePathMap(rules []string) (*PathMap, error) {
	m := &PathMap{}
	for _, r := range rules {
		from, to, ok := strings.Cut(r, "=")
		from = strings.TrimSuffix(from, "/")
		if !ok || from == "" && !strings.HasPrefix(r, "/=") {
			return nil, fmt.Errorf("bad path map %q: want FROM=TO, e.g. /srv/app=. or github.com/acme/shop=src", r)
		}
		if strings.ContainsRune(r, 0) {
			return nil, fmt.Errorf("bad path map %q: NUL in a path", r)
		}
		m.rules = append(m.rules, pathRule{from: from, to: strings.TrimSuffix(to, "/")})
	}
	sort.SliceStable(m.rules, func(i, j int) bool { return len(m.rules[i].from) > len(m.rules[j].from) })
	return m, nil
}

// Apply maps one path.
func (m *PathMap) Apply(p string) string {
	q, _ := m.Lookup(p)
	return q
}

// Lookup maps one path and reports whether a rule matched.
func (m *PathMap) Lookup(p string) (string, bool) {
	if m == nil {
		return p, false
	}
	for _, r := range m.rules {
		rest, ok := strings.CutPrefix(p, r.from)
		// FROM matches whole elements ("/" matches absolute paths only).
		if !ok || rest != "" && !strings.HasPrefix(rest, "/") || r.from == "" && rest == "" {
			continue
		}
		switch {
		case r.to == "" || r.to == ".":
			return strings.TrimPrefix(rest, "/"), true
		case rest == "":
			return r.to, true
		}
		return r.to + "/" + strings.TrimPrefix(rest, "/"), true
	}
	return p, false
}

// Empty reports whether the map has no rule.
func (m *PathMap) Empty() bool { return m == nil || len(m.rules) == 0 }
