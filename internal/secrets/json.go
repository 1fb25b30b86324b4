package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// RedactJSON redacts every string of a JSON document, and the content of
// strings that are base64 (how JSON carries bodies). A document holding no
// secret is returned as it is, byte for byte.
func (s *Set) RedactJSON(doc []byte) []byte {
	if s.Empty() || len(doc) == 0 {
		return doc
	}
	return s.walkJSON(doc, s.redactString)
}

// RestoreJSON undoes RedactJSON.
func (s *Set) RestoreJSON(doc []byte) []byte {
	if s.Empty() || len(doc) == 0 || !bytes.Contains(doc, []byte(prefix)) && !mayHideBase64(doc) {
		return doc
	}
	return s.walkJSON(doc, s.restoreString)
}

// mayHideBase64 is a cheap test for a document whose only placeholders
// sit inside base64 strings: base64 of "{{whittle:" starts with "e3t3aGl0dGxl"
// at a 3-byte boundary, one of three spellings otherwise.
func mayHideBase64(doc []byte) bool {
	for _, p := range []string{"e3t3aGl0dGxl", "t7d2hpdHRsZT", "7e3doaXR0bGU6"} {
		if bytes.Contains(doc, []byte(p)) {
			return true
		}
	}
	return false
}

func (s *Set) walkJSON(doc []byte, fix func(string) (string, bool)) []byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Not JSON: treat it as text.
		if out, changed := fix(string(doc)); changed {
			return []byte(out)
		}
		return doc
	}
	v, changed := walk(v, fix)
	if !changed {
		return doc
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return doc
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func walk(v any, fix func(string) (string, bool)) (any, bool) {
	switch x := v.(type) {
	case string:
		return fix(x)
	case []any:
		changed := false
		for i, e := range x {
			var c bool
			x[i], c = walk(e, fix)
			changed = changed || c
		}
		return x, changed
	case map[string]any:
		changed := false
		for k, e := range x {
			nv, c := walk(e, fix)
			if c {
				x[k] = nv
				changed = true
			}
		}
		return x, changed
	}
	return v, false
}

func (s *Set) redactString(str string) (string, bool) {
	if out := s.Redact(str); out != str {
		return out, true
	}
	if raw, ok := decodeBase64(str); ok {
		if red := s.Redact(string(raw)); red != string(raw) {
			return base64.StdEncoding.EncodeToString([]byte(red)), true
		}
	}
	return str, false
}

func (s *Set) restoreString(str string) (string, bool) {
	if strings.Contains(str, prefix) {
		out := s.Restore(str)
		return out, out != str
	}
	if raw, ok := decodeBase64(str); ok && strings.Contains(string(raw), prefix) {
		if back := s.Restore(string(raw)); back != string(raw) {
			return base64.StdEncoding.EncodeToString([]byte(back)), true
		}
	}
	return str, false
}

func decodeBase64(s string) ([]byte, bool) {
	if len(s) < 8 || len(s)%4 != 0 {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return b, err == nil
}
