package corpus

import (
	"sort"

	"github.com/whittle-dev/whittle/internal/secrets"
)

// WithSecrets makes the store write placeholders instead of the run's
// secret values (environment, headers, credentials) and put them back when
// entries and findings are read: nothing secret reaches the disk, and what
// is read is sent as it was.
func WithSecrets(s *secrets.Set) OpenOption { return func(c *openConfig) { c.secrets = s } }

// RedactRequest replaces the secrets of a request by placeholders.
func RedactRequest(s *secrets.Set, r Request) Request {
	if s.Empty() {
		return r
	}
	r.Path = s.Redact(r.Path)
	r.Header = fixHeader(r.Header, s.Redact)
	r.Body = s.RedactBytes(r.Body)
	return r
}

// RestoreRequest puts the secrets of a request back.
func RestoreRequest(s *secrets.Set, r Request) Request {
	if s.Empty() {
		return r
	}
	r.Path = s.Restore(r.Path)
	r.Header = fixHeader(r.Header, s.Restore)
	r.Body = s.RestoreBytes(r.Body)
	return r
}

// RedactResponse replaces the secrets an answer holds (a service echoing
// its configuration) by placeholders.
func RedactResponse(s *secrets.Set, r Response) Response {
	if s.Empty() {
		return r
	}
	r.Header = fixHeader(r.Header, s.Redact)
	r.Body = s.RedactBytes(r.Body)
	r.Err = s.Redact(r.Err)
	return r
}

// RestoreResponse puts the secrets of an answer back.
func RestoreResponse(s *secrets.Set, r Response) Response {
	if s.Empty() {
		return r
	}
	r.Header = fixHeader(r.Header, s.Restore)
	r.Body = s.RestoreBytes(r.Body)
	r.Err = s.Restore(r.Err)
	return r
}

func fixHeader(h map[string][]string, fix func(string) string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		nv := make([]string, len(vs))
		for i, v := range vs {
			nv[i] = fix(v)
		}
		out[k] = nv
	}
	return out
}

// redactEntry is e as it is written: every secret a placeholder.
func redactEntry(s *secrets.Set, e Entry) Entry {
	if s.Empty() {
		return e
	}
	e.Steps = s.RedactJSON(e.Steps)
	e.Requests = mapSlice(e.Requests, func(r Request) Request { return RedactRequest(s, r) })
	e.Responses = mapSlice(e.Responses, func(r Response) Response { return RedactResponse(s, r) })
	e.Reasons = mapSlice(e.Reasons, s.Redact)
	e.Coverage.NewFiles = mapSlice(e.Coverage.NewFiles, s.Redact)
	e.Source = s.Redact(e.Source)
	return e
}

// restoreEntry is a stored entry as it is sent.
func restoreEntry(s *secrets.Set, e Entry) Entry {
	if s.Empty() {
		return e
	}
	e.Steps = s.RestoreJSON(e.Steps)
	e.Requests = mapSlice(e.Requests, func(r Request) Request { return RestoreRequest(s, r) })
	e.Responses = mapSlice(e.Responses, func(r Response) Response { return RestoreResponse(s, r) })
	e.Reasons = mapSlice(e.Reasons, s.Restore)
	e.Coverage.NewFiles = mapSlice(e.Coverage.NewFiles, s.Restore)
	e.Source = s.Restore(e.Source)
	return e
}

func mapSlice[T any](in []T, f func(T) T) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// MissingSecrets lists the secrets the stored entries and findings have
// placeholders of that this store was not given: replaying them would send
// the placeholders instead.
func (s *Store) MissingSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	note := func(text string) {
		for _, n := range s.secrets.Missing(text) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	for _, e := range s.entries {
		note(string(e.Steps))
		for _, r := range e.Requests {
			note(r.Key())
		}
	}
	sort.Strings(out)
	return out
}
