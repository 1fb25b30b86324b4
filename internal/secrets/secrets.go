// Package secrets keeps the values a user gives whittle for a run (its
// environment, headers, credentials) out of everything whittle writes: the
// corpus, reports and curl reproducers hold placeholders, put back when a
// corpus is read for sending or replaying.
//
// A placeholder names where the value came from and how it was encoded:
// "{{whittle:header.Authorization}}", "{{whittle:env.DATABASE_URL}}",
// "{{whittle:auth.basic|base64}}" (the value as HTTP basic authentication
// sends it), "|url" and "|path" (escaped for a query or a path). Redacting
// then restoring gives back the exact text as long as the text held no
// placeholder of its own.
package secrets

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// MinLength is the shortest value treated as a secret: shorter ones cannot
// be secret, and replacing them everywhere would garble every text.
const MinLength = 4

// notSecret are values that occur in nearly every JSON document; replacing
// them would make every stored answer unreadable and hide nothing.
var notSecret = map[string]bool{"true": true, "false": true, "null": true}

// Set is the secret values of a run. The zero value and nil hold none. A
// Set is not safe for concurrent Add; once built, its methods are.
type Set struct {
	forms []form // longest value first, so that a longer secret wins over a part of it
	names map[string]bool

	mu              sync.Mutex // guards the replacers, built on first use
	redact, restore *strings.Replacer
}

type form struct {
	value, placeholder string
}

const (
	prefix = "{{whittle:"
	suffix = "}}"
)

var placeholderRe = regexp.MustCompile(`\{\{whittle:([A-Za-z0-9_.:-]+)(\|[a-z0-9]+)?\}\}`)

// Add registers value under name ("env.TOKEN", "header.X-Api-Key",
// "auth.bearer"): the value itself, its URL-escaped forms and its base64
// form.
func (s *Set) Add(name, value string) {
	if len(value) < MinLength || notSecret[strings.ToLower(value)] {
		return
	}
	name = sanitizeName(name)
	if s.names == nil {
		s.names = map[string]bool{}
	}
	s.names[name] = true
	add := func(v, enc string) {
		ph := prefix + name + enc + suffix
		for _, f := range s.forms {
			if f.value == v {
				return // the first name given for a value keeps it
			}
		}
		s.forms = append(s.forms, form{value: v, placeholder: ph})
	}
	add(value, "")
	if q := url.QueryEscape(value); q != value {
		add(q, "|url")
	}
	if p := url.PathEscape(value); p != value {
		add(p, "|path")
	}
	add(base64.StdEncoding.EncodeToString([]byte(value)), "|base64")
	sort.SliceStable(s.forms, func(i, j int) bool { return len(s.forms[i].value) > len(s.forms[j].value) })
	s.mu.Lock()
	s.redact, s.restore = nil, nil
	s.mu.Unlock()
}

func sanitizeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-', r == ':':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// AddEnv registers the values of NAME=VALUE variables the user gave, and
// the password of each URL among them on its own.
func (s *Set) AddEnv(env []string) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			s.Add("env."+k, v)
			s.addURLPassword("env."+k, v)
		}
	}
}

// sensitiveName matches variable names that hold credentials.
var sensitiveName = regexp.MustCompile(`(?i)(pass|secret|token|key|credential|auth|private|cert)`)

// AddSensitiveEnv registers, of NAME=VALUE variables written in a file the
// user keeps (a compose file), only what is a credential: the values of
// variables named like one (…PASSWORD, …TOKEN, …SECRET, …KEY) and the
// passwords of URLs. A database name or a user name is no secret, and
// replacing it everywhere would garble every text.
func (s *Set) AddSensitiveEnv(env []string) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if sensitiveName.MatchString(k) {
				s.Add("env."+k, v)
			}
			s.addURLPassword("env."+k, v)
		}
	}
}

// addURLPassword registers the password of a URL value
// (postgresql://user:PASSWORD@host/db).
func (s *Set) addURLPassword(name, v string) {
	if !strings.Contains(v, "://") {
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return
	}
	if pw, ok := u.User.Password(); ok {
		s.Add(name+".password", pw)
	}
}

// AddHeaderLine registers the value of a "Name: value" header, and the
// credential of an Authorization-style value ("Bearer X": X too).
func (s *Set) AddHeaderLine(line string) {
	k, v, ok := strings.Cut(line, ":")
	if !ok {
		return
	}
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	s.Add("header."+k, v)
	if scheme, cred, ok := strings.Cut(v, " "); ok && !strings.ContainsAny(scheme, "=,;") {
		s.Add("header."+k+".credential", strings.TrimSpace(cred))
	}
}

// AddAuth registers the value of a SCHEME=VALUE security scheme value.
func (s *Set) AddAuth(a string) {
	if k, v, ok := strings.Cut(a, "="); ok {
		s.Add("auth."+k, v)
	}
}

// Empty reports whether the set holds no secret.
func (s *Set) Empty() bool { return s == nil || len(s.forms) == 0 }

// Names lists the names of the secrets, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.names))
	for n := range s.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Set) replacers() (*strings.Replacer, *strings.Replacer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.redact == nil {
		var r, b []string
		for _, f := range s.forms {
			r = append(r, f.value, f.placeholder)
			b = append(b, f.placeholder, f.value)
		}
		s.redact, s.restore = strings.NewReplacer(r...), strings.NewReplacer(b...)
	}
	return s.redact, s.restore
}

// Redact replaces every secret in text by its placeholder.
func (s *Set) Redact(text string) string {
	if s.Empty() || text == "" {
		return text
	}
	r, _ := s.replacers()
	return r.Replace(text)
}

// Restore puts the secrets back in place of their placeholders.
// Placeholders of secrets this set does not hold stay (Missing names them).
func (s *Set) Restore(text string) string {
	if s.Empty() || !strings.Contains(text, prefix) {
		return text
	}
	_, r := s.replacers()
	return r.Replace(text)
}

// RedactBytes is Redact for a body.
func (s *Set) RedactBytes(b []byte) []byte {
	if s.Empty() || len(b) == 0 {
		return b
	}
	return []byte(s.Redact(string(b)))
}

// RestoreBytes is Restore for a body.
func (s *Set) RestoreBytes(b []byte) []byte {
	if s.Empty() || len(b) == 0 || !strings.Contains(string(b), prefix) {
		return b
	}
	return []byte(s.Restore(string(b)))
}

// Placeholders lists the secret names (without encoding) whose
// placeholders text holds.
func Placeholders(text string) []string {
	if !strings.Contains(text, prefix) {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return out
}

// Missing lists the secret names text has placeholders of that s cannot
// restore: a corpus recorded with credentials replayed without them.
func (s *Set) Missing(text string) []string {
	var out []string
	for _, n := range Placeholders(text) {
		if s == nil || !s.names[n] {
			out = append(out, n)
		}
	}
	return out
}
